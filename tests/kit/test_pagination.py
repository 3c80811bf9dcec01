"""API.md §2: sort orders, ties and nulls, keyset pagination and cursors on every list."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    actor,
    assert_problem,
    dataset,
    document,
    event,
    ids_by_ref,
    refs,
    source,
    statement,
    walk,
)

Load = Callable[[dict[str, Any]], Any]
EVENTS = "/v1/events"


@pytest.fixture
def ranked(load: Load) -> None:
    """Ties and nulls in every event sort; refs are loaded in this order, so ids follow it."""
    load(
        dataset(
            event("f5-a", "2025-05-01", fatalities_best=5),
            event("fnull-a", "2025-05-01"),
            event("f5-b", "2025-04-01", fatalities_best=5),
            event("f10", "2025-05-02", fatalities_best=10),
            event("fnull-b", "2025-03-01"),
            event("f0", "2025-05-01", fatalities_best=0, fatalities_low=0),
            event("fnull-c", "2025-06-01", "2025-06-30"),
        )
    )


def _ordered(client: TestClient, **params: Any) -> list[str]:
    return refs(client.get(EVENTS, params={"limit": 500, **params}))


def test_fatalities_best_ascending_nulls_last_ties_by_id(client: TestClient, ranked: None) -> None:
    assert _ordered(client, sort="fatalities_best") == [
        "f0",
        "f5-a",
        "f5-b",
        "f10",
        "fnull-a",
        "fnull-b",
        "fnull-c",
    ]


def test_fatalities_best_descending_nulls_still_last_ties_by_id_desc(
    client: TestClient, ranked: None
) -> None:
    assert _ordered(client, sort="-fatalities_best") == [
        "f10",
        "f5-b",
        "f5-a",
        "f0",
        "fnull-c",
        "fnull-b",
        "fnull-a",
    ]


def test_start_date_default_is_descending_ties_by_id_desc(client: TestClient, ranked: None) -> None:
    expected = ["fnull-c", "f10", "f0", "fnull-a", "f5-a", "f5-b", "fnull-b"]
    assert _ordered(client) == expected
    assert _ordered(client, sort="-start_date") == expected
    assert _ordered(client, sort="start_date") == [
        "fnull-b",
        "f5-b",
        "f5-a",
        "fnull-a",
        "f0",
        "f10",
        "fnull-c",
    ]


def test_updated_at_sorts_by_time_then_id(client: TestClient, ranked: None) -> None:
    items = client.get(EVENTS, params={"limit": 500, "sort": "updated_at"}).json()["items"]
    keys = [(item["updated_at"], item["id"]) for item in items]
    assert keys == sorted(keys)
    items = client.get(EVENTS, params={"limit": 500, "sort": "-updated_at"}).json()["items"]
    keys = [(item["updated_at"], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)


EVENT_SORTS = [
    "start_date",
    "-start_date",
    "fatalities_best",
    "-fatalities_best",
    "updated_at",
    "-updated_at",
]


@pytest.mark.parametrize("sort", EVENT_SORTS)
@pytest.mark.parametrize("size", [1, 2])
def test_walking_events_visits_each_row_once_in_order(
    client: TestClient, ranked: None, sort: str, size: int
) -> None:
    walked = [item["ref"] for item in walk(client, EVENTS, {"sort": sort}, limit=size)]
    assert walked == _ordered(client, sort=sort)
    assert len(set(walked)) == 7


@pytest.mark.parametrize("size", [1, 2])
def test_walking_with_filters(client: TestClient, ranked: None, size: int) -> None:
    params = [("date_from", "2025-05-01"), ("sort", "-fatalities_best")]
    walked = [item["ref"] for item in walk(client, EVENTS, params, limit=size)]
    assert walked == ["f10", "f5-a", "f0", "fnull-c", "fnull-a"]


def test_last_page_exactly_full_has_no_cursor(client: TestClient, ranked: None) -> None:
    body = client.get(EVENTS, params={"limit": 7}).json()
    assert len(body["items"]) == 7 and body["next_cursor"] is None
    body = client.get(EVENTS, params={"limit": 6}).json()
    assert len(body["items"]) == 6 and body["next_cursor"]


def test_link_header_points_at_next_page(client: TestClient, ranked: None) -> None:
    response = client.get(EVENTS, params={"limit": 2, "sort": "fatalities_best"})
    cursor = response.json()["next_cursor"]
    link = response.headers["link"]
    assert link.startswith("<") and link.endswith('>; rel="next"')
    url = link[1 : link.index(">")]
    assert "sort=fatalities_best" in url and "limit=2" in url
    following = client.get(url)
    assert following.status_code == 200
    direct = client.get(EVENTS, params={"limit": 2, "sort": "fatalities_best", "cursor": cursor})
    assert following.json() == direct.json()
    assert refs(following) == ["f5-b", "f10"]


def test_pages_are_stable_under_inserts(client: TestClient, load: Load, ranked: None) -> None:
    first = client.get(EVENTS, params={"limit": 3})
    seen = refs(first)
    # New rows both before and after the cursor position.
    load(dataset(event("new-early", "2024-01-01"), event("new-late", "2026-01-01")))
    rest = walk(client, EVENTS, {"cursor": first.json()["next_cursor"]}, limit=2)
    later = [item["ref"] for item in rest]
    assert seen + later == [r for r in _ordered(client) if r != "new-late"]
    assert "new-early" in later


def test_different_limit_with_same_cursor_is_fine(client: TestClient, ranked: None) -> None:
    cursor = client.get(EVENTS, params={"limit": 1}).json()["next_cursor"]
    assert len(refs(client.get(EVENTS, params={"limit": 3, "cursor": cursor}))) == 3
    assert len(refs(client.get(EVENTS, params={"limit": 500, "cursor": cursor}))) == 6


@pytest.mark.parametrize(
    "other",
    [
        {"type": "riot"},
        {"sort": "start_date"},
        {"sort": "-fatalities_best", "q": "x"},
        {"date_from": "2025-01-01"},
        {"min_sources": 1},
    ],
)
def test_cursor_with_different_filters_or_sort_is_400(
    client: TestClient, ranked: None, other: dict[str, Any]
) -> None:
    cursor = client.get(EVENTS, params={"limit": 1, "sort": "-fatalities_best"}).json()["next_cursor"]
    params = {"sort": "-fatalities_best", **other, "cursor": cursor}
    assert_problem(client.get(EVENTS, params=params), 400)


def test_cursor_from_another_list_is_400(client: TestClient, load: Load, ranked: None) -> None:
    load(dataset(actor("a1"), actor("a2")))
    cursor = client.get("/v1/actors", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    assert_problem(client.get(EVENTS, params={"cursor": cursor}), 400)
    assert_problem(client.get("/v1/sources", params={"cursor": cursor}), 400)


def _b64(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _forged(cursor: str, key: Any) -> str:
    """The same cursor with its sort key replaced: what a careless or hostile client might send."""
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload["k"] = key
    return _b64(payload)


@pytest.mark.parametrize(
    "cursor",
    ["abc", "!!!", "bm90IGpzb24", _b64([1, 2]), _b64({"k": [1]}), _b64({"k": "x", "f": "y"}), "=" * 8, "é"],
)
def test_garbage_cursor_is_400(client: TestClient, ranked: None, cursor: str) -> None:
    for path in (EVENTS, "/v1/statements", "/v1/actors", "/v1/sources", "/v1/documents"):
        assert_problem(client.get(path, params={"cursor": cursor}), 400)


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-start_date", ["not-a-date", 1]),
        ("-start_date", [20250101, 1]),
        ("-start_date", ["2025-01-01", "1"]),
        ("-start_date", ["2025-01-01", True]),
        ("-start_date", ["2025-01-01", 2**80]),
        ("fatalities_best", ["many", 1]),
        ("fatalities_best", [[1, 2], 1]),
        ("fatalities_best", [{"a": 1}, 1]),
        ("fatalities_best", [1.5e300, 1]),
        ("updated_at", ["yesterday", 1]),
        ("updated_at", [12, 1]),
        ("-updated_at", ["2025-01-01T00:00:00", 1]),
    ],
)
def test_tampered_cursor_is_400_never_500(
    client: TestClient, ranked: None, sort: str, key: list[Any]
) -> None:
    cursor = client.get(EVENTS, params={"limit": 1, "sort": sort}).json()["next_cursor"]
    response = client.get(EVENTS, params={"sort": sort, "cursor": _forged(cursor, key)})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_problem(response, 400)


@pytest.mark.parametrize("path", ["/v1/actors", "/v1/sources", "/v1/documents", "/v1/statements"])
@pytest.mark.parametrize("key", [[12, 1], [None, 1], [["x"], 1], ["x", -5]])
def test_tampered_cursor_on_other_lists_is_never_500(
    client: TestClient, load: Load, path: str, key: list[Any]
) -> None:
    load(_everything_twice())
    cursor = client.get(path, params={"limit": 1}).json()["next_cursor"]
    assert cursor
    response = client.get(path, params={"cursor": _forged(cursor, key)})
    assert response.status_code in (200, 400), response.text


@pytest.mark.parametrize("path", [EVENTS, "/v1/statements", "/v1/actors", "/v1/sources", "/v1/documents"])
@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", ""])
def test_limit_outside_1_to_500_is_422(client: TestClient, path: str, limit: str) -> None:
    body = assert_problem(client.get(path, params={"limit": limit}), 422)
    assert any("limit" in error["loc"] for error in body["errors"])


@pytest.mark.parametrize("path", [EVENTS, "/v1/statements", "/v1/actors", "/v1/sources", "/v1/documents"])
def test_limit_bounds_are_accepted(client: TestClient, path: str) -> None:
    for limit in (1, 500):
        response = client.get(path, params={"limit": limit})
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}


def test_default_limit_is_50(client: TestClient, load: Load) -> None:
    load(dataset(*(event(f"e{i:03}", f"2025-01-{1 + i % 28:02}") for i in range(51))))
    body = client.get(EVENTS).json()
    assert len(body["items"]) == 50 and body["next_cursor"]


# --- the other lists ------------------------------------------------------------------------------


def _everything_twice() -> dict[str, Any]:
    return dataset(
        source("s-zulu", "zulu Post", "C"),
        source("s-alpha", "Alpha Wire", "A"),
        source("s-bravo", "bravo Times", "B"),
        source("s-charlie", "Charlie", "D"),
        document("d-undated-1", "s-alpha"),
        document("d-old", "s-alpha", published_on="2024-01-01"),
        document("d-new-1", "s-zulu", published_on="2025-09-01"),
        document("d-new-2", "s-bravo", published_on="2025-09-01"),
        document("d-undated-2", "s-bravo"),
        document("d-mid", "s-charlie", published_on="2025-03-01"),
        actor("a-z", "zeta Group", kind="armed_group"),
        actor("a-a", "Alpha Brigade", kind="armed_force"),
        actor("a-b", "beta State"),
        actor("a-acc", "Ärzte Front", kind="other"),
        actor("a-c", "Charlie Corps", parent="a-b", kind="armed_force"),
        statement("st-1", "a-z", "2025-01-01"),
        statement("st-2", "a-a", "2025-01-02"),
        statement("st-3", "a-b", "2025-01-01"),
        statement("st-4", "a-b", "2025-01-03"),
    )


LISTS = ["/v1/sources", "/v1/documents", "/v1/actors", "/v1/statements"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("size", [1, 2])
def test_walking_other_lists_visits_each_row_once(
    client: TestClient, load: Load, path: str, size: int
) -> None:
    load(_everything_twice())
    full = refs(client.get(path, params={"limit": 500}))
    walked = [item["ref"] for item in walk(client, path, {}, limit=size)]
    assert walked == full
    assert len(set(walked)) == len(walked) > 3


def test_sources_sorted_by_name_case_insensitively(client: TestClient, load: Load) -> None:
    load(_everything_twice())
    names = [item["name"] for item in client.get("/v1/sources").json()["items"]]
    assert names == ["Alpha Wire", "bravo Times", "Charlie", "zulu Post"]


def test_actors_sorted_by_name_case_insensitively(client: TestClient, load: Load) -> None:
    load(_everything_twice())
    names = [item["name"] for item in client.get("/v1/actors").json()["items"]]
    ascii_names = [n for n in names if n != "Ärzte Front"]
    assert ascii_names == ["Alpha Brigade", "beta State", "Charlie Corps", "zeta Group"]
    assert len(names) == 5


def test_documents_newest_first_nulls_last_then_id_desc(client: TestClient, load: Load) -> None:
    load(_everything_twice())
    ids = ids_by_ref(client, "/v1/documents")
    got = refs(client.get("/v1/documents"))
    new = sorted(["d-new-1", "d-new-2"], key=lambda r: ids[r], reverse=True)
    undated = sorted(["d-undated-1", "d-undated-2"], key=lambda r: ids[r], reverse=True)
    assert got == [*new, "d-mid", "d-old", *undated]
    walked = [item["ref"] for item in walk(client, "/v1/documents", {}, limit=1)]
    assert walked == got


def test_cursor_reuse_with_other_filter_on_other_lists_is_400(client: TestClient, load: Load) -> None:
    load(_everything_twice())
    for path, other in (
        ("/v1/sources", {"min_reliability": "C"}),
        ("/v1/documents", {"q": "doc"}),
        ("/v1/actors", {"kind": "state"}),
        ("/v1/statements", {"sort": "stated_on"}),
    ):
        cursor = client.get(path, params={"limit": 1}).json()["next_cursor"]
        assert_problem(client.get(path, params={**other, "cursor": cursor}), 400)


def test_link_header_keeps_repeated_filters(client: TestClient, ranked: None) -> None:
    params = [("ref", "f0"), ("ref", "f5-a"), ("ref", "f10"), ("ref", "fnull-a"), ("limit", 1)]
    seen: list[str] = []
    response = client.get(EVENTS, params=params)
    for _ in range(10):
        seen += refs(response)
        link = response.headers.get("link")
        if link is None:
            break
        response = client.get(link[1 : link.index(">")])
    assert sorted(seen) == ["f0", "f10", "f5-a", "fnull-a"]

"""API.md §3: every error is application/problem+json; bad input is never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import actor, assert_problem, dataset, event, link, ref_set, source, statement

Load = Callable[[dict[str, Any]], Any]
LISTS = ["/v1/events", "/v1/statements", "/v1/actors", "/v1/sources", "/v1/documents"]


@pytest.fixture
def some(load: Load) -> None:
    load(
        dataset(
            source("s", "Source"),
            actor("by", "Belarus"),
            event("e", actors=[link("by")], title="Straße nach Minsk"),
            statement("st", "by"),
        )
    )


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/v1/events", {"type": "skirmish"}, "type"),
        ("/v1/events", {"sort": "-title"}, "sort"),
        ("/v1/events", {"date_to": "2025-02-29"}, "date_to"),
        ("/v1/events", {"include_descendants": "perhaps"}, "include_descendants"),
        ("/v1/events", {"actor_id": "belarus"}, "actor_id"),
        ("/v1/events", {"min_sources": "many"}, "min_sources"),
        ("/v1/events", {"contested": "sometimes"}, "contested"),
        ("/v1/statements", {"kind": "boast"}, "kind"),
        ("/v1/statements", {"event_id": "x"}, "event_id"),
        ("/v1/statements", {"min_reliability": "1"}, "min_reliability"),
        ("/v1/statements", {"sort": "-speaker"}, "sort"),
        ("/v1/actors", {"kind": "nation"}, "kind"),
        ("/v1/sources", {"kind": "tabloid"}, "kind"),
        ("/v1/documents", {"source_id": "s"}, "source_id"),
        ("/v1/documents", {"date_to": "2025-01-32"}, "date_to"),
    ],
)
def test_validation_errors_name_the_parameter(
    client: TestClient, path: str, params: dict[str, Any], loc: str
) -> None:
    body = assert_problem(client.get(path, params=params), 422)
    assert any(loc in error["loc"] for error in body["errors"]), body


@pytest.mark.parametrize("path", ["/v1/events", "/v1/statements"])
def test_date_order_error_is_problem(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(path, params={"date_from": "2025-01-02", "date_to": "2025-01-01"}), 422)
    assert "date" in body["detail"]


@pytest.mark.parametrize("path", ["/v1/events", "/v1/statements"])
def test_role_without_actor_is_problem(client: TestClient, path: str) -> None:
    role = "side_a" if path == "/v1/events" else "speaker"
    body = assert_problem(client.get(path, params={"role": role}), 422)
    assert "role" in body["detail"]


@pytest.mark.parametrize("path", ["/v1/events", "/v1/statements"])
def test_unknown_actor_errors_point_at_the_parameter(client: TestClient, some: None, path: str) -> None:
    body = assert_problem(client.get(path, params={"actor": "Nowhere Land"}), 422)
    assert "Nowhere Land" in body["detail"]
    assert any("actor" in error["loc"] for error in body["errors"])
    body = assert_problem(client.get(path, params={"actor_id": 31337}), 422)
    assert "31337" in body["detail"]
    assert any("actor_id" in error["loc"] for error in body["errors"])


def test_unknown_path_is_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)


def test_wrong_method_is_problem(client: TestClient) -> None:
    response = client.put("/v1/events")
    assert response.status_code == 405
    assert_problem(response, 405)


def test_bad_cursor_is_400_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/events", params={"cursor": "not-a-cursor"}), 400)
    assert "cursor" in body["detail"]


# --- odd input must never be a 500 -------------------------------------------------------------------

ODD_TEXT = [
    "\x00",
    "a\x00b",
    "%",
    "_",
    "\\",
    "'; DROP TABLE event; --",
    "🙂",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    " " * 3,
    "x" * 500,
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_q_is_never_500(client: TestClient, some: None, path: str, text: str) -> None:
    response = client.get(path, params={"q": text})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_problem(response, 422)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("text", ["\x00", "a\x00b", "x" * 300])
def test_odd_ref_is_never_500(client: TestClient, some: None, path: str, text: str) -> None:
    response = client.get(path, params={"ref": text})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["items"] == []


@pytest.mark.parametrize("path", ["/v1/events", "/v1/statements"])
@pytest.mark.parametrize("text", ["\x00", "Bela\x00rus", "x" * 2000, "%", "", " "])
def test_odd_actor_name_is_422_never_500(client: TestClient, some: None, path: str, text: str) -> None:
    assert_problem(client.get(path, params={"actor": text}), 422)


@pytest.mark.parametrize("path", ["/v1/events", "/v1/statements"])
@pytest.mark.parametrize("value", ["0", "-1", str(2**31), str(2**64), "1e3"])
def test_out_of_range_ids_in_filters_are_422(client: TestClient, path: str, value: str) -> None:
    assert_problem(client.get(path, params={"actor_id": value}), 422)


def test_measure_with_nul_is_never_500(client: TestClient, some: None) -> None:
    response = client.get("/v1/statements", params={"measure": "a\x00"})
    assert response.status_code in (200, 422), response.text


def test_q_matches_case_insensitively_the_same_on_both_databases(client: TestClient, some: None) -> None:
    """`q` compares Unicode lower case on both databases: ß matches ß in any case of the rest,
    but is not expanded to "ss" (which would depend on the database's own folding)."""
    assert ref_set(client, "/v1/events", {"q": "Straße"}) == {"e"}
    assert ref_set(client, "/v1/events", {"q": "STRAßE"}) == {"e"}
    assert ref_set(client, "/v1/events", {"q": "STRASSE"}) == set()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/events", "GET, HEAD, POST"),
        ("PUT", "/v1/events/1", "DELETE, GET, HEAD, PATCH"),
        ("PUT", "/v1/sources/abc", "DELETE, GET, HEAD, PATCH"),
        # a read-only path beside an item path is not taken for an id
        ("PATCH", "/v1/events/export", "GET, HEAD"),
        ("DELETE", "/v1/events/timeline", "GET, HEAD"),
        ("POST", "/v1/statements/export", "GET, HEAD"),
        ("POST", "/v1/events/1/claims", "GET, HEAD"),
        ("DELETE", "/v1/changes", "GET, HEAD"),
    ],
)
def test_405_allows_every_method_routed_at_the_path(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/sources", {"name": "S", "kind": "ngo", "reliability": "B", "country": "BY", "ref": 1}, "ref"),
        ("/v1/events", {"title": "E", "type": "other", "start_date": 0}, "start_date"),
        (
            "/v1/events",
            {"title": "E", "type": "other", "start_date": "2025-01-01", "latitude": True, "longitude": 1},
            "latitude",
        ),
        (
            "/v1/events",
            {"title": "E", "type": "other", "start_date": "2025-01-01", "fatalities_best": "12"},
            "fatalities_best",
        ),
    ],
)
def test_json_values_of_another_type_are_not_converted(
    client: TestClient, auth: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    """`0` is not a date, `true` not a number and `"12"` not a count, as the OpenAPI says;
    pydantic's lax mode would have stored 1970-01-01, 1 and 12."""
    response = client.post(path, json=body, headers=auth)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"][:2] == ["body", field], problem


def test_patch_cannot_null_a_required_field(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post("/v1/sources", json={"name": "Required", "kind": "ngo"}, headers=auth)
    response = client.patch(created.headers["location"], json={"name": None}, headers=auth)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"][:2] == ["body", "name"]
    assert client.get(created.headers["location"]).json()["name"] == "Required"

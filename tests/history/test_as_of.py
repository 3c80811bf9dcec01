"""Issue 11, as-of reads: `as_of=<RFC 3339>` answers every list, single read, export, timeline,
facets and claims from the state at that instant, with the filters applied to the rows as they
were; a cursor made with `as_of` keeps it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db import session as db_session
from app.db.base import metadata
from app.history.asof import MIRRORS, UNVERSIONED, AsOfUnavailable, parse_as_of, shadowed
from app.history.mirrors import HISTORY_OF
from tests.factories import actor, assert_problem, dataset, document, refs, source

Headers = dict[str, str]
Load = Callable[[dict[str, Any]], Any]


def versions(client: TestClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"{path}/history").json()["items"]
    return items


@pytest.fixture
def story(client: TestClient, auth: Headers, load: Load) -> dict[str, Any]:
    """An event created (hosted by Belarus, cited by a B2 document), then patched (hosted by
    Russia, retitled, the citation graded 5), then deleted; a second event created last."""
    load(
        dataset(
            source("s1", "Forbes", "B"),
            document("d1", "s1"),
            actor("by", "Belarus"),
            actor("ru", "Russia"),
            actor("lv", "Latvia"),
        )
    )
    by, ru, lv = (
        client.get("/v1/actors", params={"ref": ref}).json()["items"][0]["id"] for ref in ("by", "ru", "lv")
    )
    body = {
        "ref": "zapad",
        "title": "Zapad-2025 exercise",
        "type": "military_exercise",
        "start_date": "2025-09-12",
        "end_date": "2025-09-16",
        "country": "BY",
        "fatalities_best": 0,
        "actors": [{"actor_id": by, "role": "host"}],
        "citations": [{"document_id": 1, "credibility": 2}],
    }
    created = client.post("/v1/events", json=body, headers=auth).json()
    path = f"/v1/events/{created['id']}"
    said = client.post(
        "/v1/statements",
        json={
            "speaker_id": lv,
            "event_id": created["id"],
            "stated_on": "2025-08-20",
            "text": "100,000 troops",
            "measure": "personnel",
            "value_low": 100000,
            "value_high": 150000,
            "unit": "persons",
        },
        headers=auth,
    ).json()
    patch = {
        "title": "Zapad-2025 «Запад» drills",
        "country": "RU",
        "actors": [{"actor_id": ru, "role": "host"}],
        "citations": [{"document_id": 1, "credibility": 5}],
    }
    patched = client.patch(path, json=patch, headers=auth).json()
    assert client.delete(f"/v1/statements/{said['id']}", headers=auth).status_code == 204
    assert client.delete(path, headers=auth).status_code == 204
    later = client.post(
        "/v1/events", json={**body, "ref": "later", "title": "Later event"}, headers=auth
    ).json()
    created_at, patched_at, deleted_at = (v["valid_from"] for v in versions(client, path))
    return {
        "path": path,
        "id": created["id"],
        "created": created,
        "patched": patched,
        "later": later,
        "ids": {"by": by, "ru": ru},
        # an instant inside each state
        "before_patch": created_at,
        "between": patched_at,
        "after_delete": deleted_at,
    }


def test_a_single_read_between_the_patch_and_the_delete(client: TestClient, story: dict[str, Any]) -> None:
    path = story["path"]
    assert client.get(path).status_code == 404
    assert client.get(path, params={"as_of": story["between"]}).json() == story["patched"]
    assert client.get(path, params={"as_of": story["before_patch"]}).json() == story["created"]
    assert_problem(client.get(path, params={"as_of": story["after_delete"]}), 404)
    # a row created later is absent
    assert_problem(client.get(f"/v1/events/{story['later']['id']}", params={"as_of": story["between"]}), 404)


def test_lists_apply_filters_to_the_rows_as_they_were(client: TestClient, story: dict[str, Any]) -> None:
    between, before = story["between"], story["before_patch"]

    def listed(**params: Any) -> list[str]:
        return refs(client.get("/v1/events", params=params))

    assert listed() == ["later"]
    assert listed(as_of=between) == ["zapad"]  # deleted later: present; created later: absent
    # own columns
    assert listed(as_of=between, q="запад") == ["zapad"]
    assert listed(as_of=before, q="запад") == []
    assert listed(as_of=between, country="RU") == ["zapad"]
    assert listed(as_of=before, country="RU") == []
    # embedded rows: the actors and the citations' grades as they were
    assert listed(as_of=before, actor="Belarus") == ["zapad"]
    assert listed(as_of=between, actor="Belarus") == []
    assert listed(as_of=between, actor_id=story["ids"]["ru"], role="host") == ["zapad"]
    assert listed(as_of=before, min_credibility=2) == ["zapad"]
    assert listed(as_of=between, min_credibility=2) == []
    assert listed(as_of=between, min_reliability="B", min_credibility=5) == ["zapad"]
    # the embedded actor of the historical row
    item = client.get("/v1/events", params={"as_of": before}).json()["items"][0]
    assert [a["name"] for a in item["actors"]] == ["Belarus"]


def test_exports_timeline_facets_and_claims_as_of(client: TestClient, story: dict[str, Any]) -> None:
    between, before = story["between"], story["before_patch"]
    lines = client.get("/v1/events/export", params={"format": "ndjson", "as_of": between}).text.splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["Zapad-2025 «Запад» drills"]
    csv = client.get("/v1/events/export", params={"format": "csv", "as_of": before}).text
    assert "Zapad-2025 exercise" in csv and "Later event" not in csv
    timeline = client.get("/v1/events/timeline", params={"as_of": before, "group_by": "actor"}).json()
    assert [(b["period"], b["key"], b["events"]) for b in timeline["buckets"]] == [
        ("2025-09-01", "Belarus", 1)
    ]
    facets = client.get("/v1/events/facets", params={"as_of": between, "field": "country"}).json()
    assert facets["facets"]["country"] == [{"value": "RU", "count": 1}]
    claims = client.get(f"{story['path']}/claims", params={"as_of": between})
    assert claims.status_code == 200
    assert [m["measure"] for m in claims.json()["measures"]] == ["personnel"]
    assert_problem(client.get(f"{story['path']}/claims"), 404)
    statements = client.get("/v1/statements/export", params={"format": "ndjson", "as_of": between}).text
    assert "100,000 troops" in statements
    assert client.get("/v1/statements/export", params={"format": "ndjson"}).text == ""


def test_a_cursor_made_with_as_of_keeps_it(client: TestClient, auth: Headers, load: Load) -> None:
    load(dataset(actor("a", "Alpha"), actor("b", "Bravo"), actor("c", "Charlie")))
    instant = versions(client, "/v1/actors/3")[0]["valid_from"]
    first = client.get("/v1/actors", params={"as_of": instant, "limit": 2})
    assert [a["name"] for a in first.json()["items"]] == ["Alpha", "Bravo"]
    assert "as_of=" in first.headers["link"]
    # the rows change after the instant; the next page is still read at it, with or without as_of
    assert client.patch("/v1/actors/3", json={"name": "Aardvark"}, headers=auth).status_code == 200
    cursor = first.json()["next_cursor"]
    for params in ({"cursor": cursor, "limit": 2}, {"cursor": cursor, "limit": 2, "as_of": instant}):
        page = client.get("/v1/actors", params=params).json()
        assert [a["name"] for a in page["items"]] == ["Charlie"]
    # with another instant, or as a current read's cursor, it is refused
    other = (datetime.fromisoformat(instant.replace("Z", "+00:00")) + timedelta(microseconds=1)).isoformat()
    assert_problem(client.get("/v1/actors", params={"cursor": cursor, "as_of": other}), 400)
    current = client.get("/v1/actors", params={"limit": 2}).json()["next_cursor"]
    assert_problem(client.get("/v1/actors", params={"cursor": current, "as_of": instant}), 400)
    # current reads are unchanged: no instant in their cursors (Aardvark, Alpha | Bravo)
    assert [
        a["name"] for a in client.get("/v1/actors", params={"cursor": current, "limit": 2}).json()["items"]
    ] == ["Bravo"]


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-12-02",
        "2026-12-02T14:00:00",
        "2026-13-02T14:00:00Z",
        "2026-12-02T24:00:00Z",
        "1764684000",
        "",
        "0001-01-01T00:00:00+00:01",  # before year 1 once in UTC
        "9999-12-31T23:59:59-00:01",  # after 9999 once in UTC
    ],
)
def test_a_malformed_as_of_is_a_422_naming_it(client: TestClient, value: str) -> None:
    for path in ("/v1/events", "/v1/events/1", "/v1/events/export", "/v1/events/timeline", "/v1/sources"):
        body = assert_problem(client.get(path, params={"as_of": value}), 422)
        assert body["errors"][0]["loc"] == ["query", "as_of"]
        assert "as_of" in body["detail"]


def test_as_of_in_the_future_or_before_history_began_is_a_422(client: TestClient, load: Load) -> None:
    load(dataset(source("s1")))
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    body = assert_problem(client.get("/v1/sources", params={"as_of": future}), 422)
    assert "future" in body["detail"] and body["errors"][0]["loc"] == ["query", "as_of"]
    with db_session.transaction() as session:
        session.execute(sa.text("DELETE FROM history_start"))
        session.execute(
            sa.text("INSERT INTO history_start (started_at) VALUES (:at)").bindparams(
                sa.bindparam("at", datetime(2026, 1, 1, tzinfo=UTC), type_=sa.DateTime(timezone=True))
            )
        )
    body = assert_problem(client.get("/v1/sources", params={"as_of": "2025-12-31T23:59:59+01:00"}), 422)
    assert "before history began" in body["detail"]
    assert client.get("/v1/sources", params={"as_of": "2026-01-01T01:00:00+01:00"}).status_code == 200


def test_offsets_and_fractions_name_the_same_instant() -> None:
    assert parse_as_of("2026-12-02T16:00:00.1234567+02:00") == datetime(
        2026, 12, 2, 14, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_as_of("2026-12-02t14:00:00z") == datetime(2026, 12, 2, 14, tzinfo=UTC)


def test_every_table_is_mirrored_or_deliberately_unversioned() -> None:
    """A table the resources gain must get a mirror (app.history.mirrors) or be declared
    unversioned; otherwise as-of reads would refuse every statement that names it."""
    mirrors = {mirror.name for mirror in MIRRORS.values()}
    assert set(metadata.tables) == set(MIRRORS) | mirrors | (UNVERSIONED - {"alembic_version"})
    for name, mirror in HISTORY_OF.items():
        assert [c.name for c in metadata.tables[name].columns] == list(MIRRORS[name].columns)
        assert set(MIRRORS[name].columns) <= set(mirror.c.keys())


def test_a_read_of_a_table_without_history_is_refused_not_answered_from_today() -> None:
    probe = sa.Table("probe_without_history", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        dialect = db_session.make_engine("sqlite://").dialect
        with pytest.raises(AsOfUnavailable) as refused:
            shadowed("SELECT id FROM probe_without_history", dialect, datetime.now(UTC))
        assert "probe_without_history keeps no history" in refused.value.detail
        text = shadowed(
            "WITH RECURSIVE scope(id) AS (SELECT 1) SELECT event.id FROM event", dialect, datetime.now(UTC)
        )
        assert text.startswith('WITH RECURSIVE "event" AS NOT MATERIALIZED (SELECT ')
        assert text.endswith(", scope(id) AS (SELECT 1) SELECT event.id FROM event")
    finally:
        metadata.remove(probe)


def test_relations_and_source_aliases_as_they_were(client: TestClient, auth: Headers, load: Load) -> None:
    """The rows an event's relations and a source's aliases live in keep history too: a read as
    of an instant embeds them as they were, and the alias filter matches the aliases of then."""
    load(dataset(source("s1", "Reuters", "B", aliases=["Reuters News"]), document("d1", "s1")))
    base = {"type": "military_exercise", "start_date": "2021-09-10", "end_date": "2021-09-16"}
    earlier = client.post("/v1/events", json={**base, "title": "Zapad-2021"}, headers=auth).json()
    later = client.post(
        "/v1/events",
        json={
            **base,
            "title": "Zapad-2025",
            "start_date": "2025-09-12",
            "end_date": "2025-09-16",
            "relations": [{"type": "follows", "event_id": earlier["id"]}],
            "citations": [{"document_id": 1, "credibility": 2}],
        },
        headers=auth,
    ).json()
    path = f"/v1/events/{later['id']}"
    assert client.patch(path, json={"relations": []}, headers=auth).status_code == 200
    assert client.patch("/v1/sources/1", json={"aliases": ["RTRS"]}, headers=auth).status_code == 200
    related_then, unrelated_now = (v["valid_from"] for v in versions(client, path))
    source_then = related_then  # the event cited Reuters, which was still "Reuters News" too

    assert client.get(path).json()["relations"] == []
    assert client.get(path, params={"as_of": related_then}).json()["relations"] == [
        {"type": "follows", "event_id": earlier["id"]}
    ]
    walked = client.get(f"{path}/related", params={"as_of": related_then}).json()["items"]
    assert [(item["event"]["id"], item["direction"]) for item in walked] == [(earlier["id"], "outgoing")]
    assert client.get(f"{path}/related", params={"as_of": unrelated_now}).json()["items"] == []

    assert client.get("/v1/sources/1", params={"as_of": source_then}).json()["aliases"] == ["Reuters News"]
    # today the old alias names no source (a 422); as of then it named Reuters
    assert_problem(client.get("/v1/events", params={"source": "Reuters News"}), 422)
    assert refs_or_titles(
        client.get("/v1/events", params={"source": "Reuters News", "as_of": source_then})
    ) == ["Zapad-2025"]


def refs_or_titles(response: Any) -> list[str]:
    return [item["title"] for item in response.json()["items"]]

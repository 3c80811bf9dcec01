"""Issue 11, history: every create, update and delete keeps a version — its read form, when it
was valid, what made it and who — written in the writing transaction by every write path."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db import session as db_session
from app.feed.changes import COMMIT_HOOKS, HistoryNotInstalled
from app.history.writer import write_history
from app.importers.ucdp_ged.run import import_ucdp_ged
from tests.factories import UCDP_SAMPLE, actor, assert_problem, dataset, document, event, source

Headers = dict[str, str]
Load = Callable[[dict[str, Any]], Any]


def history(client: TestClient, path: str, headers: Headers | None = None, **params: Any) -> Any:
    response = client.get(f"{path}/history", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def base_data(load: Load) -> None:
    load(
        dataset(
            source("s1", "Forbes", "B"),
            document("d1", "s1", url="https://example.org/a"),
            actor("by", "Belarus"),
            actor("ru", "Russia"),
        )
    )


def new_event(client: TestClient, auth: Headers, title: str = "Zapad", actor_id: int = 1) -> dict[str, Any]:
    body = {
        "title": title,
        "type": "military_exercise",
        "start_date": "2025-09-12",
        "actors": [{"actor_id": actor_id, "role": "host"}],
        "citations": [{"document_id": 1, "credibility": 2}],
    }
    response = client.post("/v1/events", json=body, headers=auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_update_delete_each_keep_a_version(client: TestClient, auth: Headers, load: Load) -> None:
    base_data(load)
    created = new_event(client, auth, "Zapad-2025 «Запад»")
    path = f"/v1/events/{created['id']}"
    patched = client.patch(
        path, json={"title": "Zapad-2025", "actors": [{"actor_id": 2, "role": "host"}]}, headers=auth
    )
    assert patched.status_code == 200
    assert client.delete(path, headers=auth).status_code == 204
    assert client.get(path).status_code == 404

    items = history(client, path, auth)["items"]
    assert [(v["version"], v["operation"], v["key"]) for v in items] == [
        (1, "create", "writer"),
        (2, "update", "writer"),
        (3, "delete", "writer"),
    ]
    # each version is exactly what the write answered; a delete keeps what was deleted
    assert items[0]["data"] == created
    assert items[1]["data"] == patched.json()
    assert items[2]["data"] == patched.json()
    # the versions follow each other without gap or overlap; the last is open
    assert items[0]["valid_to"] == items[1]["valid_from"]
    assert items[1]["valid_to"] == items[2]["valid_from"]
    assert items[2]["valid_to"] is None
    assert items[0]["valid_from"] < items[1]["valid_from"] < items[2]["valid_from"]
    assert items[0]["valid_from"].endswith("Z")


def test_the_author_is_shown_to_write_keys_only(
    client: TestClient, auth: Headers, load: Load, make_key: Callable[[str, str], str]
) -> None:
    base_data(load)
    path = f"/v1/events/{new_event(client, auth)['id']}"
    public = client.get(f"{path}/history")
    assert "key" not in public.json()["items"][0]
    assert public.headers["vary"].lower().count("authorization") == 1
    reader = {"Authorization": f"Bearer {make_key('reader', 'read')}"}
    assert "key" not in history(client, path, reader)["items"][0]
    assert history(client, path, auth)["items"][0]["key"] == "writer"


def test_history_is_keyset_paged_oldest_first(client: TestClient, auth: Headers, load: Load) -> None:
    base_data(load)
    path = f"/v1/actors/{client.get('/v1/actors', params={'q': 'Belarus'}).json()['items'][0]['id']}"
    for n in range(4):
        assert client.patch(path, json={"description": f"revision {n}"}, headers=auth).status_code == 200
    seen: list[Any] = []
    cursor = None
    while True:
        page = history(client, path, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [v["version"] for v in seen] == [1, 2, 3, 4, 5]
    assert [v["data"]["description"] for v in seen] == [
        None,
        "revision 0",
        "revision 1",
        "revision 2",
        "revision 3",
    ]
    # a cursor belongs to one row's history
    other = f"/v1/actors/{client.get('/v1/actors', params={'q': 'Russia'}).json()['items'][0]['id']}"
    first = history(client, path, limit=1)
    assert_problem(client.get(f"{other}/history", params={"cursor": first["next_cursor"]}), 400)


@pytest.mark.parametrize("resource", ["sources", "documents", "actors", "events", "statements"])
def test_an_id_never_stored_is_a_404(client: TestClient, resource: str) -> None:
    body = assert_problem(client.get(f"/v1/{resource}/999/history"), 404)
    assert "999" in body["detail"]


def test_a_refused_write_leaves_no_version(client: TestClient, auth: Headers, load: Load) -> None:
    base_data(load)
    path = f"/v1/events/{new_event(client, auth)['id']}"
    assert client.patch(path, json={"end_date": "2000-01-01"}, headers=auth).status_code == 422
    refused = client.post(
        "/v1/load", json=dataset(event("e2", actors=[{"actor": "nobody", "role": "host"}])), headers=auth
    )
    assert refused.status_code == 422
    assert [v["operation"] for v in history(client, path)["items"]] == ["create"]
    with db_session.get_engine().connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM history WHERE resource = 'events'")) == 1


def test_load_writes_history_for_every_row_with_its_key(client: TestClient, auth: Headers) -> None:
    first = dataset(
        source("s1", "Forbes", "B"),
        document("d1", "s1"),
        actor("by", "Belarus", aliases=["Беларусь"]),
        event("e1", title="Zapad", actors=[{"actor": "by", "role": "host"}], citations=[{"document": "d1"}]),
    )
    assert client.post("/v1/load", json=first, headers=auth).status_code == 200
    again = client.post("/v1/load", json=first, headers=auth)  # unchanged rows make no version
    assert again.status_code == 200
    changed = dataset(*[("events", {**first["events"][0], "title": "Zapad-2025"})])
    assert client.post("/v1/load", json=changed, headers=auth).status_code == 200
    for resource in ("sources", "documents", "actors"):
        items = history(client, f"/v1/{resource}/1", auth)["items"]
        assert [(v["operation"], v["key"]) for v in items] == [("create", "writer")]
    events = history(client, "/v1/events/1", auth)["items"]
    assert [(v["operation"], v["data"]["title"]) for v in events] == [
        ("create", "Zapad"),
        ("update", "Zapad-2025"),
    ]
    assert history(client, "/v1/actors/1")["items"][0]["data"]["aliases"] == ["Беларусь"]


def test_the_importer_writes_history_as_cli_import(client: TestClient, auth: Headers) -> None:
    import_ucdp_ged(UCDP_SAMPLE, db_session.session_factory(write=True, author="cli:import"), batch_size=400)
    with db_session.get_engine().connect() as conn:
        counts: dict[str, int] = {
            row[0]: row[1]
            for row in conn.execute(sa.text("SELECT resource, count(*) FROM history GROUP BY resource"))
        }
        events = conn.scalar(sa.text("SELECT count(*) FROM event"))
        mirrored = conn.scalar(sa.text("SELECT count(*) FROM event_history"))
        authors = set(conn.scalars(sa.text("SELECT DISTINCT key_name FROM history")))
    assert counts["events"] == events == mirrored == 1000
    assert authors == {"cli:import"}
    listed = client.get("/v1/events", params={"limit": 1}).json()["items"][0]
    version = history(client, f"/v1/events/{listed['id']}", auth)["items"]
    assert [(v["operation"], v["key"]) for v in version] == [("create", "cli:import")]
    assert version[0]["data"] == listed


def test_a_fresh_import_closes_nothing_and_looks_up_no_versions(client: TestClient) -> None:
    """Rows an import creates have no history to close: no statement of the import updates a
    mirror or the versions table, or reads the versions table row by row (on PostgreSQL those
    took 11 of the server's 145 µs per imported row), and every row still gets its one open
    version."""
    engine = db_session.get_engine()
    sent: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        import_ucdp_ged(UCDP_SAMPLE, db_session.session_factory(write=True), batch_size=400)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert any(s.startswith("INSERT INTO event_history") for s in sent)
    closing = [s for s in sent if re.match(r"UPDATE \w*history\b", s)]
    lookups = [s for s in sent if s.startswith("SELECT history.row_id")]
    assert closing == [] and lookups == []
    # the loader found every row and id it resolved: the rules do not look them up again
    existence = [s for s in sent if re.match(r"SELECT (\w+)\.id FROM \1 WHERE \1\.id\b", s)]
    assert existence == []
    with engine.connect() as conn:
        versions = conn.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT row_id), max(version) FROM history WHERE resource = 'events'"
            )
        ).one()
        open_mirrors = conn.scalar(sa.text("SELECT count(*) FROM event_history WHERE valid_to IS NULL"))
    assert tuple(versions) == (1000, 1000, 1) and open_mirrors == 1000


def test_an_id_handed_out_again_continues_the_history_it_had(
    client: TestClient, auth: Headers, load: Load
) -> None:
    """A table emptied and its id sequence reset, as a partial restore can leave it, hands out an
    id that still has history: the new row's version follows it instead of clashing with it."""
    base_data(load)
    first = new_event(client, auth, "Zapad-2021")
    engine = db_session.get_engine()
    with engine.begin() as conn:
        for table in ("event_actor", "citation", "event"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('event', 'id'), 1, false)")
        else:
            conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'event'")
    again = new_event(client, auth, "Zapad-2025")
    assert again["id"] == first["id"]
    items = history(client, f"/v1/events/{again['id']}", auth)["items"]
    assert [(v["version"], v["operation"], v["data"]["title"]) for v in items] == [
        (1, "create", "Zapad-2021"),
        (2, "update", "Zapad-2025"),
    ]
    assert items[0]["valid_to"] == items[1]["valid_from"] and items[1]["valid_to"] is None
    with engine.connect() as conn:
        titles = conn.execute(
            sa.text("SELECT title, valid_to IS NULL FROM event_history WHERE id = :id ORDER BY history_id"),
            {"id": again["id"]},
        ).all()
    assert [tuple(t) for t in titles] == [("Zapad-2021", False), ("Zapad-2025", True)]


def test_a_write_without_the_history_writer_is_refused(
    database_url: str, load: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is acknowledged without its history: a process that never installed the writer
    cannot commit a change."""
    monkeypatch.setattr("app.feed.changes.COMMIT_HOOKS", [])
    with pytest.raises(HistoryNotInstalled):
        load(dataset(source("s1")))
    with db_session.get_engine().connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM source")) == 0
    assert write_history in COMMIT_HOOKS

"""Issue 11: migration 0007 upgrades a database with data in it; history starts at the upgrade."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from app.db.migrations import alembic_config
from tests.factories import assert_problem, walk

Headers = dict[str, str]


def test_upgrade_starts_history_for_the_rows_already_stored(
    database_url: str, engine: sa.Engine, client: TestClient, auth: Headers, demo: dict[str, Any]
) -> None:
    config = alembic_config(database_url)
    engine.dispose()
    command.downgrade(config, "0006")  # the demo rows stay; history's tables go
    engine.dispose()
    with engine.connect() as conn:
        assert "history" not in sa.inspect(conn).get_table_names()
        events_stored = conn.scalar(sa.text("SELECT count(*) FROM event"))
    command.upgrade(config, "head")
    engine.dispose()

    with engine.connect() as conn:
        started = conn.scalar(sa.text("SELECT count(*) FROM history_start"))
    assert started == 1
    current = {
        r: walk(client, f"/v1/{r}", {}, limit=500)
        for r in ("sources", "documents", "actors", "events", "statements")
    }
    assert len(current["events"]) == events_stored
    start = None
    for resource, rows in current.items():
        for row in rows:
            versions = client.get(f"/v1/{resource}/{row['id']}/history", headers=auth).json()["items"]
            assert [(v["version"], v["operation"], v["key"], v["valid_to"]) for v in versions] == [
                (1, "create", None, None)
            ]
            start = start or versions[0]["valid_from"]
            assert versions[0]["valid_from"] == start
            single = client.get(f"/v1/{resource}/{row['id']}").json()
            assert versions[0]["data"] == single  # rebuilt from the mirrors
    # as of the upgrade the store reads as it did; before it nothing is known
    assert walk(client, "/v1/events", {"as_of": start}, limit=3) == current["events"]
    assert walk(client, "/v1/actors", {"as_of": start, "q": "bel"}, limit=500) == walk(
        client, "/v1/actors", {"q": "bel"}, limit=500
    )
    body = assert_problem(client.get("/v1/events", params={"as_of": "2020-01-01T00:00:00Z"}), 422)
    assert "before history began" in body["detail"]

    # writes after the upgrade continue it; a delete of a row recorded by the upgrade keeps its data
    event = current["events"][0]
    path = f"/v1/events/{event['id']}"
    assert client.patch(path, json={"title": "Renamed"}, headers=auth).status_code == 200
    statement = current["statements"][0]
    assert client.delete(f"/v1/statements/{statement['id']}", headers=auth).status_code == 204
    versions = client.get(f"{path}/history").json()["items"]
    assert [(v["operation"], v["data"]["title"]) for v in versions] == [
        ("create", event["title"]),
        ("update", "Renamed"),
    ]
    assert client.get(path, params={"as_of": start}).json() == event
    deleted = client.get(f"/v1/statements/{statement['id']}/history").json()["items"]
    assert [v["operation"] for v in deleted] == ["create", "delete"]
    assert deleted[1]["data"] == statement
    assert (
        client.get(
            f"/v1/statements/{statement['id']}", params={"as_of": deleted[1]["valid_from"]}
        ).status_code
        == 404
    )

    # and it downgrades again, leaving the data
    engine.dispose()
    command.downgrade(config, "0006")
    engine.dispose()
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM event")) == events_stored
    command.upgrade(config, "head")
    engine.dispose()

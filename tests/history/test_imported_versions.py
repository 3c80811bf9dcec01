"""Versions an import writes leave their read form to be rebuilt from the mirrors as of the
version (`DEFERRED_READ_FORMS`), as the versions recorded when history began do: what the
history route answers for them must be what a read answered at that instant, embedded rows
(actor names, source grades) included, also after later writes and deletes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db import session as db_session
from app.importers.ucdp_ged.run import import_ucdp_ged
from tests.factories import UCDP_SAMPLE
from tests.history.test_history import Headers, history

RESOURCES = ("events", "documents", "sources", "actors")


def imported(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    import_ucdp_ged(UCDP_SAMPLE, db_session.session_factory(write=True, author="cli:import"), batch_size=400)
    return {r: client.get(f"/v1/{r}", params={"limit": 25}).json()["items"] for r in RESOURCES}


def test_imported_versions_are_stored_without_their_read_form_and_answer_it(
    client: TestClient, auth: Headers
) -> None:
    reads = imported(client)
    with db_session.get_engine().connect() as conn:
        stored = conn.scalar(sa.text("SELECT count(*) FROM history WHERE data IS NOT NULL"))
    assert stored == 0
    for resource, items in reads.items():
        assert len(items) == 25, resource
        for item in items:
            [version] = history(client, f"/v1/{resource}/{item['id']}", auth)["items"]
            assert (version["operation"], version["key"]) == ("create", "cli:import")
            single = client.get(f"/v1/{resource}/{item['id']}").json()
            assert version["data"] == single, (resource, item["id"])


def test_later_writes_leave_the_imported_version_as_it_was_read(client: TestClient, auth: Headers) -> None:
    """A source regraded and an event renamed after the import: the event's imported version
    still shows the old title and the old grade of the source it cites."""
    reads = imported(client)
    before = next(e for e in reads["events"] if e["citations"])
    source_id = before["citations"][0]["source_id"]
    grade = "F" if before["citations"][0]["reliability"] != "F" else "A"
    regraded = client.patch(f"/v1/sources/{source_id}", json={"reliability": grade}, headers=auth)
    assert regraded.status_code == 200, regraded.text
    path = f"/v1/events/{before['id']}"
    renamed = client.patch(path, json={"title": "Renamed after the import"}, headers=auth)
    assert renamed.status_code == 200, renamed.text

    versions = history(client, path, auth)["items"]
    assert [v["operation"] for v in versions] == ["create", "update"]
    assert versions[0]["data"] == before
    assert versions[1]["data"] == client.get(path).json()
    assert versions[1]["data"]["citations"][0]["reliability"] == grade


def test_deleting_an_imported_row_keeps_what_it_was(client: TestClient, auth: Headers) -> None:
    reads = imported(client)
    gone = reads["events"][0]
    path = f"/v1/events/{gone['id']}"
    assert client.delete(path, headers=auth).status_code == 204
    versions = history(client, path, auth)["items"]
    assert [v["operation"] for v in versions] == ["create", "delete"]
    assert versions[0]["data"] == versions[1]["data"] == gone

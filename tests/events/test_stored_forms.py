"""Stored event forms (app.kit.stored): exports read them, and they are never out of date.

Every change to what an event's read form shows must drop its stored form in the same
transaction (migration 0010's triggers), whichever resource the change was made through; an
export must give the same bytes with or without stored forms; the refresher must not store a
form computed before a write that commits after it.
"""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.events.read import STORED_EVENTS
from app.kit.stored import BATCH
from tests.events.data import dataset
from tests.factories import ids_by_ref

Headers = dict[str, str]
FORMATS = ("csv", "ndjson", "geojson")
STORED = STORED_EVENTS.table
PENDING = STORED_EVENTS.pending


@pytest.fixture
def client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app without its background refresher: these tests refresh when they mean to."""
    from app.main import create_app

    monkeypatch.setenv("STORED_FORMS_INTERVAL", "0")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def ids(client: TestClient, load: Callable[[dict[str, Any]], Any]) -> dict[str, int]:
    load(dataset())
    return {
        **ids_by_ref(client, "/v1/events"),
        **ids_by_ref(client, "/v1/sources"),
        **ids_by_ref(client, "/v1/documents"),
        **ids_by_ref(client, "/v1/actors"),
    }


def exports(client: TestClient, **params: str) -> dict[str, bytes]:
    answers = {}
    for format in FORMATS:
        response = client.get("/v1/events/export", params={**params, "format": format})
        assert response.status_code == 200
        answers[format] = response.content
    return answers


def stored_ids(engine: sa.Engine) -> set[int]:
    with engine.connect() as connection:
        return set(connection.execute(sa.select(STORED.c.event_id)).scalars())


def pending_ids(engine: sa.Engine) -> set[int]:
    with engine.connect() as connection:
        return set(connection.execute(sa.select(PENDING.c.event_id)).scalars())


def test_new_events_are_pending_and_refreshed_into_the_same_bytes(
    client: TestClient, ids: dict[str, int], engine: sa.Engine
) -> None:
    events = {ids[ref] for ref in ("e:sun", "e:mon", "e:may", "e:noactor")}
    assert pending_ids(engine) == events and stored_ids(engine) == set()
    built = exports(client)  # nothing stored: every form built as the export goes
    filtered = exports(client, min_reliability="A", sort="start_date")

    assert STORED_EVENTS.refresh(engine) == len(events)
    assert stored_ids(engine) == events and pending_ids(engine) == set()
    assert exports(client) == built
    assert exports(client, min_reliability="A", sort="start_date") == filtered
    assert STORED_EVENTS.refresh(engine) == 0


def test_an_export_mixes_stored_and_built_forms_in_list_order(
    client: TestClient, ids: dict[str, int], engine: sa.Engine
) -> None:
    built = exports(client)
    STORED_EVENTS.refresh(engine)
    with engine.begin() as connection:  # one form missing, as after a write
        connection.execute(sa.delete(STORED).where(STORED.c.event_id == ids["e:mon"]))
    assert exports(client) == built


def patched(client: TestClient, path: str, body: dict[str, Any], auth: Headers) -> None:
    response = client.patch(path, json=body, headers=auth)
    assert response.status_code == 200, response.text


def rename_source(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    patched(client, f"/v1/sources/{ids['s:a']}", {"name": "Agency Renamed"}, auth)


def regrade_source(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    patched(client, f"/v1/sources/{ids['s:d']}", {"reliability": "B"}, auth)


def move_document(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    url = "https://example.org/moved «Ω»"
    patched(client, f"/v1/documents/{ids['d:d1']}", {"url": url}, auth)


def rename_actor(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    patched(client, f"/v1/actors/{ids['a:rebels']}", {"name": "Rebels (renamed)"}, auth)


def retitle_event(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    patched(client, f"/v1/events/{ids['e:noactor']}", {"title": "Riot, retitled"}, auth)


def recite_event(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    citations = [{"document_id": ids["d:d1"], "credibility": 3, "excerpt": "new"}]
    patched(client, f"/v1/events/{ids['e:may']}", {"citations": citations}, auth)


def relate_event(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    relations = [{"type": "follows", "event_id": ids["e:sun"]}]
    patched(client, f"/v1/events/{ids['e:may']}", {"relations": relations}, auth)


def delete_event(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    assert client.delete(f"/v1/events/{ids['e:noactor']}", headers=auth).status_code == 204


def rename_unlinked_actor(client: TestClient, ids: dict[str, int], auth: Headers) -> None:
    # the state is linked to no event (its army is): no stored form shows its name
    patched(client, f"/v1/actors/{ids['a:state']}", {"name": "Stateland 2"}, auth)


CHANGES = [
    (rename_source, {"e:sun", "e:mon"}),
    (regrade_source, {"e:mon"}),
    (move_document, {"e:mon"}),
    (rename_actor, {"e:sun", "e:may"}),
    (retitle_event, {"e:noactor"}),
    (recite_event, {"e:may"}),
    (relate_event, {"e:may"}),
    (delete_event, {"e:noactor"}),
    (rename_unlinked_actor, set()),
]


@pytest.mark.parametrize(("change", "touched"), CHANGES, ids=[change.__name__ for change, _ in CHANGES])
def test_a_change_drops_exactly_the_forms_that_show_it(
    client: TestClient,
    ids: dict[str, int],
    engine: sa.Engine,
    auth: Headers,
    change: Callable[[TestClient, dict[str, int], Headers], None],
    touched: set[str],
) -> None:
    STORED_EVENTS.refresh(engine)
    everything = stored_ids(engine)
    change(client, ids, auth)

    touched_ids = {ids[ref] for ref in touched}
    assert stored_ids(engine) == everything - touched_ids
    assert pending_ids(engine) == touched_ids
    after = exports(client)  # the changed events built, the others stored
    with engine.begin() as connection:
        connection.execute(sa.delete(STORED))
    assert exports(client) == after  # the same as with every form built
    STORED_EVENTS.refresh(engine)
    assert pending_ids(engine) == set()
    assert exports(client) == after


def test_the_export_shows_the_change_before_any_refresh(
    client: TestClient, ids: dict[str, int], engine: sa.Engine, auth: Headers
) -> None:
    STORED_EVENTS.refresh(engine)
    rename_source(client, ids, auth)
    rename_actor(client, ids, auth)
    text = exports(client)["csv"].decode()
    assert "Agency Renamed [A2]" in text and "Agency A" not in text
    assert "Rebels (renamed) (side_b)" in text


def test_forms_of_other_code_are_ignored_and_requeued(
    client: TestClient, ids: dict[str, int], engine: sa.Engine
) -> None:
    built = exports(client)
    STORED_EVENTS.refresh(engine)
    with engine.begin() as connection:  # as if written by an older release: other bytes
        connection.execute(
            sa.update(STORED).values(
                form="older", as_json=b'{"stale":1}', as_csv=b"stale\r\n", as_geojson=b"{}"
            )
        )
    assert exports(client) == built
    assert STORED_EVENTS.forget_other_forms(engine) == 4
    assert stored_ids(engine) == set() and len(pending_ids(engine)) == 4
    STORED_EVENTS.refresh(engine)
    assert exports(client) == built


def test_an_export_as_of_a_past_instant_ignores_stored_forms(
    client: TestClient, ids: dict[str, int], engine: sa.Engine, auth: Headers
) -> None:
    STORED_EVENTS.refresh(engine)
    before = client.get("/v1/events/export", params={"format": "csv"}).text
    time.sleep(0.01)
    between = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)
    rename_source(client, ids, auth)
    STORED_EVENTS.refresh(engine)
    past = client.get("/v1/events/export", params={"format": "csv", "as_of": between}).text
    assert "Agency A [A2]" in past and "Agency Renamed" not in past
    assert past.splitlines()[1:] == before.splitlines()[1:]


def test_refresh_works_in_batches(
    client: TestClient, load: Callable[[dict[str, Any]], Any], engine: sa.Engine
) -> None:
    from tests.factories import dataset as records
    from tests.factories import event

    load(records(*(event(f"e:{n}", f"2024-01-{1 + n % 28:02d}") for n in range(BATCH + 5))))
    built = exports(client)
    assert STORED_EVENTS.refresh(engine, limit=1) == BATCH  # one batch at least
    assert len(pending_ids(engine)) == 5
    assert STORED_EVENTS.refresh(engine) == 5
    assert exports(client) == built


def test_a_rebuild_in_order_writes_the_forms_as_the_default_export_reads_them(
    client: TestClient, load: Callable[[dict[str, Any]], Any], engine: sa.Engine
) -> None:
    """Dates repeat (ties by id, descending) and run against the ids, over more than a batch."""
    from app.events.read import EventSort, event_sort_key
    from tests.factories import dataset as records
    from tests.factories import event

    count = BATCH + 7
    load(records(*(event(f"e:{n}", f"2024-{1 + n % 12:02d}-{1 + n % 5:02d}") for n in range(count))))
    built = exports(client)
    with engine.connect() as connection:
        in_order: list[int] = list(
            connection.execute(
                sa.select(sa.column("id"))
                .select_from(sa.table("event"))
                .order_by(sa.column("start_date").desc(), sa.column("id").desc())
            ).scalars()
        )
    key = event_sort_key(EventSort.start_date_desc)
    assert STORED_EVENTS.refresh_in_order(engine, key) == count
    assert pending_ids(engine) == set() and stored_ids(engine) == set(in_order)
    assert exports(client) == built
    if engine.dialect.name == "postgresql":  # a heap: rows lie in the order they were written
        with engine.connect() as connection:
            physical = connection.exec_driver_sql("SELECT event_id FROM stored_event_form ORDER BY ctid")
            assert list(physical.scalars()) == in_order
    with engine.begin() as connection:  # a form dropped again is rebuilt by the next rebuild
        connection.execute(sa.insert(PENDING), [{"event_id": in_order[0]}])
    assert STORED_EVENTS.refresh_in_order(engine, key) == 1 and pending_ids(engine) == set()


def test_the_refresher_waits_for_a_batch_or_for_time(
    client: TestClient, load: Callable[[dict[str, Any]], Any], engine: sa.Engine
) -> None:
    from tests.factories import dataset as records
    from tests.factories import event

    load(dataset())  # four events pending, just now
    assert not STORED_EVENTS.due(engine, delay=60)
    assert STORED_EVENTS.due(engine, delay=0)
    with engine.begin() as connection:  # queued two minutes ago
        connection.execute(sa.update(PENDING).values(queued_at=datetime.now(UTC) - timedelta(minutes=2)))
    assert STORED_EVENTS.due(engine, delay=60)
    STORED_EVENTS.refresh(engine)
    assert not STORED_EVENTS.due(engine, delay=0)
    load(records(*(event(f"e:{n}", "2024-01-01") for n in range(BATCH))))
    assert STORED_EVENTS.due(engine, delay=60)  # a batch is pending


def test_the_server_refreshes_in_the_background(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    load: Callable[[dict[str, Any]], Any],
    engine: sa.Engine,
) -> None:
    from app.main import create_app

    monkeypatch.setenv("STORED_FORMS_INTERVAL", "0.05")
    monkeypatch.setenv("STORED_FORMS_DELAY", "0")
    get_settings.cache_clear()
    load(dataset())
    with TestClient(create_app()):
        deadline = time.monotonic() + 20
        while pending_ids(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert pending_ids(engine) == set() and len(stored_ids(engine)) == 4


def test_the_refresher_waits_for_a_write_in_flight(
    client: TestClient, ids: dict[str, int], engine: sa.Engine, database_url: str
) -> None:
    """A write holds the triggers' lock until it commits: a refresher that starts meanwhile
    must not store forms read before the write's commit (they would show the old name)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer gives the same; there is no lock to wait for")
    STORED_EVENTS.refresh(engine)
    writer = engine.connect()
    transaction = writer.begin()
    writer.execute(sa.text("UPDATE source SET name = 'Agency Later' WHERE id = :id"), {"id": ids["s:a"]})
    # the write is in flight: queue an event it does not touch, which a refresher would take now
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE event SET title = 'x' WHERE id = :id"), {"id": ids["e:noactor"]})
    done = threading.Event()
    refreshed: list[int] = []

    def refresh() -> None:
        refreshed.append(STORED_EVENTS.refresh(engine))
        done.set()

    thread = threading.Thread(target=refresh)
    thread.start()
    assert not done.wait(0.5)  # waiting for the writer's lock
    transaction.commit()
    writer.close()
    thread.join(10)
    assert done.is_set() and refreshed == [3]  # e:noactor, and the two events citing s:a
    assert "Agency Later [A2]" in client.get("/v1/events/export", params={"format": "csv"}).text
    with engine.connect() as connection:
        stored = connection.execute(sa.select(STORED.c.as_csv)).scalars().all()
    assert any(b"Agency Later" in line for line in stored)
    assert not any(b"Agency A " in line for line in stored)

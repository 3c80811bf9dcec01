"""Exports stream in pieces of whole chunks, visit every row once across chunk edges, and HEAD
answers from the headers alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.events.read import EVENT_CSV
from app.kit import export
from app.kit.export import csv_stream, iter_chunks, ndjson_stream
from tests.events.data import dataset


@pytest.fixture
def data(load: Callable[[dict[str, Any]], Any], demo: dict[str, Any]) -> None:
    load(dataset())


def _list_ids(client: TestClient, params: dict[str, Any]) -> list[int]:
    items = client.get("/v1/events", params={**params, "limit": 500}).json()["items"]
    return [item["id"] for item in items]


@pytest.mark.parametrize("sort", ["-start_date", "fatalities_best", "-updated_at"])
def test_small_chunks_visit_every_row_once_in_list_order(
    client: TestClient, data: None, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    """Ties and nulls in the sort column fall on chunk edges when chunks are 2 rows long."""
    monkeypatch.setattr(export, "CHUNK", 2)
    response = client.get("/v1/events/export", params={"format": "ndjson", "sort": sort})
    exported = [json.loads(line)["id"] for line in response.text.splitlines()]
    assert exported == _list_ids(client, {"sort": sort})
    assert len(exported) == 16


def test_one_piece_per_chunk_not_per_row(engine: Any, data: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.db.session import session_factory
    from app.events.read import EVENTS, EventSort, event_sort_key

    monkeypatch.setattr(export, "CHUNK", 4)
    key = event_sort_key(EventSort.start_date_desc)
    with session_factory()() as session:
        pieces = list(ndjson_stream(iter_chunks(session, EVENTS, EVENTS.select(), key)))
        assert [piece.count(b"\n") for piece in pieces] == [4, 4, 4, 4]
        csv_pieces = list(csv_stream(iter_chunks(session, EVENTS, EVENTS.select(), key), EVENT_CSV))
        # the header with the first chunk, then three more chunks
        assert [piece.count(b"\r\n") for piece in csv_pieces] == [5, 4, 4, 4]


def test_head_on_an_export_sends_the_headers_without_running_it(
    client: TestClient, data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    get = client.get("/v1/events/export", params={"format": "geojson"})
    assert get.status_code == 200

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("HEAD must not read the rows")

    monkeypatch.setattr(export, "export_stream", refuse)
    head = client.head("/v1/events/export", params={"format": "geojson"})
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "content-type", "cache-control"):
        assert head.headers[name] == get.headers[name]
    assert head.headers["content-disposition"].startswith('attachment; filename="events-')
    conditional = client.head(
        "/v1/events/export", params={"format": "geojson"}, headers={"If-None-Match": get.headers["etag"]}
    )
    assert conditional.status_code == 304


def test_an_export_reads_one_snapshot_on_postgresql(engine: Any, data: None) -> None:
    """A fresh session is opened REPEATABLE READ, so rows written while the export streams
    cannot appear in its later chunks; a session already in a transaction keeps its level."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads one snapshot per transaction at any level")
    from app.db.session import session_factory
    from app.events.read import EVENTS, EventSort, event_sort_key

    key = event_sort_key(EventSort.start_date_desc)
    show = "SHOW transaction_isolation"
    with session_factory()() as session:
        next(iter_chunks(session, EVENTS, EVENTS.select(), key))
        assert session.connection().exec_driver_sql(show).scalar() == "repeatable read"
    with session_factory()() as session:
        before = session.connection().exec_driver_sql(show).scalar()
        next(iter_chunks(session, EVENTS, EVENTS.select(), key))
        assert session.connection().exec_driver_sql(show).scalar() == before

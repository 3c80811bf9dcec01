"""Every read answer on the demo data (and a dataset built to break aggregates) parses to the
same JSON value as the committed snapshot, on both databases.

The snapshot was written by the read path as it stood before the reads were made fast, so any
rewrite of how rows are fetched and encoded must give back exactly what clients saw before.
Timestamps and cursors vary from run to run and are replaced by placeholders; everything else is
compared as parsed JSON (so `13000` and `13000.0` are one value, as for any JSON client).

Regenerate (only when the contract itself changes): `UPDATE_SNAPSHOTS=1 pytest tests/test_read_snapshot.py`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.events.data import dataset as aggregates_dataset

SNAPSHOT = Path(__file__).parent / "snapshots" / "read_responses.json"
VARYING = {"created_at", "updated_at", "changed_at"}

LIST_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/sources", {}),
    ("/v1/sources", {"min_reliability": "c"}),
    ("/v1/sources", {"q": "MINISTRY", "kind": "government"}),
    ("/v1/documents", {}),
    ("/v1/documents", {"date_from": "2025-08-01"}),
    ("/v1/actors", {}),
    ("/v1/actors", {"q": "belarus"}),
    ("/v1/actors", {"kind": "state", "country": "by"}),
    ("/v1/events", {}),
    ("/v1/events", {"actor": "Belarus"}),
    ("/v1/events", {"actor": "Belarus", "include_descendants": "false"}),
    ("/v1/events", {"actor": "stateland", "role": "side_a"}),
    ("/v1/events", {"date_from": "2025-03-02", "date_to": "2025-05-31"}),
    ("/v1/events", {"type": ["protest", "riot"]}),
    ("/v1/events", {"country": "by"}),
    ("/v1/events", {"min_reliability": "b"}),
    ("/v1/events", {"min_credibility": "2"}),
    ("/v1/events", {"min_sources": "2"}),
    ("/v1/events", {"min_reliability": "a", "min_credibility": "1", "min_sources": "2"}),
    ("/v1/events", {"q": "zapad"}),
    ("/v1/events", {"bbox": "20,50,35,60"}),
    ("/v1/events", {"contested": "true"}),
    ("/v1/events", {"contested": "false"}),
    ("/v1/events", {"sort": "start_date"}),
    ("/v1/events", {"sort": "fatalities_best"}),
    ("/v1/events", {"sort": "-fatalities_best"}),
    ("/v1/events", {"sort": "-updated_at"}),
    ("/v1/statements", {}),
    ("/v1/statements", {"measure": "PERSONNEL"}),
    ("/v1/statements", {"actor": "Belarus", "role": "mentioned"}),
    ("/v1/statements", {"min_reliability": "c", "sort": "stated_on"}),
    ("/v1/statements", {"kind": "claim", "min_credibility": "3"}),
]

DASHBOARD_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/events/timeline", {}),
    ("/v1/events/timeline", {"interval": "week"}),
    ("/v1/events/timeline", {"interval": "year", "group_by": "type"}),
    ("/v1/events/timeline", {"interval": "month", "group_by": "country"}),
    ("/v1/events/timeline", {"interval": "month", "group_by": "actor", "actor": "Belarus"}),
    ("/v1/events/facets", {}),
    ("/v1/events/facets", {"field": ["actor", "source"], "size": "3"}),
    ("/v1/events/facets", {"min_reliability": "c", "field": "type"}),
]

EXPORTS: list[tuple[str, dict[str, Any]]] = [
    ("/v1/events/export", {"format": "csv"}),
    ("/v1/events/export", {"format": "ndjson", "sort": "fatalities_best"}),
    ("/v1/events/export", {"format": "geojson", "actor": "Belarus"}),
    ("/v1/statements/export", {"format": "csv"}),
    ("/v1/statements/export", {"format": "ndjson", "measure": "personnel"}),
]


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "<varies>" if key in VARYING and item else _normalise(item)
            for key, item in value.items()
            if not (key == "next_cursor" and item)
        }
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def _walk(client: TestClient, path: str, params: dict[str, Any], limit: int) -> list[Any]:
    """Every page of a list, following next_cursor to its end."""
    pages = []
    query = {**params, "limit": str(limit)}
    while True:
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(_normalise(body))
        if not body["next_cursor"]:
            return pages
        query = {**query, "cursor": body["next_cursor"]}


def _export_value(response: Any, fmt: str) -> Any:
    if fmt == "csv":
        return _normalise(list(csv.DictReader(io.StringIO(response.text, newline=""))))
    if fmt == "ndjson":
        return _normalise([json.loads(line) for line in response.text.splitlines()])
    return _normalise(response.json())


def _key(path: str, params: dict[str, Any], extra: str = "") -> str:
    query = "&".join(
        f"{name}={v}"
        for name, value in sorted(params.items())
        for v in (value if isinstance(value, list) else [value])
    )
    return f"{path}?{query}{extra}"


def read_everything(client: TestClient) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for path, params in LIST_QUERIES:
        answers[_key(path, params, " [limit 50]")] = _walk(client, path, params, 50)
        answers[_key(path, params, " [limit 2]")] = _walk(client, path, params, 2)
    for resource in ("sources", "documents", "actors", "events", "statements"):
        ids = [item["id"] for page in _walk(client, f"/v1/{resource}", {}, 500) for item in page["items"]]
        for row_id in sorted(ids):
            response = client.get(f"/v1/{resource}/{row_id}")
            assert response.status_code == 200
            answers[f"/v1/{resource}/<{resource} #{ids.index(row_id)}>"] = _normalise(response.json())
            if resource == "events":
                claims = client.get(f"/v1/events/{row_id}/claims")
                assert claims.status_code == 200
                answers[f"/v1/events/<events #{ids.index(row_id)}>/claims"] = _normalise(claims.json())
    for path, params in DASHBOARD_QUERIES:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        answers[_key(path, params)] = _normalise(response.json())
    for path, params in EXPORTS:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        answers[_key(path, params)] = _export_value(response, params["format"])
    changes = client.get("/v1/changes", params={"limit": "1000"})
    answers["/v1/changes?limit=1000"] = _normalise(changes.json())
    return answers


@pytest.fixture
def loaded(load: Callable[[dict[str, Any]], Any], demo: dict[str, Any]) -> None:
    load(aggregates_dataset())


def test_every_read_answer_matches_the_snapshot(client: TestClient, loaded: None) -> None:
    answers = read_everything(client)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(answers, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(answers) == sorted(expected)
    for key in expected:
        assert answers[key] == expected[key], key

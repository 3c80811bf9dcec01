"""What operators see: /metrics moves with traffic (by route template, method and status), shows
the pool and the change feed's head; the request log has one line per request, as JSON when
LOG_FORMAT=json, with the key's name and never the key."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import get_settings


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests_of(samples: dict[Any, float], method: str, route: str, status: str) -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("conflict_events_requests_total", labels), 0.0)


def test_counters_and_latency_move_with_traffic_by_route_template(
    client: TestClient, auth: dict[str, str]
) -> None:
    before = scrape(client)
    created = client.post("/v1/sources", json={"name": "Metered", "kind": "ngo"}, headers=auth)
    assert created.status_code == 201
    source_id = created.json()["id"]
    for _ in range(3):
        assert client.get(f"/v1/sources/{source_id}").status_code == 200
    assert client.get("/v1/sources/999999").status_code == 404
    assert client.head(f"/v1/sources/{source_id}").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)

    def moved(method: str, route: str, status: str) -> float:
        return requests_of(after, method, route, status) - requests_of(before, method, route, status)

    assert moved("POST", "/v1/sources", "201") == 1
    assert moved("GET", "/v1/sources/{source_id}", "200") == 3
    assert moved("GET", "/v1/sources/{source_id}", "404") == 1
    assert moved("HEAD", "/v1/sources/{source_id}", "200") == 1
    assert moved("GET", "unmatched", "404") == 1
    assert not any(f"/v1/sources/{source_id}" in str(labels) for _, labels in after)  # templates only
    count = (("method", "GET"), ("route", "/v1/sources/{source_id}"))
    histogram = "conflict_events_request_duration_seconds_count"
    assert after[(histogram, count)] - before.get((histogram, count), 0) == 4
    assert after[("conflict_events_change_feed_head", ())] >= 1
    assert ("conflict_events_db_pool_checked_out", ()) in after


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("conflict_events.access")
    handler = Keep()
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_json_request_log_names_the_key_never_the_key(
    database_url: str,
    make_key: Callable[[str, str], str],
    access_lines: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.main import create_app

    monkeypatch.setenv("LOG_FORMAT", "json")
    get_settings.cache_clear()
    key = make_key("ingest-bot", "write")
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.post(
            "/v1/sources",
            json={"name": "Logged", "kind": "ngo"},
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "trace-42"},
        )
        client.get("/v1/sources?limit=1")
    records = [json.loads(line) for line in access_lines]
    assert [(r["method"], r["route"], r["status"]) for r in records] == [
        ("POST", "/v1/sources", 201),
        ("GET", "/v1/sources", 200),
    ]
    assert records[0]["request_id"] == "trace-42" and records[0]["key"] == "ingest-bot"
    assert records[1]["key"] is None and records[1]["duration_ms"] >= 0
    assert all(key not in line for line in access_lines)


def test_plain_request_log_is_one_line_per_request(client: TestClient, access_lines: list[str]) -> None:
    client.get("/v1/events", headers={"X-Request-ID": "plain-1"})
    (line,) = access_lines
    assert line.startswith("GET /v1/events 200 ") and "id=plain-1" in line


def test_an_import_reports_its_progress_on_its_own_metrics_port(engine: Any) -> None:
    import socket
    import urllib.request

    from app.cli import run_ucdp_import
    from tests.factories import UCDP_SAMPLE

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert run_ucdp_import(UCDP_SAMPLE, batch_size=300, metrics_port=port) in (0, 1)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("file") == UCDP_SAMPLE.name
    }
    size = UCDP_SAMPLE.stat().st_size
    assert values["conflict_events_import_bytes_total"] == size
    assert 0 < values["conflict_events_import_bytes_read"] <= size

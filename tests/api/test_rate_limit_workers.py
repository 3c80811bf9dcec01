"""The limit is one limit across worker processes: `conflict-events serve --workers 2` with a
limit of 10, 20 requests each on a new connection, and exactly 10 pass — through Redis and
through the database (PostgreSQL, and SQLite's file shared by both processes). Each worker
writes its own Prometheus sample files, so the test also sees that both workers answered;
counting in memory instead lets more than 10 through, which shows the test can tell.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests import servers

REQUESTS, LIMIT = 20, 10


def _status(url: str, forwarded_for: str) -> int:
    """One request on a connection of its own (urllib closes it after the answer)."""
    request = urllib.request.Request(url, headers={"X-Forwarded-For": forwarded_for, "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _wait_for_a_fresh_window(needed: float = 5) -> None:
    """The limit counts per wall-clock minute: start where the 20 requests fit in one."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.1)


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(store: str) -> tuple[str, Path]:
        metrics = tmp_path / f"metrics-{store}"
        metrics.mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "RATE_LIMIT_PER_MINUTE": str(LIMIT),
            "AUTH_FAILURES_PER_MINUTE": "30",
            "RATE_LIMIT_STORE": store,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        port = servers.free_port()
        process = servers.serve(env, port, "--workers", "2", timeout=60)
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        # each worker that answers a request writes its own sample file
        return base, metrics

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=20)


def _answered_per_worker(metrics: Path) -> dict[str, float]:
    """Requests to /v1/sources each worker process answered, from its own sample file."""
    answered = {}
    for path in metrics.glob("counter_*.db"):
        total = 0.0
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
            metric, _name, labels, _help = json.loads(key)
            if metric == "conflict_events_requests" and labels.get("route") == "unmatched":
                total += value  # the 429s, answered before any route was matched
            elif metric == "conflict_events_requests" and labels.get("route") == "/v1/sources":
                total += value
        answered[path.stem] = total
    return answered


def _run(base: str, metrics: Path) -> tuple[list[int], dict[str, float]]:
    """20 requests from one new client address, each on a new connection; the statuses, and
    how many of them each worker answered."""
    _wait_for_a_fresh_window()
    before = _answered_per_worker(metrics)
    client = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    statuses = [_status(f"{base}/v1/sources", client) for _ in range(REQUESTS)]
    # a worker counts a request just after sending its answer: give the last one a moment
    deadline = time.monotonic() + 5
    while True:
        after = _answered_per_worker(metrics)
        answered = {worker: total - before.get(worker, 0.0) for worker, total in after.items()}
        if sum(answered.values()) >= REQUESTS or time.monotonic() > deadline:
            return statuses, {worker: n for worker, n in answered.items() if n}
        time.sleep(0.05)


def _run_on_both_workers(base: str, metrics: Path) -> tuple[list[int], dict[str, float]]:
    """`_run` until both workers took part in one run. Which worker accepts a connection is the
    kernel's choice, and the server answers once its first worker is up: on a busy machine the
    second may still be importing the app for several runs (each run is a new client address,
    so runs do not share a count)."""
    deadline = time.monotonic() + 90
    while True:
        statuses, answered = _run(base, metrics)
        if len(answered) == 2 or time.monotonic() > deadline:
            return statuses, answered


@pytest.mark.parametrize("store", ["redis", "database"])
def test_two_workers_share_one_limit(serve: object, store: str) -> None:
    base, metrics = serve(store)  # type: ignore[operator]
    statuses, answered = _run_on_both_workers(base, metrics)
    assert sorted(statuses) == [200] * LIMIT + [429] * (REQUESTS - LIMIT), statuses
    # both workers took part (else this would show nothing about sharing)
    assert len(answered) == 2 and sum(answered.values()) == REQUESTS, answered


def test_counting_in_memory_is_per_worker(serve: object, database_url: str) -> None:
    """The control: the same requests against per-process counts let more than the limit pass."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the control needs no second database")
    base, metrics = serve("memory")  # type: ignore[operator]
    statuses, answered = _run_on_both_workers(base, metrics)
    assert len(answered) == 2, answered
    assert statuses.count(200) > LIMIT

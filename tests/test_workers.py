"""`conflict-events serve --workers 2`: everything a client relies on holds whichever process
answers — keys (and their revocation), ETags and If-Match, cursors, the change feed and its
long-poll (a write answered by one worker wakes a long-poll waiting in the other). Every
request goes on a connection of its own, so the kernel spreads them over both workers; each
worker's Prometheus sample file shows that both answered. (The rate limits across workers are
tests/api/test_rate_limit_workers.py.)"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

from app.auth.keys import revoke_key
from app.db.session import transaction
from tests import servers


def answered_per_worker(metrics: Path) -> dict[str, float]:
    """Requests each worker process answered, from its own sample file."""
    answered = {}
    for path in metrics.glob("counter_*.db"):
        total = 0.0
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
            if json.loads(key)[0] == "conflict_events_requests":
                total += value
        answered[path.stem] = total
    return answered


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    port = servers.free_port()
    process = servers.serve(env, port, "--workers", "2", timeout=60)
    try:
        yield f"http://127.0.0.1:{port}", metrics
    finally:
        process.terminate()
        process.wait(timeout=30)


def call(base: str, method: str, path: str, **options: Any) -> httpx.Response:
    """One request on a new connection (closed after the answer)."""
    headers = {"Connection": "close", **options.pop("headers", {})}
    with httpx.Client(base_url=base, timeout=30) as client:
        return client.request(method, path, headers=headers, **options)


def test_two_workers_agree_on_keys_etags_cursors_and_the_feed(
    two_workers: tuple[str, Path], make_key: Callable[[str, str], str]
) -> None:
    base, metrics = two_workers
    auth = {"Authorization": f"Bearer {make_key('workers', 'write')}"}

    created = []
    for number in range(20):
        body = {"ref": f"wk-{number}", "name": f"Quelle {number} — ☂", "kind": "research"}
        answer = call(base, "POST", "/v1/sources", json=body, headers=auth)
        assert answer.status_code == 201, answer.text
        created.append((answer.json()["id"], answer.headers["ETag"]))

    # ETags: the same in every process, and an If-Match from one is honoured by the other
    for row_id, etag in created:
        assert call(base, "GET", f"/v1/sources/{row_id}").headers["ETag"] == etag
    row_id, etag = created[0]
    renamed = call(
        base, "PATCH", f"/v1/sources/{row_id}", json={"name": "renamed"}, headers={**auth, "If-Match": etag}
    )
    assert renamed.status_code == 200
    stale = call(
        base, "PATCH", f"/v1/sources/{row_id}", json={"name": "again"}, headers={**auth, "If-Match": etag}
    )
    assert stale.status_code == 412

    # cursors: a page from one process continues in the other
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = call(base, "GET", "/v1/sources", params=params).json()
        seen += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        params = {"limit": 3, "cursor": page["next_cursor"]}
    assert sorted(seen) == sorted(row for row, _ in created) and len(seen) == len(set(seen))

    # the feed: the same in every process, and long-polls in both woken by a write in either
    feeds = {json.dumps(call(base, "GET", "/v1/changes", params={"limit": 1000}).json()) for _ in range(6)}
    assert len(feeds) == 1
    head = json.loads(feeds.pop())["next_after"]
    woken: list[tuple[float, list[str]]] = []

    def long_poll() -> None:
        started = time.monotonic()
        answer = call(base, "GET", "/v1/changes", params={"after": head, "wait": 30}).json()
        woken.append((time.monotonic() - started, [c["ref"] for c in answer["items"]]))

    polls = [threading.Thread(target=long_poll) for _ in range(6)]
    for poll in polls:
        poll.start()
    time.sleep(1.0)
    last = call(
        base, "POST", "/v1/sources", json={"ref": "wk-last", "name": "last", "kind": "ngo"}, headers=auth
    )
    assert last.status_code == 201
    for poll in polls:
        poll.join(timeout=40)
    assert [refs for _, refs in woken] == [["wk-last"]] * 6
    # woken by the commit: a NOTIFY on PostgreSQL, a 0.5 s poll on SQLite (not the 5 s recheck)
    assert max(elapsed for elapsed, _ in woken) < 1.0 + 3, woken

    # a revoked key is refused by every process at once
    with transaction() as session:
        revoke_key(session, "workers")
    refused = [
        call(
            base,
            "POST",
            "/v1/sources",
            json={"ref": f"no-{n}", "name": f"no {n}", "kind": "ngo"},
            headers=auth,
        )
        for n in range(8)
    ]
    assert [answer.status_code for answer in refused] == [401] * 8

    deadline = time.monotonic() + 5
    while len([n for n in answered_per_worker(metrics).values() if n]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len([n for n in answered_per_worker(metrics).values() if n]) == 2, "one worker answered everything"

"""PostgreSQL restarted under concurrent writes, `-m fast` and then `-m immediate` (a crash and
WAL recovery), while the real server keeps running and a consumer follows the change feed.

Four clients create, rename and delete sources and actors without pause; each records what the
service acknowledged (2xx) and what it attempted without an answer it could trust. Checked:

- every answer is a 2xx or, while the database is away, a 503 problem+json with `Retry-After`;
  no other status, no client timeout (10 s), no dropped connection;
- the service recovers by itself: after each restart every client gets writes through again,
  from the same server process;
- every acknowledged write is in the store with the acknowledged content. A write whose answer
  was a 503 may have committed all the same (the connection can fail between the commit and its
  acknowledgement), so the store may instead hold the content of a later unanswered attempt —
  never older content, never a row nobody tried to write;
- the feed, as the contract promises (API.md section 6): the consumer polling through both
  restarts saw every committed change exactly once and in seq order — its list equals the change
  table — and every acknowledged write has its change after what the consumer had seen when the
  write was sent; the mirror it rebuilds is the store, row for row and field for field.

`seq` itself may have gaps, and that is no fault: PostgreSQL hands out sequence values outside
transactions, so a transaction that rolled back (or was cut off by the restart) burns its
values, and after a crash the sequence resumes past the values it had logged ahead. The contract
promises a consumer every change, not consecutive numbers; the gaps are counted, not forbidden.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.faults.support import (
    FaultCluster,
    Server,
    engine_for,
    feed,
    live_rows,
    mirror_of,
    wait_until,
    write_key,
)

WRITERS = 4
TIMEOUT = 10.0  # no answer may take longer, outage or not
DELETED = "deleted"
KINDS = {"sources": "news_outlet", "actors": "armed_group"}
TABLES = {"sources": "source", "actors": "actor"}

State = tuple[str, str] | str  # (name, description), or DELETED


@dataclass
class Row:
    """One row a client writes, and what it knows of it."""

    resource: str
    ref: str
    id: int | None = None
    acked: State | None = None  # the last acknowledged state (None: its creation was not)
    unanswered: list[State] = field(default_factory=list)  # attempts since that acknowledgement
    acked_after: list[int] = field(default_factory=list)  # feed position seen when each acked write was sent
    attempts: int = 0


class Run:
    """What the clients and the consumer share."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.stop_writing = threading.Event()
        self.stop_reading = threading.Event()
        self.lock = threading.Lock()
        self.failures: list[str] = []
        self.acks = [0] * WRITERS
        self.unavailable = 0
        self.rows: list[Row] = []
        self.seen: list[tuple[int, str, int, str]] = []
        self.head = 0  # the consumer's position in the feed

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def state_body(state: tuple[str, str]) -> dict[str, Any]:
    return {"name": state[0], "description": state[1]}


def write(run: Run, number: int) -> None:
    """Create a row, rename it three times, delete every other one; again until told to stop."""
    resource = "sources" if number % 2 == 0 else "actors"
    headers = {"Authorization": f"Bearer {run.key}"}
    with httpx.Client(base_url=run.base, headers=headers, timeout=TIMEOUT) as client:
        serial = 0
        while not run.stop_writing.is_set():
            serial += 1
            row = Row(resource, f"fault-{number}-{serial}")
            with run.lock:
                run.rows.append(row)
            steps: list[tuple[str, State]] = [("POST", (f"{resource} {number}-{serial}", "v0"))]
            steps += [("PATCH", (f"{resource} {number}-{serial} r{n}", f"v{n}")) for n in (1, 2, 3)]
            if serial % 2 == 0:
                steps.append(("DELETE", DELETED))
            for method, state in steps:
                if run.stop_writing.is_set():
                    break
                body: dict[str, Any] | None
                if method == "POST":
                    assert isinstance(state, tuple)
                    body = {"ref": row.ref, "kind": KINDS[resource], **state_body(state)}
                    path = f"/v1/{resource}"
                else:
                    if row.id is None:
                        break  # its creation went unanswered: on to a new row
                    body = state_body(state) if isinstance(state, tuple) else None
                    path = f"/v1/{resource}/{row.id}"
                position = run.head
                row.attempts += 1
                started = time.monotonic()
                try:
                    response = client.request(method, path, json=body)
                except httpx.HTTPError as error:
                    run.fail(
                        f"{method} {path}: {type(error).__name__} after {time.monotonic() - started:.1f} s"
                    )
                    row.unanswered.append(state)
                    return
                status = response.status_code
                if 200 <= status < 300:
                    if method == "POST":
                        row.id = int(response.json()["id"])
                    row.acked, row.unanswered = state, []
                    row.acked_after.append(position)
                    with run.lock:
                        run.acks[number] += 1
                    continue
                row.unanswered.append(state)
                if status == 503:
                    kind = response.headers.get("content-type", "")
                    if (
                        not kind.startswith("application/problem+json")
                        or "retry-after" not in response.headers
                    ):
                        run.fail(
                            f"{method} {path}: 503 without problem+json and Retry-After: {response.headers}"
                        )
                    with run.lock:
                        run.unavailable += 1
                    time.sleep(0.1)  # sooner than Retry-After: the test wants to see the recovery
                    if method == "POST":
                        break
                    continue
                run.fail(f"{method} {path}: {status} {response.text[:300]}")
                return


def consume(run: Run) -> None:
    """Poll the feed the way the contract tells a consumer to, through the outages."""
    with httpx.Client(base_url=run.base, timeout=TIMEOUT) as client:
        while not run.stop_reading.is_set():
            try:
                response = client.get("/v1/changes", params={"after": run.head, "limit": 1000})
            except httpx.HTTPError as error:
                run.fail(f"GET /v1/changes: {type(error).__name__}: {error}")
                return
            if response.status_code == 503:
                time.sleep(0.1)
                continue
            if response.status_code != 200:
                run.fail(f"GET /v1/changes: {response.status_code} {response.text[:300]}")
                return
            page = response.json()
            run.seen.extend((c["seq"], c["resource"], c["id"], c["op"]) for c in page["items"])
            run.head = page["next_after"]
            if len(page["items"]) < 1000:
                time.sleep(0.05)


def stored(url: str) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(resource, ref) -> (id, name, description) of every row in the store."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                (resource, ref): (int(row_id), name, description)
                for resource, table in TABLES.items()
                for row_id, ref, name, description in conn.execute(
                    sa.text(f'SELECT id, ref, name, description FROM "{table}"')
                )
            }
    finally:
        engine.dispose()


def test_restarts_under_concurrent_writes_lose_no_acknowledged_write(
    fault_cluster: FaultCluster, tmp_path: Path
) -> None:
    url = fault_cluster.fresh("faults_restart")
    key = write_key(url)
    # the rate limits on (counting in the database, which goes away too), with room for the load
    server = Server(url, tmp_path / "server.log", RATE_LIMIT_PER_MINUTE="1000000").start()
    run = Run(server.base, key)
    writers = [threading.Thread(target=write, args=(run, n), daemon=True) for n in range(WRITERS)]
    consumer = threading.Thread(target=consume, args=(run,), daemon=True)
    recovered_in: dict[str, float] = {}
    try:
        consumer.start()
        for thread in writers:
            thread.start()
        wait_until(lambda: min(run.acks) >= 10 or bool(run.failures), 60, "writes before the restarts")
        for mode in ("fast", "immediate"):
            before = list(run.acks)
            unavailable = run.unavailable
            started = time.monotonic()
            fault_cluster.restart(mode)
            # recovery without restarting the service: every client gets writes through again
            wait_until(
                lambda before=before: (
                    all(a >= b + 5 for a, b in zip(run.acks, before, strict=True)) or bool(run.failures)
                ),
                60,
                f"writes after the {mode} restart",
            )
            recovered_in[mode] = time.monotonic() - started
            assert run.unavailable > unavailable or mode == "fast", f"no 503 seen around the {mode} restart"
        run.stop_writing.set()
        for thread in writers:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in writers), "a client hung"
        last = feed(url)[-1][0]
        wait_until(lambda: run.head >= last or bool(run.failures), 30, "the consumer to catch up")
    finally:
        run.stop_writing.set()
        run.stop_reading.set()
        consumer.join(timeout=30)
        alive = server.process is not None and server.process.poll() is None
        server.stop()
        fault_cluster.ensure_running()
    assert not run.failures, "\n".join(run.failures[:20]) + "\n" + server.tail()
    assert alive, "the server died"
    assert run.unavailable > 0, "the outages were never seen: the test showed nothing"

    # every acknowledged write is in the store, with its content (or a later unanswered one's)
    store = stored(url)
    claimed: set[tuple[str, str]] = set()
    for row in run.rows:
        where = (row.resource, row.ref)
        possible = ([row.acked] if row.acked is not None else []) + row.unanswered
        if row.acked is None and where not in store:
            continue  # its creation was never acknowledged, and did not happen
        claimed.add(where)
        found: State = DELETED
        if where in store:
            row_id, name, description = store[where]
            assert row.id in (None, row_id), row
            found = (name, description)
        assert found in possible, (
            f"{where}: stored {found}, acknowledged {row.acked}, unanswered {row.unanswered}"
        )
    assert set(store) <= claimed, f"rows nobody wrote: {set(store) - claimed}"

    # the feed: every committed change seen once, in order; each acknowledged write's change
    # after what had been seen when it was sent; the mirror equals the store
    changes = feed(url)
    assert run.seen == changes
    seqs = [seq for seq, *_ in changes]
    assert seqs == sorted(set(seqs))
    by_row: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for seq, resource, row_id, op in changes:
        by_row.setdefault((resource, row_id), []).append((seq, op))
    for row in run.rows:
        if row.id is None:
            continue
        row_changes = by_row.get((row.resource, row.id), [])
        assert len(row_changes) <= row.attempts, row
        for k, position in enumerate(row.acked_after):
            later = [seq for seq, _ in row_changes if seq > position]
            assert len(later) >= len(row.acked_after) - k, f"{row}: acknowledged writes missing from the feed"
        if row.unanswered == [] and row.acked is not None:
            assert row_changes[-1][1] == ("delete" if row.acked == DELETED else "upsert"), row
    mirror = mirror_of(run.seen)
    assert mirror == live_rows(url)
    by_id = {
        (resource, row_id): (name, description)
        for (resource, _), (row_id, name, description) in store.items()
    }
    with Server(url, tmp_path / "server-reads.log") as reader, httpx.Client(base_url=reader.base) as client:
        for resource, row_id in sorted(mirror):
            read = client.get(f"/v1/{resource}/{row_id}", timeout=TIMEOUT).json()
            assert (read["name"], read["description"]) == by_id[(resource, row_id)]

    gaps = seqs[-1] - len(seqs) if seqs else 0
    print(
        f"\n{sum(run.acks)} acknowledged writes, {run.unavailable} × 503, {len(changes)} changes"
        f" ({gaps} seq values unused); from the restart command to 5 writes per client:"
        + ", ".join(f" {mode} {seconds:.1f} s" for mode, seconds in recovered_in.items())
    )

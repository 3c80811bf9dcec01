"""Soak run: many clients for many minutes, reads and writes mixed, and a consumer that mirrors
the store through the change feed (issue 10). Not part of CI.

    python benchmarks/soak.py [--minutes 10] [--clients 30] [--workers 2] [--backend postgresql]

The service runs as `conflict-events serve --workers N` on a fresh database (PostgreSQL:
`conflict_events_soak` on BENCH_PG_URL; SQLite: benchmarks/out/soak.db) holding the demo data,
with the rate limits off (30 clients on one address would be told to wait: that is the limit
working, not what this run measures). Each client has its own write key and loops until the
time is up over a weighted mix of list pages, single reads, facets, timelines, creates,
patches and deletes of its own rows. The mirror polls `/v1/changes` and reads each changed row;
at the end it must equal the store exactly, row by row.

Reported (printed, and written to benchmarks/results/soak-<backend>.json): requests, errors by
status (any 5xx fails the run), p50/p99 per kind of request, the mirror's verdict and the
feed's gaps, and the server's resident memory (all its processes) every 10 seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
RESULTS = HERE / "results"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1")
RESOURCES = ("sources", "documents", "actors", "events", "statements")
EVENT_TYPES = ("armed_clash", "protest", "military_exercise", "diplomatic", "other")


def fresh_database(backend: str) -> str:
    if backend == "sqlite":
        OUT.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / 'soak.db'}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{OUT / 'soak.db'}"
    admin = sa.create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS conflict_events_soak WITH (FORCE)")
        conn.exec_driver_sql("CREATE DATABASE conflict_events_soak")
    admin.dispose()
    return f"{PG_BASE}/conflict_events_soak"


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"conflict-events {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_rss_mib(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[str] = Counter()
        self.unexpected: list[str] = []

    def record(self, kind: str, response: httpx.Response | None, seconds: float, expected: set[int]) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            status = "transport error" if response is None else str(response.status_code)
            self.statuses[status] += 1
            if response is None or response.status_code not in expected:
                detail = "no answer" if response is None else response.text[:300]
                self.unexpected.append(f"{kind} → {status}: {detail}")


class Client(threading.Thread):
    """One user: its own key and connection, its own rows to patch and delete."""

    def __init__(self, number: int, base: str, key: str, deadline: float, recorder: Recorder) -> None:
        super().__init__(daemon=True)
        self.number = number
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        self.deadline = deadline
        self.recorder = recorder
        self.random = random.Random(number)
        self.sources: list[int] = []
        self.events: list[int] = []
        self.made = 0

    def call(
        self, kind: str, method: str, path: str, expected: set[int], **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response | None = self.http.request(method, path, **kwargs)
        except httpx.HTTPError:
            response = None
        self.recorder.record(kind, response, time.perf_counter() - started, expected)
        return response

    def run(self) -> None:
        actions = [
            (25, self.list_events),
            (15, self.one_event),
            (8, self.facets),
            (7, self.timeline),
            (10, self.list_sources),
            (10, self.create_source),
            (10, self.create_event),
            (8, self.patch_event),
            (4, self.delete_event),
            (3, self.delete_source),
        ]
        weights = [weight for weight, _ in actions]
        while time.monotonic() < self.deadline:
            self.random.choices([action for _, action in actions], weights)[0]()
        self.http.close()

    def list_events(self) -> None:
        params: dict[str, Any] = {"limit": 50}
        if self.random.random() < 0.5:
            params["type"] = self.random.choice(EVENT_TYPES)
        self.call("list events", "GET", "/v1/events", {200}, params=params)

    def one_event(self) -> None:
        if self.events:
            self.call("one event", "GET", f"/v1/events/{self.random.choice(self.events)}", {200})
        else:
            self.call("one event", "GET", "/v1/events/1", {200, 404})

    def facets(self) -> None:
        self.call("facets", "GET", "/v1/events/facets", {200})

    def timeline(self) -> None:
        self.call("timeline", "GET", "/v1/events/timeline", {200}, params={"interval": "month"})

    def list_sources(self) -> None:
        self.call("list sources", "GET", "/v1/sources", {200}, params={"limit": 100})

    def create_source(self) -> None:
        self.made += 1
        body = {"name": f"Soak source {self.number}-{self.made}", "kind": "news_agency", "reliability": "C"}
        response = self.call("create", "POST", "/v1/sources", {201}, json=body)
        if response is not None and response.status_code == 201:
            self.sources.append(response.json()["id"])

    def create_event(self) -> None:
        self.made += 1
        body = {
            "title": f"Soak event {self.number}-{self.made} «ø»",
            "type": self.random.choice(EVENT_TYPES),
            "start_date": f"2025-{self.random.randint(1, 12):02d}-{self.random.randint(1, 28):02d}",
            "country": "BY",
            "fatalities_best": self.random.choice([None, 0, 3, 120]),
        }
        response = self.call("create", "POST", "/v1/events", {201}, json=body)
        if response is not None and response.status_code == 201:
            self.events.append(response.json()["id"])

    def patch_event(self) -> None:
        if self.events:
            event_id = self.random.choice(self.events)
            body = {
                "description": f"revised at {time.time():.6f}",
                "fatalities_best": self.random.randint(0, 50),
            }
            self.call("patch", "PATCH", f"/v1/events/{event_id}", {200}, json=body)

    def delete_event(self) -> None:
        if self.events:
            event_id = self.events.pop(self.random.randrange(len(self.events)))
            self.call("delete", "DELETE", f"/v1/events/{event_id}", {204})

    def delete_source(self) -> None:
        if self.sources:
            source_id = self.sources.pop(self.random.randrange(len(self.sources)))
            self.call("delete", "DELETE", f"/v1/sources/{source_id}", {204})


class Mirror(threading.Thread):
    """A consumer keeping a copy of every row through the change feed."""

    def __init__(self, base: str, key: str) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        self.rows: dict[tuple[str, int], Any] = {}
        self.after = 0
        self.seen_seqs: list[int] = []
        self.stop = threading.Event()
        self.errors: list[str] = []

    def catch_up(self) -> int:
        """Apply every change after the last one seen; the number applied."""
        applied = 0
        while True:
            page = self.http.get("/v1/changes", params={"after": self.after, "limit": 500})
            if page.status_code != 200:
                self.errors.append(f"feed → {page.status_code}: {page.text[:200]}")
                return applied
            body = page.json()
            for change in body["items"]:
                key = (change["resource"], change["id"])
                if change["op"] == "delete":
                    self.rows.pop(key, None)
                else:
                    row = self.http.get(f"/v1/{change['resource']}/{change['id']}")
                    if row.status_code == 200:
                        self.rows[key] = row.json()
                    elif row.status_code == 404:  # deleted since; its tombstone follows
                        self.rows.pop(key, None)
                    else:
                        self.errors.append(f"mirror read → {row.status_code}: {row.text[:200]}")
                self.seen_seqs.append(change["seq"])
                self.after = change["seq"]
                applied += 1
            if not body["items"]:
                return applied

    def run(self) -> None:
        while not self.stop.is_set():
            self.catch_up()
            self.stop.wait(0.2)


def store_rows(base: str, key: str) -> dict[tuple[str, int], Any]:
    """Every row of the store in its single-read form (what the mirror holds: some resources'
    single reads embed more than their list items)."""
    rows: dict[tuple[str, int], Any] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        for resource in RESOURCES:
            cursor = None
            while True:
                params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
                page = http.get(f"/v1/{resource}", params=params).json()
                for item in page["items"]:
                    rows[(resource, item["id"])] = http.get(f"/v1/{resource}/{item['id']}").json()
                cursor = page["next_cursor"]
                if not cursor:
                    break
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()

    url = fresh_database(args.backend)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RATE_LIMIT_PER_MINUTE": "0",
        "AUTH_FAILURES_PER_MINUTE": "0",
        "LOG_FORMAT": "plain",
    }
    cli(env, "db", "upgrade")
    cli(env, "demo")
    keys = [
        cli(env, "keys", "create", f"soak-{n}", "--scope", "write").strip().splitlines()[-1]
        for n in range(args.clients + 1)
    ]
    port = free_port()
    log = (OUT / f"soak-{args.backend}-server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        server.kill()
        raise SystemExit("the server did not start; see benchmarks/out/soak-*-server.log")

    recorder = Recorder()
    mirror = Mirror(base, keys[-1])
    started = time.monotonic()
    deadline = started + args.minutes * 60
    clients = [Client(n, base, keys[n], deadline, recorder) for n in range(args.clients)]
    memory: list[tuple[float, float]] = [(0.0, server_rss_mib(server.pid))]
    mirror.start()
    for client in clients:
        client.start()
    try:
        while any(client.is_alive() for client in clients):
            time.sleep(10)
            memory.append((round(time.monotonic() - started), round(server_rss_mib(server.pid), 1)))
            done = sum(len(v) for v in recorder.latencies.values())
            print(
                f"{memory[-1][0]:>5.0f} s  {done:>7,} requests  server RSS {memory[-1][1]:,.0f} MiB",
                flush=True,
            )
        # the mirror finishes its pass before the last catch-up: two passes at once would
        # record changes twice
        mirror.stop.set()
        mirror.join()
        mirror.catch_up()
        store = store_rows(base, keys[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    elapsed = time.monotonic() - started
    differing = sorted(k for k in set(store) | set(mirror.rows) if store.get(k) != mirror.rows.get(k))
    seqs = mirror.seen_seqs
    repeated = len(seqs) - len(set(seqs))
    out_of_order = sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
    total = sum(len(v) for v in recorder.latencies.values())
    result = {
        "backend": args.backend,
        "workers": args.workers,
        "clients": args.clients,
        "minutes": args.minutes,
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "statuses": dict(recorder.statuses),
        "server_errors": sum(n for status, n in recorder.statuses.items() if status.startswith("5")),
        "unexpected": recorder.unexpected[:20],
        "unexpected_count": len(recorder.unexpected),
        "latency_ms": {
            kind: {
                "n": len(values),
                "p50": round(statistics.median(values) * 1000, 1),
                "p99": round(percentile(values, 0.99), 1),
            }
            for kind, values in sorted(recorder.latencies.items())
        },
        "mirror": {
            "rows": len(mirror.rows),
            "store_rows": len(store),
            "differing_rows": len(differing),
            "first_differences": [list(k) for k in differing[:5]],
            "changes_applied": len(seqs),
            "repeated_seqs": repeated,
            "out_of_order_seqs": out_of_order,
            "errors": mirror.errors[:10],
        },
        "server_rss_mib": memory,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"soak-{args.backend}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "server_rss_mib"}, indent=1))
    failed = result["server_errors"] or result["unexpected_count"] or differing or repeated or out_of_order
    if failed:
        raise SystemExit("soak run FAILED: see the figures above")
    print("soak run passed: no server error, no unexpected answer, the mirror equals the store")


if __name__ == "__main__":
    main()

"""Capacity: throughput of the dashboard read mix with 1, 2 and 4 worker processes, against the
primary alone and with a streaming replica serving the reads.

    python benchmarks/generate.py --events 100000 --backend postgresql   # once (bench_100k)
    .ci/replica-cluster                                                  # the replica on 5433
    python benchmarks/scale.py --events 1000000 --seconds 15 --clients 16 [--leave-out timeline]

The read mix is what a dashboard asks, in turn: the newest 50 events, an actor's (and its
descendants') last 90 days, the monthly timeline, one event, its claims, and a page of sources.
The facets are left out: one unfiltered facets answer costs as much as a hundred of the others
(0.3 s at 100k, 5.4 s at 1M) and the measured rate would be the facets' alone.
`--clients` threads, each with its own keep-alive connection, go round the mix for
`--seconds` per configuration; the load generator runs on the same machine. Results go to
benchmarks/results/scale-postgresql-<size>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from dashboard import fixture, free_port, wait_ready  # noqa: E402
from generate import label  # noqa: E402

PRIMARY = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
REPLICA = os.environ.get("BENCH_REPLICA_URL", "postgresql+psycopg://postgres@127.0.0.1:5433")


# The read mix by name (the names `--leave-out` takes); ids come from the dataset's fixture.
MIX = {
    "newest": "/v1/events?limit=50",
    "actor": "/v1/events?actor_id={actor_id}&date_from=2024-10-01&date_to=2024-12-31",
    "timeline": "/v1/events/timeline?interval=month",
    "event": "/v1/events/{event_id}",
    "claims": "/v1/events/{claims_event_id}/claims",
    "sources": "/v1/sources?limit=50",
}


def read_mix(database_url: str) -> dict[str, str]:
    fx = fixture("postgresql", database_url)
    ids = {"actor_id": fx.actor_id, "event_id": fx.event_id, "claims_event_id": fx.claims_event_id}
    return {name: path.format(**ids) for name, path in MIX.items()}


def serve(database_url: str, workers: int, read_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RATE_LIMIT_PER_MINUTE": "0",
        "AUTH_FAILURES_PER_MINUTE": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_READ_URL", None)
    if read_url:
        env["DATABASE_READ_URL"] = read_url
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/readyz", process, timeout=240)
    if read_url:  # the replica checked and serving before measuring
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/readyz").json().get("replicas", [{}])[0].get("state") != "up":
            if time.monotonic() > deadline:
                raise SystemExit("the replica is not up")
            time.sleep(0.2)
    return process, base


def hammer(base: str, mix: list[str], clients: int, seconds: float) -> dict[str, float]:
    counts = [0] * clients
    errors = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(number: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for path in mix:  # warm: each worker's pools and caches
                http.get(path)
            start.wait()
            turn = number
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                status = http.get(mix[turn % len(mix)]).status_code
                latencies[number].append(time.perf_counter() - began)
                counts[number] += 1
                errors[number] += status != 200
                turn += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + 1e9
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for per in latencies for x in per)
    return {
        "requests_per_second": round(sum(counts) / elapsed, 1),
        "p50_ms": round(every[len(every) // 2] * 1000, 1),
        "p99_ms": round(every[min(len(every) - 1, int(len(every) * 0.99))] * 1000, 1),
        "non_200": sum(errors),
        "requests": sum(counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument(
        "--leave-out",
        nargs="*",
        default=[],
        choices=list(MIX),
        help="questions left out of the mix (e.g. timeline: the one aggregate over every row)",
    )
    args = parser.parse_args()
    database = f"bench_{label(args.events)}"
    primary, replica = f"{PRIMARY}/{database}", f"{REPLICA}/{database}"
    engine = sa.create_engine(replica)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT pg_is_in_recovery()")), f"{replica} is not a replica"
    engine.dispose()
    mix = [path for name, path in read_mix(primary).items() if name not in args.leave_out]
    load = os.getloadavg()
    results: dict[str, object] = {
        "events": args.events,
        "clients": args.clients,
        "seconds": args.seconds,
        "mix": mix,
        "load_average_before": [round(x, 2) for x in load],
        "runs": [],
    }
    runs: list[dict[str, object]] = []
    for workers in args.workers:
        for read_url in (None, replica):
            process, base = serve(primary, workers, read_url)
            try:
                measured = hammer(base, mix, args.clients, args.seconds)
            finally:
                process.terminate()
                process.wait(timeout=60)
            run = {"workers": workers, "reads_on": "replica" if read_url else "primary", **measured}
            runs.append(run)
            print(json.dumps(run), flush=True)
    results["runs"] = runs
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    without = "".join(f"-without-{name}" for name in args.leave_out)
    out = HERE / "results" / f"scale-postgresql-{label(args.events)}{without}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()

"""Benchmarks: the dashboard comparison (`make bench`), and the UCDP GED import and export runs.

    python benchmarks/run.py all [--events 100000] [--backend sqlite]   # what `make bench` runs
    python benchmarks/run.py generate --events 1000000 --backend postgresql
    python benchmarks/run.py dashboard --events 100000 --backend sqlite --requests 5
    python benchmarks/run.py report                                      # README table + chart
    python benchmarks/run.py import  --rows 100000 --backend postgresql
    python benchmarks/run.py serve   --events 200000 --backend sqlite

`all` generates what is missing (generate.py: cached databases, resumable), measures every
backend and size not yet measured at this commit (dashboard.py: results in
benchmarks/results/results-*.json), and writes the README table and chart (report.py).
`import` generates a GED-shaped CSV, imports it into a fresh database and reports rows per
second. `serve` imports `--events` GED rows (unless the database already holds them), starts
the API and measures a full NDJSON export and the monthly timeline. Those two use the database
`conflict_events_bench` (dropped and re-created) on BENCH_PG_URL
(default postgresql+psycopg://postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
# Measured results are committed, so the README can be rewritten from them on any checkout.
RESULTS = HERE / "results"
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from generate_ged import generate  # noqa: E402

PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1")
PG_DB = "conflict_events_bench"


def database_url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{OUT / 'bench.db'}"
    return f"{PG_BASE}/{PG_DB}"


def fresh_database(backend: str) -> str:
    url = database_url(backend)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(OUT / "bench.db") + suffix).unlink(missing_ok=True)
    else:
        admin = sa.create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {PG_DB}")
        admin.dispose()
    os.environ["DATABASE_URL"] = url
    from app.core.config import get_settings
    from app.db.migrations import upgrade
    from app.db.session import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade()
    return url


def csv_file(rows: int) -> Path:
    path = OUT / f"ged-{rows}.csv"
    if not path.exists():
        generate(rows, path)
    return path


def run_import(rows: int, backend: str) -> float:
    from app.db.session import session_factory
    from app.importers.ucdp_ged.run import import_ucdp_ged, refresh_statistics

    path = csv_file(rows)
    fresh_database(backend)
    started = time.perf_counter()
    summary = import_ucdp_ged(path, session_factory(write=True))  # batches of its default size
    refresh_statistics()  # part of an import, as `conflict-events import` does it
    elapsed = time.perf_counter() - started
    rate = rows / elapsed
    print(
        f"import {backend}: {rows} rows in {elapsed:.1f} s = {rate:,.0f} rows/s "
        f"(events {summary.counts['events']}, skipped {len(summary.skipped)})"
    )
    started = time.perf_counter()
    import_ucdp_ged(path, session_factory(write=True))
    elapsed = time.perf_counter() - started
    print(f"re-import {backend} (nothing new): {rows / elapsed:,.0f} rows/s")
    return rate


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_serve(events: int, backend: str, port: int = 8765) -> None:
    url = database_url(backend)
    os.environ["DATABASE_URL"] = url
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(sa.text("SELECT count(*) FROM event"))
    except sa.exc.SQLAlchemyError:
        count = 0
    engine.dispose()
    if count != events:
        run_import(events, backend)
    # the load generator is one client address: the rate limits would answer it with 429s
    env = {**os.environ, "DATABASE_URL": url, "RATE_LIMIT_PER_MINUTE": "0", "AUTH_FAILURES_PER_MINUTE": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        httpx.get(f"{base}/v1/events", params={"limit": 500})  # warm up imports and pools
        idle = rss_kib(server.pid)
        peak = idle
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_kib(server.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        lines = 0
        with httpx.stream(
            "GET", f"{base}/v1/events/export", params={"format": "ndjson"}, timeout=600
        ) as response:
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        print(
            f"export {backend}: {lines} events as NDJSON in {elapsed:.1f} s = "
            f"{lines / elapsed:,.0f} rows/s; server RSS idle {idle / 1024:.0f} MiB, "
            f"peak {peak / 1024:.0f} MiB (+{(peak - idle) / 1024:.0f} MiB)"
        )
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            response = httpx.get(f"{base}/v1/events/timeline", params={"interval": "month"}, timeout=60)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        buckets = response.json()["buckets"]
        print(
            f"timeline {backend}: monthly over {sum(b['events'] for b in buckets)} events, "
            f"{len(buckets)} buckets, median {statistics.median(timings) * 1000:.0f} ms "
            f"(min {min(timings) * 1000:.0f} ms)"
        )
    finally:
        server.terminate()
        server.wait()


def current_commit() -> str:
    """HEAD, marked `+dirty` when the work tree differs: results are reused only for the same code."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "app", "migrations"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def results_path(backend: str, events: int) -> Path:
    from generate import label

    return RESULTS / f"results-{backend}-{label(events)}.json"


def run_dashboard(backend: str, events: int, args: argparse.Namespace) -> None:
    import dashboard
    from generate import database_url as bench_url
    from generate import generate as generate_data
    from generate import sqlite_path

    generate_data(backend, events)
    url = bench_url(backend, events)
    print(f"dashboard {backend} {events:,} events ({url})", flush=True)
    started = time.perf_counter()
    results = dashboard.run_questions(
        backend,
        events,
        url,
        sqlite_path(events) if backend == "sqlite" else None,
        requests=args.requests,
        budget_seconds=args.budget,
        export_runs=args.export_runs,
        slices=args.slices,
        slice_seconds=args.slice_seconds,
        only=args.only,
        datasette=not args.no_datasette,
    )
    results.update(
        commit=current_commit(),
        when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        requests=args.requests,
        seconds=round(time.perf_counter() - started),
    )
    dashboard.save(results, results_path(backend, events))
    print(f"dashboard {backend} {events:,}: {results['seconds']} s", flush=True)


def configurations(args: argparse.Namespace) -> list[tuple[str, int]]:
    backends = [args.backend] if args.backend else ["sqlite", "postgresql"]
    sizes = [args.events] if args.events else [100_000, 1_000_000]
    return [(b, n) for n in sizes for b in backends]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["all", "generate", "dashboard", "report", "import", "serve"])
    parser.add_argument("--rows", type=int, default=100_000, help="import: GED rows")
    parser.add_argument("--events", type=int, default=None, help="events (default: 100k and 1M)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default=None, help="default: both")
    parser.add_argument("--requests", type=int, default=40, help="requests per question and system at c=1")
    parser.add_argument(
        "--budget", type=float, default=60, help="seconds per question at c=1 (3 requests at least)"
    )
    parser.add_argument("--export-runs", type=int, default=2, help="full exports per format and system")
    parser.add_argument("--slices", type=int, default=3, help="c=8: time slices per system (0: skip c=8)")
    parser.add_argument("--slice-seconds", type=float, default=2.0)
    parser.add_argument("--only", nargs="*", help="question names, e.g. newest facets export_csv")
    parser.add_argument("--no-datasette", action="store_true")
    parser.add_argument(
        "--remeasure", action="store_true", help="all: measure even if this commit has results"
    )
    args = parser.parse_args()
    # A terminated run still stops the servers it started (the `finally` blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(exist_ok=True)
    if args.what == "import":
        run_import(args.rows, args.backend or "postgresql")
    elif args.what == "serve":
        run_serve(args.events or 200_000, args.backend or "postgresql")
    elif args.what == "generate":
        from generate import generate as generate_data

        for backend, events in configurations(args):
            generate_data(backend, events)
    elif args.what == "dashboard":
        for backend, events in configurations(args):
            run_dashboard(backend, events, args)
    elif args.what == "report":
        from report import report

        report()
    else:
        commit = current_commit()
        for backend, events in configurations(args):
            path = results_path(backend, events)
            if not args.remeasure and path.exists() and json.loads(path.read_text()).get("commit") == commit:
                print(
                    f"{backend} {events:,}: measured at {commit} already ({path.name}); --remeasure to redo"
                )
                continue
            run_dashboard(backend, events, args)
        from report import report

        report()


if __name__ == "__main__":
    main()

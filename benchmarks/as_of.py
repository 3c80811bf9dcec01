"""As-of list reads against current list reads, on one database (issue 11's measurement).

    python benchmarks/as_of.py --events 100000 --url postgresql+psycopg://postgres@127.0.0.1:5432/DB
    createdb -T bench_1m bench_1m_asof   # or start from a copy of generate.py's 1M database
    python benchmarks/as_of.py --revise-only --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m_asof

Empties the database at URL (its schema is dropped!), loads `generate.py`'s dataset of that
size through the loader (so every row gets its history), notes an instant, then rewrites a tenth
of the events (a new title and fatality figure, one batch re-loaded) so that the mirrors hold
more than one version of some rows, and ANALYZEs. Then it times each list query through the
app in process (FastAPI's TestClient), as a current read and `as_of` the noted instant, in
alternation, and prints the p50 and p95 of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

QUERIES: list[tuple[str, dict[str, str]]] = [
    ("/v1/events", {}),
    ("/v1/events", {"country": "UA"}),
    ("/v1/events", {"date_from": "2020-01-01", "date_to": "2020-12-31"}),
    ("/v1/events", {"min_reliability": "B", "min_credibility": "2"}),
    ("/v1/events", {"sort": "-fatalities_best"}),
    ("/v1/events", {"type": "armed_clash", "limit": "200"}),
    ("/v1/actors", {}),
    ("/v1/statements", {}),
]


def load(url: str, events: int) -> str:
    import generate

    from app.datasets.loader import load_dataset
    from app.db.migrations import upgrade
    from app.db.session import make_engine, transaction

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    with transaction(engine) as session:
        load_dataset(session, generate.base_dataset(generate.DEFAULT_SEED))
    batches = events // generate.BATCH
    for batch in range(batches):
        started = time.perf_counter()
        dataset = generate.batch_dataset(generate.DEFAULT_SEED, batch, batch * generate.BATCH, generate.BATCH)
        with transaction(engine) as session:
            load_dataset(session, dataset)
        print(f"batch {batch + 1}/{batches}: {time.perf_counter() - started:.1f} s", flush=True)
    engine.dispose()
    return revise(url)


def revise(url: str) -> str:
    """Note an instant, then rewrite the first batch's events after it; returns the instant."""
    import generate

    from app.datasets.loader import load_dataset
    from app.db.session import make_engine, transaction

    engine = make_engine(url)
    with engine.connect() as conn:
        instant = conn.scalar(sa.text("SELECT max(valid_from) FROM history"))
    time.sleep(0.01)
    # the first batch's events (a tenth of 100k) change after the instant
    dataset = generate.batch_dataset(generate.DEFAULT_SEED, 0, 0, generate.BATCH)
    for record in dataset["events"]:
        record["title"] += " (revised)"
        record["fatalities_best"] = None
        record.pop("fatalities_low", None)
        record.pop("fatalities_high", None)
    with transaction(engine) as session:
        load_dataset(session, dataset)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        tables = ("event", "event_history", "history")
        counts = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables}
    print(f"rows: {counts}", flush=True)
    engine.dispose()
    text: str = instant.isoformat().replace("+00:00", "Z")
    return text


def measure(url: str, instant: str, repeats: int) -> list[dict[str, Any]]:
    os.environ["DATABASE_URL"] = url
    os.environ["RATE_LIMIT_PER_MINUTE"] = "0"
    os.environ["AUTH_FAILURES_PER_MINUTE"] = "0"
    from fastapi.testclient import TestClient

    from app.main import create_app

    results = []
    with TestClient(create_app()) as client:
        for path, params in QUERIES:
            times: dict[str, list[float]] = {"current": [], "as_of": []}
            for round_ in range(repeats + 2):
                for mode in ("current", "as_of"):
                    query = {**params, **({"as_of": instant} if mode == "as_of" else {})}
                    started = time.perf_counter()
                    response = client.get(path, params=query)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200, response.text
                    if round_ >= 2:  # two warm-up rounds
                        times[mode].append(elapsed * 1000)
            row: dict[str, Any] = {
                "query": f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}",
                "current_p50": statistics.median(times["current"]),
                "as_of_p50": statistics.median(times["as_of"]),
                "current_p95": statistics.quantiles(times["current"], n=20)[-1],
                "as_of_p95": statistics.quantiles(times["as_of"], n=20)[-1],
            }
            row["ratio_p50"] = row["as_of_p50"] / row["current_p50"]
            results.append(row)
            print(
                f"{row['query']:<60} current p50 {row['current_p50']:7.1f} ms  as_of p50 "
                f"{row['as_of_p50']:7.1f} ms  ×{row['ratio_p50']:.2f}  (p95 {row['current_p95']:.1f} / "
                f"{row['as_of_p95']:.1f})",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--instant", help="skip loading; measure as of this instant")
    parser.add_argument(
        "--revise-only",
        action="store_true",
        help="skip loading: URL already holds generate.py's dataset (a copy of bench_1m, say); "
        "rewrite its first batch after a noted instant and measure",
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.url  # before any app module reads its settings
    if args.instant:
        instant = args.instant
    elif args.revise_only:
        instant = revise(args.url)
    else:
        instant = load(args.url, args.events)
    print(f"as_of {instant}", flush=True)
    measure(args.url, instant, args.repeats)


if __name__ == "__main__":
    main()

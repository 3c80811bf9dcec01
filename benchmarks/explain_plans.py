"""Print `EXPLAIN (ANALYZE, BUFFERS)` of every dashboard query, as the service issues it.

The SQL is not written here: each dashboard question is asked through the app (a TestClient on
DATABASE_URL), every statement the engine sends is captured with its parameters, and each one is
then explained with ANALYZE on the same database. The output is Markdown: per question, the
statements, their plans and a one-line verdict (the indexes used; any Seq Scan named).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        flock /tmp/bench.lock python benchmarks/explain_plans.py > benchmarks/plans-postgresql-1m.md

Questions whose values depend on the data (a country, a type, an actor with descendants, a
90-day window, a bounding box) take them from the newest event and the actor tree, so the script
runs on any dataset.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


@contextmanager
def capture(engine: sa.Engine, sink: list[Statement]) -> Iterator[None]:
    """Record every SELECT the engine executes while the block runs."""

    def record(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not executemany and re.match(r"\s*(WITH|SELECT)\b", sql, re.IGNORECASE):
            sink.append(Statement(sql, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def questions(client: Any, engine: sa.Engine) -> list[tuple[str, str, dict[str, Any]]]:
    """The dashboard workload of issue 7, with values taken from the data."""
    newest = client.get("/v1/events", params={"limit": "1"}).json()["items"][0]
    located = client.get("/v1/events", params={"limit": "1", "bbox": "-180,-90,180,90"}).json()["items"][0]
    window_to = date.fromisoformat(newest["start_date"])
    window_from = window_to - timedelta(days=90)
    lon, lat = located["longitude"], located["latitude"]
    bbox = f"{max(lon - 2, -180)},{max(lat - 2, -90)},{min(lon + 2, 180)},{min(lat + 2, 90)}"
    with engine.connect() as conn:
        ancestor = conn.execute(
            sa.text(
                "SELECT coalesce(p.parent_id, a.parent_id) FROM actor a JOIN actor p ON p.id = a.parent_id "
                "ORDER BY p.parent_id IS NULL, a.id LIMIT 1"
            )
        ).scalar()
        claimed = conn.execute(
            sa.text(
                "SELECT event_id FROM statement WHERE event_id IS NOT NULL AND measure IS NOT NULL LIMIT 1"
            )
        ).scalar()
    country = newest["country"] or "UA"
    window = {"date_from": window_from.isoformat(), "date_to": window_to.isoformat()}
    return [
        ("newest 50", "/v1/events", {}),
        ("actor with descendants + 90-day window", "/v1/events", {"actor_id": str(ancestor), **window}),
        (
            "min_reliability=B & min_sources=2 & country",
            "/v1/events",
            {"min_reliability": "B", "min_sources": "2", "country": country},
        ),
        ("bbox + type", "/v1/events", {"bbox": bbox, "type": located["type"]}),
        ("q", "/v1/events", {"q": "shelling"}),
        ("page 200 via cursor", "/v1/events", {"cursor": "page 200"}),
        ("one event", f"/v1/events/{newest['id']}", {}),
        ("monthly timeline by type", "/v1/events/timeline", {"interval": "month", "group_by": "type"}),
        ("facets", "/v1/events/facets", {}),
        ("facets of one country", "/v1/events/facets", {"country": country}),
        ("claims", f"/v1/events/{claimed}/claims", {}),
        ("one export chunk (90-day window, CSV)", "/v1/events/export", {"format": "csv", **window}),
        ("whole-table export (NDJSON), its fullest chunk", "/v1/events/export", {"format": "ndjson"}),
    ]


def cursor_of_page(client: Any, page: int) -> str:
    """The cursor that opens page `page` of the newest-first list, 50 per page."""
    cursor = None
    for _ in range(page - 1):
        cursor = client.get("/v1/events", params={"cursor": cursor} if cursor else {}).json()["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def fullest(captured: list[Statement]) -> list[Statement]:
    """Each distinct statement once, with the largest parameters it was sent with: of an
    export's thousands of chunk statements, the one with the most ids (a whole chunk) is the
    one whose plan matters, not the last (often a short or empty final chunk)."""
    chosen: dict[str, Statement] = {}
    for statement in captured:
        known = chosen.get(statement.sql)
        if known is None or len(repr(statement.parameters)) > len(repr(known.parameters)):
            chosen[statement.sql] = statement
    return list(chosen.values())


ACCESS = re.compile(
    r"(?P<kind>(?:Parallel )?Seq Scan|Index Only Scan(?: Backward)?|Index Scan(?: Backward)?"
    r"|Bitmap Index Scan)"
    r"(?: using (?P<index>\w+))?(?: on (?P<table>\w+))?"
)


def verdict(plan: str) -> str:
    """One line: the indexes used and any sequential scan."""
    used, scanned = [], []
    for match in ACCESS.finditer(plan):
        if "Seq Scan" in match["kind"]:
            scanned.append(match["table"] or "?")
        elif match["kind"] == "Bitmap Index Scan":
            used.append(match["table"])  # "Bitmap Index Scan on <index>"
        else:
            used.append(match["index"])
    text = "indexes: " + ", ".join(dict.fromkeys(u for u in used if u)) if used else "no index"
    if scanned:
        text += "; **Seq Scan on " + ", ".join(dict.fromkeys(scanned)) + "**"
    return text


def explain(engine: sa.Engine, statement: Statement) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement.sql}", statement.parameters
        ).scalars()
        plan = "\n".join(rows)
        conn.rollback()
    return plan


def main() -> int:
    url = os.environ.get("DATABASE_URL") or (sys.argv[1] if len(sys.argv) > 1 else "")
    if not url.startswith("postgresql"):
        print(
            "usage: DATABASE_URL=postgresql+psycopg://… python benchmarks/explain_plans.py", file=sys.stderr
        )
        return 2
    os.environ["DATABASE_URL"] = url
    from fastapi.testclient import TestClient

    from app.db.session import get_engine
    from app.main import create_app

    engine = get_engine()
    with engine.connect() as conn:
        counts = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in ("event", "citation")
        }
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    print("# EXPLAIN (ANALYZE, BUFFERS) of the dashboard queries\n")
    print(f"PostgreSQL {version}; {counts['event']:,} events, {counts['citation']:,} citations.")
    print("Generated by `benchmarks/explain_plans.py`: each question is asked through the app and")
    print("every statement it issues is explained as sent (parameters bound).\n")
    with TestClient(create_app()) as client:
        summary = []
        sections = []
        for name, path, params in questions(client, engine):
            if params.get("cursor") == "page 200":
                params = {"cursor": cursor_of_page(client, 200)}
            captured: list[Statement] = []
            with capture(engine, captured):
                response = client.get(path, params=params)
            assert response.status_code == 200, (name, response.status_code, response.text[:300])
            distinct = fullest(captured)
            lines = [f"## {name}\n", f"`GET {path}` {params}\n"]
            for number, statement in enumerate(distinct, 1):
                plan = explain(engine, statement)
                took = re.search(r"Execution Time: ([0-9.]+) ms", plan)
                line = verdict(plan)
                summary.append(f"| {name} | {number} | {took[1] if took else '?'} ms | {line} |")
                lines += [
                    f"### statement {number}: {line}\n",
                    "```sql",
                    statement.sql.strip(),
                    "```",
                    "```",
                    plan,
                    "```\n",
                ]
            sections.append("\n".join(lines))
    print("| question | statement | execution | verdict |\n|---|---:|---:|---|")
    print("\n".join(summary))
    print()
    print("\n".join(sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

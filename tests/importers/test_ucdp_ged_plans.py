"""Every statement the importer sends that reads rows (lookups, comparisons with stored rows,
deletes of stale links) is served by an index on SQLite and PostgreSQL: an import's cost must not
grow with the size of the tables it writes to."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.db import session as db_session
from app.importers.ucdp_ged.run import import_ucdp_ged
from tests.factories import UCDP_SAMPLE as SAMPLE


def capture(engine: sa.Engine, run: Any) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that read rows while `run()` runs."""
    seen: dict[str, tuple[str, Any]] = {}

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        text = statement.lstrip().upper()
        reads = text.startswith(("SELECT", "DELETE", "UPDATE")) and re.search(r"\bFROM\b", text)
        if reads and not many and "PG_" not in text and "SQLITE_" not in text:
            seen.setdefault(statement, (statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return list(seen.values())


def full_scans(engine: sa.Engine, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Statements whose plan reads a whole table where an index could serve."""
    found: list[tuple[str, str]] = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if engine.dialect.name == "postgresql":
            # Tiny test tables make a sequential scan the cheapest plan; forbid it, so that one
            # that still appears means no index can serve the statement.
            conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, parameters in statements:
                with raw.cursor() as cursor:
                    cursor.execute(f"EXPLAIN {statement}", parameters)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                if "Seq Scan" in plan:
                    found.append((statement, plan))
        else:
            for statement, parameters in statements:
                rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
                plan = "\n".join(str(row[-1]) for row in rows)
                # `SCAN json_each`, a list or a constant are fine; a table scan is not.
                if any(re.match(r"SCAN (?!CONSTANT\b)\w+\b(?! VIRTUAL TABLE)", str(row[-1])) for row in rows):
                    found.append((statement, plan))
    return found


def test_import_and_rerun_lookups_use_indexes(database_url: str, engine: sa.Engine) -> None:
    factory = db_session.session_factory(write=True)
    first = capture(engine, lambda: import_ucdp_ged(SAMPLE, factory, batch_size=400))
    again = capture(engine, lambda: import_ucdp_ged(SAMPLE, factory, batch_size=400))

    statements = {s: (s, p) for s, p in first + again}
    assert len(statements) >= 10  # the lookups were seen
    assert any("citation" in s for s in statements) and any("event_actor" in s for s in statements)
    assert full_scans(engine, list(statements.values())) == []


def test_open_versions_are_looked_up_by_row_as_versions_grow(
    database_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    """Each batch that updates rows reads their open versions. On PostgreSQL the planner must
    know the versions table is no longer empty (the history writer analyzes it as it doubles):
    planned with an empty table's statistics the lookup walked every open version of the
    resource and filtered by row, and an import slowed with the square of its size.

    The file is imported, then again with other fatality figures, so that every event is
    updated (rows an import creates have no versions to look up). Planned for the first five
    rows of the captured lookup: for a batch's worth, reading every open version of the
    resource is as good as looking each one up, and the planner chose either by a hair, by
    when its statistics were taken."""
    factory = db_session.session_factory(write=True)
    import_ucdp_ged(SAMPLE, factory, batch_size=150)
    revised = tmp_path / "revised.csv"
    with (
        open(SAMPLE, encoding="utf-8", newline="") as source,
        open(revised, "w", encoding="utf-8", newline="") as target,
    ):
        reader = csv.DictReader(source)
        assert reader.fieldnames is not None
        writer = csv.DictWriter(target, reader.fieldnames)
        writer.writeheader()
        for row in reader:
            writer.writerow({**row, **{k: str(int(row[k]) + 1) for k in ("low", "best", "high") if row[k]}})
    statements = capture(engine, lambda: import_ucdp_ged(revised, factory, batch_size=150))
    lookups = [(s, p) for s, p in statements if re.search(r"FROM history\b", s) and "row_id" in s]
    assert lookups
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for statement, captured in lookups:
            parameters = _first_rows(captured, 5)
            if engine.dialect.name == "postgresql":
                with raw.cursor() as cursor:
                    cursor.execute(f"EXPLAIN {statement}", parameters)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                conditions = " ".join(re.findall(r"Index Cond: (.*)", plan))
                assert "row_id" in conditions, plan
            else:
                rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
                plan = "\n".join(str(row[-1]) for row in rows)
                assert re.search(r"SEARCH history USING INDEX \w+ \(resource=\? AND row_id=\?", plan), plan


def _first_rows(parameters: Any, count: int) -> Any:
    """The lookup's parameters with only the first `count` row ids: PostgreSQL's are named, the
    ids one array; SQLite's are positional, the ids one JSON array (`db.base.any_of`)."""
    if isinstance(parameters, dict):
        return {k: v[:count] if isinstance(v, list) else v for k, v in parameters.items()}
    return tuple(
        json.dumps(json.loads(v)[:count]) if isinstance(v, str) and v.startswith("[") else v
        for v in parameters
    )

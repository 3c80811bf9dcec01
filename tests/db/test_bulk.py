"""Bulk inserts (`app.db.bulk`): every row lands as given, in the caller's transaction, whatever
the number of rows per statement; a bad row fails the insert with the driver's error translated."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.db import bulk
from app.db.base import table_of
from app.db.session import session_factory
from app.feed.model import Change

CHANGES = table_of(Change)
START = datetime(2025, 9, 12, 6, 30, tzinfo=UTC)


def _rows(count: int, first_seq: int = 1) -> list[dict[str, object]]:
    """Rows that vary in every column: Unicode, nulls, both ops, a timestamp per row."""
    return [
        {
            "seq": first_seq + n,
            "resource": ("events", "sources", "actors")[n % 3],
            "row_id": 10_000 + n,
            "ref": None if n % 7 == 0 else f"ref-{n}-Ωдз",
            "op": "delete" if n % 5 == 0 else "upsert",
            "changed_at": START + timedelta(seconds=n),
            "key_name": None if n % 2 else "cli:import",
        }
        for n in range(count)
    ]


def _stored(engine: sa.Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        result = connection.execute(sa.select(CHANGES).order_by(CHANGES.c.seq))
        return [dict(row._mapping) for row in result]


def _insert(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    with session_factory(engine, write=True)() as session:
        bulk.bulk_insert(session, CHANGES, rows)
        session.commit()


@pytest.mark.parametrize("count", [1, bulk.SQLITE_ROWS_PER_INSERT, 2 * bulk.SQLITE_ROWS_PER_INSERT + 17])
def test_every_row_lands_as_given(engine: sa.Engine, count: int) -> None:
    """One row, exactly one full statement, and two full statements plus a short one."""
    rows = _rows(count)
    _insert(engine, rows)
    assert _stored(engine) == rows


def test_rows_per_statement_follow_the_parameter_limit(engine: sa.Engine) -> None:
    """A table whose rows would pass SQLite's limit on a statement's parameters gets fewer rows
    per statement, down to one (the limit is per connection, here 10 for rows of 7 columns)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the parameter limit is SQLite's")
    statements: list[int] = []
    with session_factory(engine, write=True)() as session:
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        previous = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)
        raw.set_trace_callback(lambda sql: _count_rows(statements, sql))
        try:
            rows = _rows(3)
            bulk.bulk_insert(session, CHANGES, rows)
            session.commit()
        finally:
            raw.set_trace_callback(None)
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, previous)
    assert statements == [1, 1, 1]
    assert _stored(engine) == rows


def test_rows_go_hundreds_to_a_statement(engine: sa.Engine) -> None:
    """On SQLite each statement costs a setup (its statement journal, its triggers' programs)
    that cost as much as the insert when every row was a statement of its own."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL copies")
    statements: list[int] = []
    per = bulk.SQLITE_ROWS_PER_INSERT
    with session_factory(engine, write=True)() as session:
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.set_trace_callback(lambda sql: _count_rows(statements, sql))
        try:
            bulk.bulk_insert(session, CHANGES, _rows(2 * per + 17))
        finally:
            raw.set_trace_callback(None)
    assert statements == [per, per, 17]


def _count_rows(statements: list[int], sql: str) -> None:
    """Note the rows of each INSERT into `change` that SQLite runs."""
    if sql.startswith('INSERT INTO "change"'):
        statements.append(sql.count("),") + 1)


def test_a_bad_row_fails_the_insert_and_the_transaction_keeps_none(engine: sa.Engine) -> None:
    """A row past the first statement repeats a key: the driver's error arrives as SQLAlchemy's
    IntegrityError, and the rolled-back transaction leaves none of the rows (not the ones of the
    statements that had already run)."""
    rows = _rows(bulk.SQLITE_ROWS_PER_INSERT + 3)
    rows[-1] = {**rows[-1], "seq": rows[0]["seq"]}
    with pytest.raises(sa.exc.IntegrityError):
        _insert(engine, rows)
    assert _stored(engine) == []

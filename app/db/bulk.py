"""Bulk inserts: COPY on PostgreSQL, multi-row INSERTs on SQLite; ids drawn in one go.

Imports write hundreds of thousands of rows. On PostgreSQL `COPY … FROM STDIN` is several times
faster than any form of INSERT. On SQLite, SQLAlchemy's executemany spends more time building
per-row parameter dicts than SQLite spends inserting, so rows go straight to the driver with
each column's bind processor applied once per value, hundreds of rows per statement: SQLite
sets up every statement it runs (a statement journal, and the sub-program of each trigger),
which for a table with triggers cost as much as the insert itself when each row was a
statement of its own. Both run inside the session's transaction like any other statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

T = TypeVar("T")
R = TypeVar("R")
# Rows per INSERT on SQLite, fewer when the row's columns would pass SQLite's limit on a
# statement's parameters. Measured on 10,000 imported events: 100 rows per statement and more
# insert as fast as a table without triggers; one row per statement was half again slower.
SQLITE_ROWS_PER_INSERT = 500


def allocate_ids(session: Session, table: sa.Table, count: int) -> list[int]:
    """`count` fresh ids for `table`, so new rows can be bulk-inserted without RETURNING.

    PostgreSQL draws them from the table's sequence. SQLite tables use AUTOINCREMENT (ids are
    never reused): the next ids follow the highest id ever handed out (`sqlite_sequence`), and
    inserting them moves that mark on. Writers are serialised on SQLite, so no other transaction
    can take the same ids between this query and the insert; one that tried would fail on the
    primary key, never overwrite.
    """
    if count <= 0:
        return []
    name = table.name
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                # The sequence is looked up once, not once per id (7x the cost of the ids).
                sa.text(
                    "WITH s AS MATERIALIZED"
                    " (SELECT CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS seq)"
                    " SELECT nextval(s.seq) FROM s, generate_series(1, :count)"
                ),
                {"table": name, "count": count},
            )
        )
    highest = session.scalar(
        sa.text(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = :table), 0), "
            f'coalesce((SELECT max(id) FROM "{name}"), 0))'
        ),
        {"table": name},
    )
    start = int(highest or 0) + 1
    return list(range(start, start + count))


def bulk_insert(session: Session, table: sa.Table, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert rows that all have the same keys, in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    columns = list(rows[0])
    column_list = ", ".join(f'"{name}"' for name in columns)
    raw = connection.connection.driver_connection
    assert raw is not None
    if connection.dialect.name == "postgresql":
        _copy(raw, table, columns, column_list, rows)
        return
    dialect = connection.dialect
    converters = [
        _memoised(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns
    ]
    # Column by column, then zipped into rows: a few list comprehensions instead of a generator
    # per row.
    by_column = [
        [row[name] for row in rows] if convert is None else [convert(row[name]) for row in rows]
        for name, convert in zip(columns, converters, strict=True)
    ]
    values = list(chain.from_iterable(zip(*by_column, strict=True)))
    per_statement = max(
        1, min(SQLITE_ROWS_PER_INSERT, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns))
    )
    one_row = f"({', '.join('?' * len(columns))})"
    insert = f'INSERT INTO "{table.name}" ({column_list}) VALUES '
    step = per_statement * len(columns)
    statement = insert + ", ".join([one_row] * per_statement)
    try:
        for start in range(0, len(values), step):
            part = values[start : start + step]
            if len(part) < step:  # the last, shorter statement
                statement = insert + ", ".join([one_row] * (len(part) // len(columns)))
            raw.execute(statement, part)
    except sqlite3.Error as exc:
        # The raw connection bypasses SQLAlchemy's error translation: wrap the driver's error
        # as SQLAlchemy would (IntegrityError, OperationalError, …) so callers see one kind.
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _memoised(process: Callable[[T], R] | None) -> Callable[[T], R] | None:
    """A bind processor that converts each distinct value once: a batch repeats the same
    timestamps and dates thousands of times, and converting them was a tenth of an import."""
    if process is None:
        return None
    done: dict[T, R] = {}

    def convert(value: T) -> R:
        try:
            return done[value]
        except KeyError:
            done[value] = converted = process(value)
            return converted
        except TypeError:  # unhashable (a JSON value): convert it every time
            return process(value)

    return convert


def _copy(
    raw: Any, table: sa.Table, columns: list[str], column_list: str, rows: Sequence[Mapping[str, object]]
) -> None:
    import psycopg

    statement = f'COPY "{table.name}" ({column_list}) FROM STDIN'
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc

"""Bulk inserts: COPY on PostgreSQL, executemany on SQLite.

Imports write hundreds of thousands of rows; on PostgreSQL `COPY … FROM STDIN` is several times
faster than any form of INSERT, and it runs inside the session's transaction like any other
statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), list(rows))
        return
    import psycopg

    columns = list(rows[0])
    column_list = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table.name}" ({column_list}) FROM STDIN'
    raw = connection.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    except psycopg.Error as exc:
        # The raw connection bypasses SQLAlchemy's error translation: wrap the driver's error
        # as SQLAlchemy would (IntegrityError, OperationalError, …) so callers see one kind.
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc

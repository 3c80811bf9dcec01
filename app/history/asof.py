"""Reads as of an instant: the same SQL, run over the rows valid at that instant.

A read session given an instant (`use_as_of`) marks its connection; every SELECT it then sends
is rewritten just before it reaches the driver: each table it names that has a history mirror
is shadowed by a common table expression of the same name over the mirror's rows valid at the
instant (`valid_from <= t < valid_to`, or no `valid_to`). Tables are referred to by their bare
names in the statements both databases get, and a CTE's name takes precedence over a table's,
so the filters, sorts, keyset conditions, embedded-row loaders, exports and aggregates of the
current reads answer from the historical rows unchanged. The CTEs are `NOT MATERIALIZED`, so
each planner inlines them and serves the walk from the mirror's own indexes (the mirrors copy
the tables' indexes).

A read that names a table with no history (a table the resources gained without a mirror) is
refused with a 422 rather than answered from today's rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.orm import Session, SessionTransaction

from app.core.errors import ValidationFailed
from app.db.base import metadata, table_of, utcnow
from app.history.model import HistoryStart

AS_OF = "as_of"  # Session.info and connection execution option: the instant reads answer for
AS_OF_LOC = ["query", "as_of"]
# Tables that are not resource content: reads of them are never shadowed. The stored event
# forms are of the current state only: an export as of an instant does not read them; shared
# answers are read on connections of their own, never through an as-of session.
UNVERSIONED = {
    "alembic_version",
    "api_key",
    "change",
    "history",
    "history_start",
    "rate_limit_window",
    "shared_answer",
    "stored_event_form",
    "pending_event_form",
}
ONE_MICROSECOND = timedelta(microseconds=1)
HISTORY_START = table_of(HistoryStart)


@dataclass(frozen=True)
class Mirror:
    """The history mirror of one table: its name and the table's own columns."""

    name: str
    columns: tuple[str, ...]


# table name -> its mirror; filled by `app.history.mirrors` when the tables are defined
MIRRORS: dict[str, Mirror] = {}


class AsOfUnavailable(ValidationFailed):
    """A read `as_of` an instant that needs a table without history."""


RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_as_of(text: str) -> datetime:
    """An RFC 3339 timestamp with its offset (`2026-12-02T14:00:00Z`), as UTC with at most
    microseconds (finer digits are cut off, never rounded up into the next microsecond)."""
    match = RFC3339.match(text)
    if match is None:
        raise ValidationFailed(
            f"as_of must be an RFC 3339 timestamp with its offset, e.g. 2026-12-02T14:00:00Z; got {text!r}",
            loc=AS_OF_LOC,
        )
    fraction = (match.group(7) or ".0")[1:7].ljust(6, "0")
    offset = match.group(8).upper().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(f"{text[:19].replace('t', 'T').replace(' ', 'T')}.{fraction}{offset}")
    except ValueError:
        raise ValidationFailed(f"as_of is not a valid instant: {text!r}", loc=AS_OF_LOC) from None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+00:01 is a valid timestamp before year 1 in UTC
        raise ValidationFailed(f"as_of is outside the years 1–9999 in UTC: {text!r}", loc=AS_OF_LOC) from None


def check_as_of(session: Session, instant: datetime) -> None:
    """An instant history can answer for: not in the future (its state is not known yet) and
    not before history began (migration 0007: nothing is known of the rows before it)."""
    now = utcnow()
    if instant > now:
        raise ValidationFailed(
            f"as_of {instant.isoformat()} is in the future (now {now.isoformat()}): "
            "the state at that instant is not known yet",
            loc=AS_OF_LOC,
        )
    started = session.scalar(sa.select(sa.func.min(HISTORY_START.c.started_at)))
    if started is not None and instant < started:
        raise ValidationFailed(
            f"as_of {instant.isoformat()} is before history began ({started.isoformat()}): "
            "nothing is known of the rows at that instant",
            loc=AS_OF_LOC,
        )


def use_as_of(session: Session, instant: datetime | None) -> None:
    """Make every read of this (read) session answer as of `instant` (None: the current state)."""
    if instant is None:
        session.info.pop(AS_OF, None)
    else:
        session.info[AS_OF] = instant


def as_of_of(session: Session) -> datetime | None:
    value = session.info.get(AS_OF)
    return value if isinstance(value, datetime) else None


@event.listens_for(Session, "after_begin")
def _mark_connection(session: Session, _: SessionTransaction, connection: sa.Connection) -> None:
    instant = session.info.get(AS_OF)
    if instant is not None:
        connection.execution_options(**{AS_OF: instant})


@contextmanager
def reading_as_of(session: Session, instant: datetime) -> Iterator[None]:
    """Reads inside the block answer as of `instant`, on the session's current connection
    (also inside a write transaction: the history writer reads the state before a delete)."""
    connection = session.connection()
    before = connection.get_execution_options().get(AS_OF)
    connection.execution_options(**{AS_OF: instant})
    try:
        yield
    finally:
        connection.execution_options(**{AS_OF: before})


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEADING_WITH = re.compile(r"^\s*WITH(\s+RECURSIVE)?\s", re.IGNORECASE)
_IS_READ = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


@lru_cache(maxsize=2048)
def _tables_named(statement: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(mirrored tables, tables without history) that the statement names."""
    words = {word.lower() for word in _WORD.findall(statement)}
    tables = set(metadata.tables) & words
    mirrored = tuple(sorted(name for name in tables if name in MIRRORS))
    missing = tuple(
        sorted(
            name
            for name in tables - set(mirrored) - UNVERSIONED
            if name not in {mirror.name for mirror in MIRRORS.values()}
        )
    )
    return mirrored, missing


def _literal(dialect: sa.Dialect, instant: datetime) -> str:
    # isoformat pads the year to four digits (strftime's %Y writes year 1 as "1")
    text = instant.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if dialect.name == "sqlite":
        return f"'{text}'"  # UTCDateTime stores naive UTC text in this layout
    return f"TIMESTAMPTZ '{text}+00:00'"


def shadowed(statement: str, dialect: sa.Dialect, instant: datetime) -> str:
    """`statement` with every mirrored table it names replaced by its rows valid at `instant`."""
    mirrored, missing = _tables_named(statement)
    if missing:
        raise AsOfUnavailable(
            f"as_of cannot answer this read: {', '.join(missing)} keeps no history",
            loc=AS_OF_LOC,
        )
    if not mirrored:
        return statement
    at = _literal(dialect, instant)
    ctes = []
    for name in mirrored:
        mirror = MIRRORS[name]
        columns = ", ".join(f'"{column}"' for column in mirror.columns)
        ctes.append(
            f'"{name}" AS NOT MATERIALIZED (SELECT {columns} FROM "{mirror.name}" '
            f'WHERE "valid_from" <= {at} AND ("valid_to" IS NULL OR "valid_to" > {at}))'
        )
    prefix = ", ".join(ctes)
    leading = _LEADING_WITH.match(statement)
    if leading is None:
        return f"WITH {prefix} {statement}"
    keyword = "WITH RECURSIVE" if leading.group(1) else "WITH"
    return f"{keyword} {prefix}, {statement[leading.end() :]}"


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _shadow_tables(
    connection: sa.Connection,
    _: DBAPICursor,
    statement: str,
    parameters: object,
    __: ExecutionContext | None,
    executemany: bool,
) -> tuple[str, object]:
    instant = connection.get_execution_options().get(AS_OF)
    if instant is None or executemany or not _IS_READ.match(statement):
        return statement, parameters
    return shadowed(statement, connection.dialect, instant), parameters

"""Sorting and keyset pagination with opaque cursors.

A cursor holds the sort key of the last row served and a fingerprint of the filters and sort it
was made for; reusing it with other filters is a 400 rather than a silently wrong page. Rows are
located by `(sort value, id)` comparisons, never OFFSET, so a page is stable under inserts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, UnaryExpression
from sqlalchemy.orm import Session

from app.core.errors import BadRequest
from app.db.session import BINARY_RESULTS
from app.history.asof import as_of_of
from app.kit.filters import BaseFilter
from app.kit.read import ReadForm, Row

# A sort value as a cursor carries it (decoded JSON) to the value the column compares with.
Parse = Callable[[object], object]
# A sort or id column: `col(Model.attr)` (an ORM attribute) or any column expression.
Column = SQLColumnExpression[object]
F = TypeVar("F", bound=BaseFilter)
T = TypeVar("T")
MAX_INT = 2**63 - 1  # what both databases can bind as an integer


def _parse_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INT:
        raise ValueError("not an integer")
    return value


def _parse_text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _parse_date(value: object) -> date:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return date.fromisoformat(value)


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return datetime.fromisoformat(value)


def _encode(value: object) -> object:
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True)
class SortKey:
    """A sort order: one column, its direction, then `id` in the same direction."""

    column: Column
    id_column: Column
    descending: bool = False
    nullable: bool = False
    parse: Parse = _parse_text

    # Clauses built once per key: building them per request cost more than compiling them.
    @cached_property
    def order_by(self) -> tuple[UnaryExpression[object], UnaryExpression[object]]:
        """The order of rows whose sort value is not null (see `rows_after` for the nulls)."""
        first = self.column.desc() if self.descending else self.column.asc()
        return (first, self.by_id)

    @cached_property
    def by_id(self) -> UnaryExpression[object]:
        return self.id_column.desc() if self.descending else self.id_column.asc()

    @cached_property
    def labelled(self) -> sa.Label[object]:
        """The sort column as `SORT_VALUE`, selected beside the read form's own columns."""
        return sa.label(SORT_VALUE, self.column)

    def beyond_id(self, last_id: int) -> ColumnElement[bool]:
        return self.id_column < last_id if self.descending else self.id_column > last_id

    def after(self, value: object, last_id: int) -> ColumnElement[bool]:
        """Rows with a sort value strictly after `(value, last_id)` in this order (a range an
        index can start at; null sort values are never in it)."""
        position = sa.tuple_(self.column, self.id_column)
        return position < (value, last_id) if self.descending else position > (value, last_id)


def date_key(column: Column, id_column: Column, descending: bool, nullable: bool = False) -> SortKey:
    return SortKey(column, id_column, descending, nullable, _parse_date)


def datetime_key(column: Column, id_column: Column, descending: bool) -> SortKey:
    return SortKey(column, id_column, descending, False, _parse_datetime)


def int_key(column: Column, id_column: Column, descending: bool, nullable: bool = False) -> SortKey:
    return SortKey(column, id_column, descending, nullable, _parse_int)


def text_key(column: Column, id_column: Column, descending: bool = False) -> SortKey:
    return SortKey(column, id_column, descending, False, _parse_text)


def fingerprint(resource: str, filters: Mapping[str, object], sort: str) -> str:
    """Binds a cursor to one list, its filters and its sort."""
    canonical = json.dumps(
        {"resource": resource, "filters": filters, "sort": sort}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(value: object, row_id: int, bound_to: str, as_of: datetime | None = None) -> str:
    """A cursor of a read as of an instant carries the instant (`a`), so the next page is read
    at it too, with or without `as_of` in its request."""
    fields: dict[str, object] = {"k": [_encode(value), row_id], "f": bound_to}
    if as_of is not None:
        fields["a"] = as_of.isoformat()
    payload = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _payload(cursor: str) -> Any:
    padded = cursor + "=" * (-len(cursor) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))


def cursor_as_of(cursor: str | None) -> datetime | None:
    """The instant a cursor was made for, or None (also for a malformed cursor: reading it
    later answers the 400)."""
    if not cursor:
        return None
    try:
        instant = _payload(cursor).get("a")
        return datetime.fromisoformat(instant) if isinstance(instant, str) else None
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        return None


def bind_as_of(session: Session, bound_to: str) -> str:
    """A list's cursor binding, with the instant it is read at (cursors of current reads are
    unchanged)."""
    instant = as_of_of(session)
    return bound_to if instant is None else f"{bound_to}@{instant.isoformat()}"


def decode_cursor(cursor: str, key: SortKey, bound_to: str) -> tuple[object, int]:
    try:
        payload = _payload(cursor)
        value, row_id = payload["k"]
        _parse_int(row_id)
        parsed = None if value is None else key.parse(value)
        bound = payload["f"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is malformed; pass next_cursor exactly as received") from None
    if bound != bound_to:
        raise BadRequest("cursor was made for different filters or sort; start again without it")
    return parsed, row_id


SORT_VALUE = "_sort_value"  # the sort column, selected beside the read form's own columns


@dataclass
class KeysetPage:
    rows: list[Row]
    next_cursor: str | None


def rows_after(
    session: Session, stmt: Select[Any], key: SortKey, after: tuple[object, int] | None, limit: int
) -> list[Row]:
    """Up to `limit` rows of `stmt` after `(sort value, id)` in the key's order, as dicts; the
    sort column rides along as `SORT_VALUE`, so the next position can be read off the last row
    whatever the sort.

    Null sort values come last, in id order. They are read by a second statement once the
    non-null rows run out: each of the two is a range an index serves in either direction,
    where one statement with `NULLS LAST` (or `… OR column IS NULL` after a cursor) made
    PostgreSQL sort the whole table and both databases walk from the first row to the cursor."""
    return _walk(session, stmt, key, after, limit, _as_dicts)


def driver_rows_after(
    session: Session, stmt: Select[Any], key: SortKey, after: tuple[object, int] | None, limit: int
) -> list[tuple[Any, ...]]:
    """`rows_after` as the driver's own tuples, the sort value last, as the driver gives it
    (`driver_position_of` reads the next position off the last one): for an export of stored
    bytes, where a dict and each column's type processing per row cost more than the query.
    PostgreSQL sends them in its binary format."""
    binary = stmt.execution_options(**{BINARY_RESULTS: True})
    return _walk(session, binary, key, after, limit, _as_driver_tuples)


def _walk(
    session: Session,
    stmt: Select[Any],
    key: SortKey,
    after: tuple[object, int] | None,
    limit: int,
    fetch: Callable[[sa.CursorResult[Any]], list[T]],
) -> list[T]:
    def rows(selected: Select[Any], order: tuple[UnaryExpression[object], ...], most: int) -> list[T]:
        statement = selected.add_columns(key.labelled).order_by(*order).limit(most)
        return fetch(session.connection().execute(statement))

    if after is not None and after[0] is None:  # the cursor is already among the nulls
        return rows(stmt.where(key.column.is_(None), key.beyond_id(after[1])), (key.by_id,), limit)
    present = stmt.where(key.column.is_not(None)) if key.nullable else stmt
    if after is not None:
        present = present.where(key.after(*after))
    found = rows(present, key.order_by, limit)
    if not key.nullable or len(found) == limit:
        return found
    return found + rows(stmt.where(key.column.is_(None)), (key.by_id,), limit - len(found))


def _as_dicts(result: sa.CursorResult[Any]) -> list[Row]:
    names = list(result.keys())
    return [dict(zip(names, values, strict=True)) for values in result]


def _as_driver_tuples(result: sa.CursorResult[Any]) -> list[tuple[Any, ...]]:
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def position_of(row: Row) -> tuple[object, int]:
    return row[SORT_VALUE], row["id"]


def driver_position_of(session: Session, key: SortKey) -> Callable[[tuple[Any, ...]], tuple[object, int]]:
    """The position of a driver's row (`driver_rows_after`: the id first, the sort value
    last), the sort value made what the column's type gives (a date, not SQLite's text), so
    that it binds as a parameter of the next statement."""
    dialect = session.get_bind().dialect
    process = key.labelled.type.dialect_impl(dialect).result_processor(dialect, None)

    def position(row: tuple[Any, ...]) -> tuple[object, int]:
        value = row[-1]
        return (process(value) if process is not None and value is not None else value), row[0]

    return position


def keyset_page(
    session: Session,
    form: ReadForm,
    stmt: Select[Any],
    key: SortKey,
    *,
    limit: int,
    cursor: str | None,
    bound_to: str,
) -> KeysetPage:
    """Fetch `limit + 1` rows after the cursor: the extra row only says whether more exist.
    `form` (an `app.kit.read.ReadForm`) turns the page into read forms."""
    bound_to = bind_as_of(session, bound_to)
    after = decode_cursor(cursor, key, bound_to) if cursor else None
    rows = rows_after(session, stmt, key, after, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        del rows[limit:]
        next_cursor = encode_cursor(*position_of(rows[-1]), bound_to, as_of_of(session))
    return KeysetPage(form.finish(session, rows, strip=(SORT_VALUE,)), next_cursor)


def list_page(
    session: Session,
    form: ReadForm,
    apply: Callable[[Session, Select[Any], F], Select[Any]],
    filters: F,
    key: SortKey,
    sort_name: str,
    *,
    limit: int,
    cursor: str | None,
) -> KeysetPage:
    """One page of a list: the filter applied to the read form's select, keyset-paginated."""
    return keyset_page(
        session,
        form,
        apply(session, form.select(), filters),
        key,
        limit=limit,
        cursor=cursor,
        bound_to=fingerprint(form.table.name, filters.fingerprint(), sort_name),
    )

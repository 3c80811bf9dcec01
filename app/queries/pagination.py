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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select

from app.core.errors import BadRequest

Parse = Callable[[Any], Any]
MAX_INT = 2**63 - 1  # what both databases can bind as an integer


def _identity(value: Any) -> Any:
    return value


def _parse_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INT:
        raise ValueError("not an integer")
    return value


def _parse_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _parse_date(value: Any) -> date:
    return date.fromisoformat(value)


def _parse_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value)


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True)
class SortKey:
    """A sort order: one column, its direction, then `id` in the same direction."""

    column: Any
    id_column: Any
    descending: bool = False
    nullable: bool = False
    parse: Parse = _identity

    def order_by(self) -> list[Any]:
        first = self.column.desc() if self.descending else self.column.asc()
        if self.nullable:
            first = first.nulls_last()
        return [first, self.id_column.desc() if self.descending else self.id_column.asc()]

    def after(self, value: Any, last_id: int) -> Any:
        """Rows strictly after `(value, last_id)` in this order (nulls last)."""
        beyond_id = self.id_column < last_id if self.descending else self.id_column > last_id
        if value is None:
            return sa.and_(self.column.is_(None), beyond_id)
        position = sa.tuple_(self.column, self.id_column)
        later = position < (value, last_id) if self.descending else position > (value, last_id)
        return sa.or_(later, self.column.is_(None)) if self.nullable else later


def date_key(column: Any, id_column: Any, descending: bool, nullable: bool = False) -> SortKey:
    return SortKey(column, id_column, descending, nullable, _parse_date)


def datetime_key(column: Any, id_column: Any, descending: bool) -> SortKey:
    return SortKey(column, id_column, descending, False, _parse_datetime)


def int_key(column: Any, id_column: Any, descending: bool, nullable: bool = False) -> SortKey:
    return SortKey(column, id_column, descending, nullable, _parse_int)


def text_key(column: Any, id_column: Any, descending: bool = False) -> SortKey:
    return SortKey(column, id_column, descending, False, _parse_text)


def fingerprint(resource: str, filters: dict[str, Any], sort: str) -> str:
    """Binds a cursor to one list, its filters and its sort."""
    canonical = json.dumps(
        {"resource": resource, "filters": filters, "sort": sort}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(value: Any, row_id: int, bound_to: str) -> str:
    payload = json.dumps({"k": [_encode(value), row_id], "f": bound_to}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, key: SortKey, bound_to: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value, row_id = payload["k"]
        _parse_int(row_id)
        parsed = None if value is None else key.parse(value)
        bound = payload["f"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is malformed; pass next_cursor exactly as received") from None
    if bound != bound_to:
        raise BadRequest("cursor was made for different filters or sort; start again without it")
    return parsed, row_id


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None


def keyset_page(
    session: Any,
    stmt: Select[Any],
    key: SortKey,
    *,
    limit: int,
    cursor: str | None,
    bound_to: str,
    value_of: Callable[[Any], Any],
) -> KeysetPage:
    """Fetch `limit + 1` rows after the cursor: the extra row only says whether more exist."""
    if cursor:
        value, last_id = decode_cursor(cursor, key, bound_to)
        stmt = stmt.where(key.after(value, last_id))
    rows: Sequence[Any] = session.scalars(stmt.order_by(*key.order_by()).limit(limit + 1)).all()
    page = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(value_of(last), last.id, bound_to)
    return KeysetPage(page, next_cursor)

"""Read forms: the one way each resource is read, as plain dicts ready to encode.

Every answer that shows a row — a list page, a single read, the ETag that `If-Match` compares,
the echo of a write, an export chunk — comes from `ReadForm.rows`: the resource's own columns in
one Core select, then what the rows embed (each resource's `read.py` says what) in one query per
kind of embedded row for the whole page or chunk. No ORM entity and no pydantic model is built
per row; the `*Out` models still document the shapes in the OpenAPI, and a test validates real
answers against them.

The columns a read form selects are the fields of its `*Out` model that are columns of its
table, so a field is declared once, in the resource's `*Fields`, and the read path follows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.db.base import in_param_value

Row = dict[str, Any]
T = TypeVar("T")


# Timestamps are UTC and written with `Z`, as the contract writes them.
JSON_OPTIONS = orjson.OPT_UTC_Z


def encode(value: object) -> bytes:
    """JSON of read forms (and anything built from them), as every answer writes it."""
    return orjson.dumps(value, option=JSON_OPTIONS)


def encode_line(value: object) -> bytes:
    """`encode` and a newline, as one line of NDJSON."""
    return orjson.dumps(value, option=JSON_OPTIONS | orjson.OPT_APPEND_NEWLINE)


Embed = Callable[[Session, list[Row], "Lookups"], None]
# Who holds these keys (names, aliases): `(key, row id, ref)` rows, e.g. `actors.read.name_holders`.
Holders = Callable[[Session, Sequence[str]], list[tuple[str, int, str | None]]]


def distinct_ids(values: Iterable[T | None]) -> list[T]:
    """Distinct ids in first-seen order (a stable statement for the same page)."""
    return list(dict.fromkeys(v for v in values if v is not None))


_SQL: dict[tuple[sa.Select[Any], str], str] = {}


def fetch(session: Session, stmt: sa.Select[Any], ids: Sequence[object]) -> list[Any]:
    """Rows (plain tuples) of a prebuilt statement whose one parameter `:ids` is the list given.

    The statement is compiled once per dialect and sent as text, and its rows are taken from
    the driver's cursor as they come: its columns are integers and strings that need no result
    processing, and skipping SQLAlchemy's per-execution and per-row handling is most of what a
    page of embedded rows costs. (Still through the Connection, so `before_cursor_execute`
    listeners see it.)"""
    if not ids:
        return []
    connection = session.connection()
    dialect = connection.dialect.name
    sql = _SQL.get((stmt, dialect))
    if sql is None:
        sql = _SQL[(stmt, dialect)] = str(stmt.compile(dialect=connection.dialect))
    value = in_param_value(connection.dialect, list(ids))
    params: Any = (value,) if connection.dialect.positional else {"ids": value}
    result = connection.exec_driver_sql(sql, params)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def grouped(session: Session, stmt: sa.Select[Any], ids: Sequence[object]) -> dict[Any, list[Any]]:
    """Rows of a prebuilt statement grouped by their first column, in the statement's order."""
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in fetch(session, stmt, ids):
        groups[row[0]].append(row)
    return groups


class Lookups:
    """What many embedded rows share — a source's name and grade, an actor's name — read once
    per page or export by id and looked up in memory: joining them into every embedded row
    cost more than reading the rows themselves. Held for one read transaction only; bounded,
    so an export over many distinct sources or actors stays in constant memory. Each kind is
    a prebuilt statement whose first column is the id (see `actors.read.actor_names`)."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._known: dict[sa.Select[Any], dict[int, Any]] = {}

    def get(
        self, session: Session, stmt: sa.Select[Any], ids: Iterable[int], value: Callable[[Any], T]
    ) -> dict[int, T]:
        """`{id: value(row)}` for the rows of `stmt`, holding at least the ids given."""
        known = self._known.setdefault(stmt, {})
        wanted = distinct_ids(ids)
        missing = [i for i in wanted if i not in known]
        if missing:
            if len(known) + len(missing) > self.LIMIT:
                known.clear()
                missing = wanted
            for row in fetch(session, stmt, missing):
                known[row[0]] = value(row)
        return known


def _embed_nothing(_: Session, __: list[Row], ___: Lookups) -> None:
    return None


@dataclass(frozen=True)
class ReadForm:
    """How one resource is read: the columns its `out` model takes from `table` as they are,
    and the one loader of everything its rows embed."""

    name: str  # the resource's plural path name
    out: type[BaseModel]
    table: sa.Table
    embed: Embed = _embed_nothing
    columns: tuple[sa.Column[Any], ...] = field(init=False)
    base: sa.Select[Any] = field(init=False)
    by_id: sa.Select[Any] = field(init=False)

    def __post_init__(self) -> None:
        own = [self.table.c[name] for name in self.out.model_fields if name in self.table.c]
        object.__setattr__(self, "columns", tuple(own))
        # Built once: constructing a select of twenty columns costs more than running it.
        object.__setattr__(self, "base", sa.select(*own))
        object.__setattr__(self, "by_id", self.base.where(self.table.c.id == sa.bindparam("id")))

    def select(self) -> sa.Select[Any]:
        """The statement that list filters, sorting and keyset pagination build on (statements
        are immutable: each `.where()` makes a new one)."""
        return self.base

    def rows(
        self,
        session: Session,
        stmt: sa.Select[Any],
        params: Mapping[str, object] | None = None,
        *,
        strip: Sequence[str] = (),
    ) -> list[Row]:
        """The read forms of the rows `stmt` selects (columns as `select()` gives them, plus any
        extra ones named in `strip`, which are dropped after use, e.g. a sort key)."""
        result = session.connection().execute(stmt, params)
        keys = list(result.keys())
        rows = [dict(zip(keys, values, strict=True)) for values in result]
        return self.finish(session, rows, strip=strip)

    def finish(
        self,
        session: Session,
        rows: list[Row],
        *,
        strip: Sequence[str] = (),
        lookups: Lookups | None = None,
    ) -> list[Row]:
        """Drop the `strip` columns and embed what the rows embed; an export passes one
        `lookups` for all its chunks."""
        for row in rows:
            for name in strip:
                row.pop(name, None)
        if rows:
            self.embed(session, rows, lookups or Lookups())
        return rows

    def one(self, session: Session, row_id: int) -> Row | None:
        found = self.rows(session, self.by_id, {"id": row_id})
        return found[0] if found else None

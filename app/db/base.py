"""Shared metadata, column helpers and the dialect-specific SQL bits, each in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> sa.Table:
    """The table a table model maps: SQLModel does not declare `__table__` to mypy."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


def utcnow() -> datetime:
    """Timestamps are stored in UTC with microseconds, never in local time."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite keeps no offset itself)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(
        self, dialect: sa.Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        """On SQLite one C-level parse per value: reads of many rows spend measurable time
        here when the generic processor chain runs per value."""
        if dialect.name == "sqlite":

            def parse(value: str | None) -> datetime | None:
                if value is None:
                    return None
                try:  # stored without an offset: read as UTC in the same parse
                    return datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    return datetime.fromisoformat(value).astimezone(UTC)

            return parse
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class unicode_lower(FunctionElement[str]):  # reads like the SQL function it becomes
    """Unicode lower-casing in SQL: lower() on PostgreSQL, Python's str.lower on SQLite (whose
    own lower() folds only ASCII). Both apply Unicode's simple lower-case mapping."""

    type = sa.String()
    inherit_cache = True


@compiles(unicode_lower)
def _unicode_lower_default(element: unicode_lower, compiler: SQLCompiler, **kw: object) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _unicode_lower_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: object) -> str:
    return f"py_lower({compiler.process(element.clauses, **kw)})"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_ci(column: sa.SQLColumnExpression[str | None], needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match: column and needle are lower-cased by the same SQL
    function, so a match does not depend on which database answers."""
    pattern = sa.literal(f"%{escape_like(needle)}%", sa.String())
    return unicode_lower(column).like(unicode_lower(pattern), escape="\\")


class any_of(sa.sql.expression.ColumnElement[bool]):  # reads like the SQL it becomes
    """`column IN (values)`, sent to PostgreSQL as `column = ANY(:array)`.

    A batch of an import looks up thousands of refs at once; one array parameter keeps the
    statement short (psycopg parses every statement's text) and cacheable.
    """

    type = sa.Boolean()
    inherit_cache = False
    # A comparison, not a boolean column: without this SQLite gets `(x IN (...)) = 1`, which
    # no index can serve, so every lookup scanned the whole table.
    _is_implicitly_boolean = True

    def __init__(self, column: Any, values: Iterable[object]) -> None:
        self.column = column
        self.values = list(values)


@compiles(any_of)
def _any_of_default(element: any_of, compiler: SQLCompiler, **kw: object) -> str:
    return str(compiler.process(element.column.in_(element.values), **kw))


@compiles(any_of, "sqlite")
def _any_of_sqlite(element: any_of, compiler: SQLCompiler, **kw: object) -> str:
    """One JSON array parameter read by `json_each`, as `in_param` does: an `IN` of thousands
    of bind parameters cost more to compile (a unique name per value) than to run."""
    values: sa.Select[Any] = sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam(None, element.values, type_=JsonList())).table_valued("value")
    )
    return str(compiler.process(element.column.in_(values.scalar_subquery()), **kw))


@compiles(any_of, "postgresql")
def _any_of_postgresql(element: any_of, compiler: SQLCompiler, **kw: object) -> str:
    from sqlalchemy.dialects.postgresql import ARRAY

    array = sa.bindparam(None, element.values, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == sa.any_(array), **kw))


class in_param(sa.sql.expression.ColumnElement[bool]):  # reads like the SQL it becomes
    """`column IN (:name)` with the list given at execution, so one prebuilt statement serves
    every page: no per-call statement building or cache-key work over the values. The list is
    one parameter: a PostgreSQL array (`column = ANY(:name)`), or on SQLite a JSON array read by
    `json_each` (an expanding IN would rewrite the SQL text on every execution)."""

    type = sa.Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: Any, name: str = "ids") -> None:
        self.column = column
        self.name = name


def in_param_value(dialect: sa.Dialect, values: Sequence[object]) -> str | Sequence[object]:
    """What `in_param`'s one parameter carries: a JSON array on SQLite, an array elsewhere.
    For callers that send `in_param` statements as precompiled text."""
    return orjson.dumps(values).decode() if dialect.name == "sqlite" else values


class JsonList(sa.TypeDecorator[Sequence[object]]):
    """A list bound as one JSON text parameter (for SQLite's `json_each`)."""

    impl = sa.String()
    cache_ok = True

    def process_bind_param(self, value: Sequence[object] | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else str(in_param_value(dialect, value))


@compiles(in_param, "sqlite")
def _in_param_sqlite(element: in_param, compiler: SQLCompiler, **kw: object) -> str:
    values: sa.Select[Any] = sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam(element.name, type_=JsonList())).table_valued("value")
    )
    return str(compiler.process(element.column.in_(values.scalar_subquery()), **kw))


@compiles(in_param)
def _in_param_default(element: in_param, compiler: SQLCompiler, **kw: object) -> str:
    return str(compiler.process(element.column.in_(sa.bindparam(element.name, expanding=True)), **kw))


@compiles(in_param, "postgresql")
def _in_param_postgresql(element: in_param, compiler: SQLCompiler, **kw: object) -> str:
    from sqlalchemy.dialects.postgresql import ARRAY

    array = sa.bindparam(element.name, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == sa.any_(array), **kw))


def check(expression: str, name: str) -> sa.CheckConstraint:
    """A named CHECK constraint (names keep migrations and error messages stable)."""
    return sa.CheckConstraint(expression, name=name)


# SQLite would otherwise hand the id of a deleted last row to the next insert, and a change-feed
# tombstone would then share its id with a new row.
NO_ID_REUSE = {"sqlite_autoincrement": True}

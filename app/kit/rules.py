"""What the write rules of every resource share: the batch item, its errors, and persisting
with change-feed entries (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any, Generic, Protocol, TypeVar, get_args

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from app.core.text import fold
from app.db.base import any_of, table_of, utcnow
from app.db.bulk import allocate_ids, bulk_insert
from app.feed.changes import record_change
from app.kit.read import Holders

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

RowT = TypeVar("RowT")
DataT = TypeVar("DataT")


class Keyed(Protocol):
    """A record with the optional stable ref every resource has."""

    @property
    def ref(self) -> str | None: ...


class Named(Keyed, Protocol):
    """A record of a resource with a unique name (sources, actors)."""

    @property
    def name(self) -> str: ...


KeyedT = TypeVar("KeyedT", bound=Keyed)
NamedT = TypeVar("NamedT", bound=Named)


class RecordError(Exception):
    """A record breaks a rule. `conflict` marks clashes with other rows (HTTP 409)."""

    def __init__(self, index: int, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.index = index
        self.field = field
        self.message = message
        self.conflict = conflict


@dataclass
class Item(Generic[RowT, DataT]):
    """One record to write: the stored row it replaces (None to create) and its new values."""

    # The stored row, or None to create one: a model instance from the HTTP handlers, a Core
    # `Row` from the loader (read by attribute either way), so not typed by `RowT`.
    row: Any
    data: DataT
    outcome: str = field(default=UNCHANGED)
    id: int | None = None  # the row's id once saved
    # Set by the dataset loader: `row` was looked up by the record's ref, and every id the record
    # points at was resolved from a ref, in this transaction. The rules then skip querying again
    # for what the loader found (5 % of the server's work in an import).
    resolved: bool = False

    def __post_init__(self) -> None:
        if self.row is not None:
            self.id = self.row.id


def column_values(data: BaseModel, exclude: set[str] | None = None, **extra: object) -> dict[str, object]:
    """A record's column values, enums as their plain strings."""
    values = data.model_dump(exclude=exclude)
    for name in _enum_fields(type(data)):
        value = values.get(name)
        if isinstance(value, Enum):
            values[name] = value.value
    values.update(extra)
    return values


@cache
def _enum_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields that may hold an enum member (checked per value only there: an import calls
    `column_values` a quarter of a million times)."""
    return tuple(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(t, type) and issubclass(t, Enum) for t in _leaf_types(info.annotation))
    )


def _leaf_types(annotation: object) -> Iterator[object]:
    yield annotation
    for argument in get_args(annotation):
        yield from _leaf_types(argument)


def differs(row: object, values: Mapping[str, object]) -> bool:
    return row is None or any(getattr(row, name) != value for name, value in values.items())


def persist(
    session: Session,
    model: type[SQLModel],
    items: Sequence[Item[RowT, DataT]],
    values: Sequence[Mapping[str, object]],
    changed: Sequence[bool],
) -> None:
    """Insert the new rows and rewrite the changed ones with Core statements (the ORM unit of
    work is far too slow for imports); sets each item's id and outcome."""
    table = table_of(model)
    now = utcnow()
    new = [(item, row) for item, row in zip(items, values, strict=True) if item.row is None]
    if new:
        # Ids drawn up front let the rows go in as one bulk insert: an INSERT … RETURNING is
        # executed row by row on SQLite.
        ids = allocate_ids(session, table, len(new))
        bulk_insert(
            session,
            table,
            [
                {"id": i, **row, "created_at": now, "updated_at": now}
                for (_, row), i in zip(new, ids, strict=True)
            ],
        )
        for (item, _), new_id in zip(new, ids, strict=True):
            item.id, item.outcome = new_id, CREATED
    stale = [
        (item, row)
        for item, row, did_change in zip(items, values, changed, strict=True)
        if item.row is not None and did_change
    ]
    if stale:
        columns = list(stale[0][1])
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(f"v_{name}") for name in [*columns, "updated_at"]})
        )
        session.execute(
            statement,
            [
                {"row_id": item.id, "v_updated_at": now, **{f"v_{k}": v for k, v in row.items()}}
                for item, row in stale
            ],
            execution_options={"synchronize_session": False},
        )
        for item, _ in stale:
            item.outcome = UPDATED
            if isinstance(item.row, SQLModel):
                session.expire(item.row)


def _existing_ids(session: Session, model: type[SQLModel], ids: Iterable[int]) -> set[int]:
    wanted = set(ids)
    if not wanted:
        return set()
    id_column = table_of(model).c.id
    return set(session.scalars(sa.select(id_column).where(any_of(id_column, wanted))))


def _check_unique(
    session: Session,
    items: Sequence[Item[RowT, DataT]],
    model: type[SQLModel],
    column_name: str,
    key_of: Callable[[DataT], str | None],
    field_name: str,
    what: Callable[[DataT], str],
    *,
    found_by_key: bool = False,
) -> None:
    """No two records, and no record and another stored row of `model`, share a key of its
    column `column_name` (a record without one is skipped): a clash is a 409 that names the
    holder. `found_by_key`: a resolved item's row was looked up by this key, so the stored rows
    holding it are known (its row, or none)."""
    claimed: dict[str, int] = {}
    for index, item in enumerate(items):
        key = key_of(item.data)
        if key is None:
            continue
        if key in claimed:
            raise RecordError(index, field_name, f"{what(item.data)} is given twice", conflict=True)
        claimed[key] = index
    if found_by_key:
        claimed = {key: index for key, index in claimed.items() if not items[index].resolved}
    if not claimed:
        return
    table = table_of(model)
    column = table.c[column_name]
    for key, row_id in session.execute(sa.select(column, table.c.id).where(any_of(column, list(claimed)))):
        item = items[claimed[key]]
        if item.row is None or item.row.id != row_id:
            raise RecordError(
                claimed[key],
                field_name,
                f"{what(item.data)} is already used by {table.name} {row_id}",
                conflict=True,
            )


def check_refs(session: Session, model: type[SQLModel], items: Sequence[Item[RowT, KeyedT]]) -> None:
    """A ref names one row of its resource."""
    _check_unique(
        session,
        items,
        model,
        "ref",
        lambda data: data.ref,
        "ref",
        lambda data: f"ref {data.ref!r}",
        found_by_key=True,
    )


def require_existing(
    session: Session,
    model: type[SQLModel],
    items: Sequence[Item[RowT, DataT]],
    field_name: str,
    ids_of: Callable[[DataT], Iterable[int]],
    what: str,
) -> None:
    """Every id the records point at exists (a missing target is a 422, not a 500). The ids
    of resolved items were found in this transaction: not queried again."""
    wanted = {i for item in items if not item.resolved for i in ids_of(item.data)}
    found = _existing_ids(session, model, wanted)
    for index, item in enumerate(items):
        if item.resolved:
            continue
        for target in ids_of(item.data):
            if target not in found:
                raise RecordError(index, field_name, f"{field_name} {target} identifies no {what}")


def queue_changes(session: Session, resource: str, items: Sequence[Item[RowT, KeyedT]]) -> None:
    """Queue a change-feed entry for every row created or altered."""
    for item in items:
        if item.outcome in (CREATED, UPDATED):
            assert item.id is not None
            record_change(
                session, resource, item.id, item.data.ref, "upsert", created=item.outcome == CREATED
            )


def check_unique_names(
    session: Session, model: type[SQLModel], items: Sequence[Item[RowT, NamedT]], field_name: str
) -> None:
    """A name (compared case-insensitively) names one row of its resource."""
    _check_unique(
        session,
        items,
        model,
        "name_key",
        lambda data: fold(data.name),
        field_name,
        lambda data: f"name {data.name!r}",
    )


class Aliased(Named, Protocol):
    """A record of a resource whose rows have aliases (actors, sources)."""

    @property
    def aliases(self) -> list[str]: ...


AliasedT = TypeVar("AliasedT", bound=Aliased)


def check_aliases(
    session: Session,
    items: Sequence[Item[RowT, AliasedT]],
    name_holders: Holders,
    alias_holders: Holders,
    noun: str,
) -> None:
    """An alias identifies exactly one row and is no other row's name (nor the reverse): a
    clash within the batch or with a stored row outside it is a 409 naming the holder."""
    own_id = {index: (item.row.id if item.row else None) for index, item in enumerate(items)}
    alias_keys: dict[str, int] = {}
    name_keys = {fold(item.data.name): index for index, item in enumerate(items)}
    for index, item in enumerate(items):
        for alias in item.data.aliases:
            key = fold(alias)
            other = alias_keys.get(key, name_keys.get(key))
            if other is not None and other != index:
                raise RecordError(
                    index,
                    "aliases",
                    f"alias {alias!r} also names another {noun} in this request",
                    conflict=True,
                )
            alias_keys[key] = index
    batch_ids = set(own_id.values())

    def refuse_taken(keys: dict[str, int], holders: Holders, field: str, says: str) -> None:
        """A key of `keys` held by a row outside this batch is a 409."""
        for key, holder, _ in holders(session, list(keys)):
            index = keys[key]
            if holder != own_id[index] and holder not in batch_ids:
                raise RecordError(
                    index,
                    field,
                    says.format(key=key, name=items[index].data.name, holder=holder, noun=noun),
                    conflict=True,
                )

    refuse_taken(alias_keys, alias_holders, "aliases", "alias {key!r} already identifies {noun} {holder}")
    refuse_taken(alias_keys, name_holders, "aliases", "alias {key!r} is the name of {noun} {holder}")
    refuse_taken(name_keys, alias_holders, "name", "name {name!r} is an alias of {noun} {holder}")


Values = tuple[object, ...]


def persisted_id(item: Item[RowT, DataT]) -> int:
    """The id of an item `persist` has written (new rows have theirs by then)."""
    assert item.id is not None
    return item.id


@dataclass(frozen=True)
class ChildList:
    """Rows a parent owns as an ordered list — an event's actors and its citations, a
    statement's mentions: read per parent, compared with the record's list, and replaced whole
    (with fresh positions) only when it differs, so an unchanged record writes nothing."""

    model: type[SQLModel]
    owner: str  # the column holding the parent's id
    fields: tuple[str, ...]  # the columns compared and written, besides the owner and position
    order: tuple[str, ...] = ("position",)

    def stored(self, session: Session, owner_ids: Sequence[int]) -> dict[int, list[Values]]:
        """Each stored parent's list, in its order."""
        if not owner_ids:
            return {}
        owner = getattr(self.model, self.owner)
        found: dict[int, list[Values]] = {}
        for row in session.execute(
            sa.select(owner, *(getattr(self.model, name) for name in self.fields))
            .where(any_of(owner, owner_ids))
            .order_by(owner, *(getattr(self.model, name) for name in self.order))
        ):
            found.setdefault(row[0], []).append(tuple(row[1:]))
        return found

    def replace(
        self, session: Session, lists: dict[int, list[Values]], stored: dict[int, list[Values]]
    ) -> None:
        """Give each parent in `lists` exactly that list (its stored rows go first)."""
        owner = getattr(self.model, self.owner)
        stale = [parent for parent in lists if parent in stored]
        if stale:
            session.execute(sa.delete(self.model).where(any_of(owner, stale)))
        rows = [
            {self.owner: parent, **dict(zip(self.fields, values, strict=True)), "position": position}
            for parent, values_list in lists.items()
            for position, values in enumerate(values_list)
        ]
        if rows:
            bulk_insert(session, table_of(self.model), rows)

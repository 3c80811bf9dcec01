"""The write rules of every resource, applied to a batch of records at once.

The dataset loader, the UCDP importer and the HTTP `POST`/`PATCH` handlers all call these
functions, so a record is judged by one set of rules however it arrives. Each function checks a
whole batch with a constant number of queries (the importer writes thousands of rows a second),
compares every record with the stored row so that an identical record writes nothing, and
queues a change-feed entry for each row it creates or alters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any, Generic, TypeVar, get_args

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from app.db.base import any_of, fold, utcnow
from app.db.bulk import allocate_ids, bulk_insert
from app.models import (
    Actor,
    ActorAlias,
    Citation,
    Document,
    Event,
    EventActor,
    Source,
    Statement,
    StatementMention,
)
from app.queries.views import aliases_of
from app.schemas.resources import (
    ActorCreate,
    DocumentCreate,
    EventCreate,
    SourceCreate,
    StatementCreate,
)
from app.services.changes import record_change

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

RowT = TypeVar("RowT")
DataT = TypeVar("DataT", bound=BaseModel)


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

    row: Any  # the stored row, or None to create one
    data: DataT
    outcome: str = field(default=UNCHANGED)
    id: int | None = None  # the row's id once saved

    def __post_init__(self) -> None:
        if self.row is not None:
            self.id = self.row.id


def _columns(data: BaseModel, exclude: set[str] | None = None, **extra: Any) -> dict[str, Any]:
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
    `_columns` a quarter of a million times)."""
    return tuple(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(t, type) and issubclass(t, Enum) for t in _leaf_types(info.annotation))
    )


def _leaf_types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in get_args(annotation):
        yield from _leaf_types(argument)


def _differs(row: Any, values: dict[str, Any]) -> bool:
    return row is None or any(getattr(row, name) != value for name, value in values.items())


def _persist(
    session: Session,
    model: Any,
    items: Sequence[Item[Any, Any]],
    values: list[dict[str, Any]],
    changed: list[bool],
) -> None:
    """Insert the new rows and rewrite the changed ones with Core statements (the ORM unit of
    work is far too slow for imports); sets each item's id and outcome."""
    table = model.__table__
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


def _existing_ids(session: Session, model: Any, ids: Iterable[int]) -> set[int]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set(session.scalars(sa.select(model.id).where(any_of(model.id, wanted))))


def _check_refs(session: Session, model: Any, items: Sequence[Item[Any, Any]]) -> None:
    """A ref names one row of its resource."""
    claimed: dict[str, int] = {}
    for index, item in enumerate(items):
        ref = item.data.ref
        if ref is None:
            continue
        if ref in claimed:
            raise RecordError(index, "ref", f"ref {ref!r} is given twice", conflict=True)
        claimed[ref] = index
    if not claimed:
        return
    for ref, row_id in session.execute(
        sa.select(model.ref, model.id).where(any_of(model.ref, list(claimed)))
    ):
        item = items[claimed[ref]]
        if item.row is None or item.row.id != row_id:
            raise RecordError(
                claimed[ref],
                "ref",
                f"ref {ref!r} is already used by {model.__tablename__} {row_id}",
                conflict=True,
            )


def _require(
    session: Session,
    model: Any,
    items: Sequence[Item[Any, Any]],
    field_name: str,
    ids_of: Any,
    what: str,
) -> None:
    """Every id the records point at exists (a missing target is a 422, not a 500)."""
    wanted = {i for item in items for i in ids_of(item.data)}
    found = _existing_ids(session, model, wanted)
    for index, item in enumerate(items):
        for target in ids_of(item.data):
            if target not in found:
                raise RecordError(index, field_name, f"{field_name} {target} identifies no {what}")


def _record(session: Session, resource: str, items: Sequence[Item[Any, Any]]) -> None:
    """Queue a change-feed entry for every row created or altered."""
    for item in items:
        if item.outcome in (CREATED, UPDATED):
            assert item.id is not None
            record_change(session, resource, item.id, item.data.ref, "upsert")


# --- sources -----------------------------------------------------------------------------------


def save_sources(session: Session, items: Sequence[Item[Source, SourceCreate]]) -> None:
    _check_refs(session, Source, items)
    _check_unique_names(session, Source, items, "name")
    values = [_columns(item.data, name_key=fold(item.data.name)) for item in items]
    _persist(session, Source, items, values, [_differs(i.row, v) for i, v in zip(items, values, strict=True)])
    _record(session, "sources", items)


def _check_unique_names(
    session: Session, model: Any, items: Sequence[Item[Any, Any]], field_name: str
) -> None:
    keys: dict[str, int] = {}
    for index, item in enumerate(items):
        key = fold(item.data.name)
        if key in keys:
            raise RecordError(index, field_name, f"name {item.data.name!r} is given twice", conflict=True)
        keys[key] = index
    for key, row_id in session.execute(
        sa.select(model.name_key, model.id).where(any_of(model.name_key, list(keys)))
    ):
        item = items[keys[key]]
        if item.row is None or item.row.id != row_id:
            raise RecordError(
                keys[key],
                field_name,
                f"name {item.data.name!r} is already used by {model.__tablename__} {row_id}",
                conflict=True,
            )


# --- documents ---------------------------------------------------------------------------------


def save_documents(session: Session, items: Sequence[Item[Document, DocumentCreate]]) -> None:
    _check_refs(session, Document, items)
    _require(session, Source, items, "source_id", lambda d: [d.source_id], "source")
    urls: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.data.url is None:
            continue
        if item.data.url in urls:
            raise RecordError(index, "url", f"url {item.data.url!r} is given twice", conflict=True)
        urls[item.data.url] = index
    if urls:
        for url, row_id in session.execute(
            sa.select(col(Document.url), col(Document.id)).where(any_of(col(Document.url), list(urls)))
        ).tuples():
            item = items[urls[str(url)]]
            if item.row is None or item.row.id != row_id:
                raise RecordError(
                    urls[str(url)], "url", f"url is already used by document {row_id}", conflict=True
                )
    values = [_columns(item.data) for item in items]
    _persist(
        session, Document, items, values, [_differs(i.row, v) for i, v in zip(items, values, strict=True)]
    )
    _record(session, "documents", items)


# --- actors ------------------------------------------------------------------------------------


def save_actors(session: Session, items: Sequence[Item[Actor, ActorCreate]]) -> None:
    _check_refs(session, Actor, items)
    _check_unique_names(session, Actor, items, "name")
    _check_aliases(session, items)
    _require(
        session,
        Actor,
        items,
        "parent_id",
        lambda d: [d.parent_id] if d.parent_id is not None else [],
        "actor",
    )
    _check_no_cycles(session, items)
    current_aliases = aliases_of(session, [i.row.id for i in items if i.row is not None])
    values, changed = [], []
    alias_changes: list[tuple[Item[Actor, ActorCreate], list[str]]] = []
    for item in items:
        row_values = _columns(item.data, exclude={"aliases"}, name_key=fold(item.data.name))
        did_change = _differs(item.row, row_values)
        old_aliases = current_aliases.get(item.id, []) if item.id is not None else []
        if old_aliases != item.data.aliases:
            alias_changes.append((item, old_aliases))
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    _persist(session, Actor, items, values, changed)  # renames land before alias rows move
    stale = [item.id for item, old in alias_changes if old]
    if stale:
        session.execute(sa.delete(ActorAlias).where(any_of(col(ActorAlias.actor_id), stale)))
    aliases = [
        {"actor_id": item.id, "alias": alias, "alias_key": fold(alias), "position": position}
        for item, _ in alias_changes
        for position, alias in enumerate(item.data.aliases)
    ]
    if aliases:
        bulk_insert(session, ActorAlias.__table__, aliases)  # type: ignore[attr-defined]
    _record(session, "actors", items)


def _check_aliases(session: Session, items: Sequence[Item[Actor, ActorCreate]]) -> None:
    """An alias identifies exactly one actor and is no other actor's name (nor the reverse)."""
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
                    f"alias {alias!r} also names another actor in this request",
                    conflict=True,
                )
            alias_keys[key] = index
    if alias_keys:
        for key, actor_id in session.execute(
            sa.select(col(ActorAlias.alias_key), col(ActorAlias.actor_id)).where(
                any_of(col(ActorAlias.alias_key), list(alias_keys))
            )
        ):
            index = alias_keys[key]
            if actor_id != own_id[index] and actor_id not in own_id.values():
                raise RecordError(
                    index,
                    "aliases",
                    f"alias {key!r} already identifies actor {actor_id}",
                    conflict=True,
                )
        for key, name_owner in session.execute(
            sa.select(col(Actor.name_key), col(Actor.id)).where(any_of(col(Actor.name_key), list(alias_keys)))
        ).tuples():
            actor_id = int(name_owner or 0)
            index = alias_keys[key]
            if actor_id != own_id[index] and actor_id not in own_id.values():
                raise RecordError(
                    index,
                    "aliases",
                    f"alias {key!r} is the name of actor {actor_id}",
                    conflict=True,
                )
    for key, actor_id in session.execute(
        sa.select(col(ActorAlias.alias_key), col(ActorAlias.actor_id)).where(
            any_of(col(ActorAlias.alias_key), list(name_keys))
        )
    ):
        index = name_keys[key]
        if actor_id != own_id[index] and actor_id not in own_id.values():
            raise RecordError(
                index,
                "name",
                f"name {items[index].data.name!r} is an alias of actor {actor_id}",
                conflict=True,
            )


def _check_no_cycles(session: Session, items: Sequence[Item[Actor, ActorCreate]]) -> None:
    """Walk up from each new parent; meeting the actor itself would close a loop."""
    parents = {item.row.id: item.data.parent_id for item in items if item.row is not None}
    for index, item in enumerate(items):
        if item.row is None or item.data.parent_id is None:
            continue
        if item.data.parent_id == item.row.id:
            raise RecordError(index, "parent_id", "an actor cannot be its own parent", conflict=True)
        if item.data.parent_id == item.row.parent_id and item.row.id not in parents.values():
            continue
        seen: set[int] = set()
        cursor: int | None = item.data.parent_id
        while cursor is not None and cursor not in seen:
            if cursor == item.row.id:
                raise RecordError(
                    index,
                    "parent_id",
                    f"parent {item.data.parent_id} is below actor {item.row.id}: that would make a cycle",
                    conflict=True,
                )
            seen.add(cursor)
            cursor = (
                parents[cursor]
                if cursor in parents
                else session.scalar(sa.select(col(Actor.parent_id)).where(col(Actor.id) == cursor))
            )


# --- events ------------------------------------------------------------------------------------

EVENT_LINK_FIELDS = ("actors", "citations")


def save_events(session: Session, items: Sequence[Item[Event, EventCreate]]) -> None:
    _check_refs(session, Event, items)
    _require(session, Actor, items, "actors", lambda d: [a.actor_id for a in d.actors], "actor")
    _require(
        session,
        Document,
        items,
        "citations",
        lambda d: [c.document_id for c in d.citations],
        "document",
    )
    stored_ids = [item.row.id for item in items if item.row is not None]
    links: dict[int, list[tuple[int, str]]] = {}
    cites: dict[int, list[tuple[int, int, str | None]]] = {}
    if stored_ids:
        for event_id, actor_id, role in session.execute(
            sa.select(col(EventActor.event_id), col(EventActor.actor_id), col(EventActor.role))
            .where(any_of(col(EventActor.event_id), stored_ids))
            .order_by(col(EventActor.event_id), col(EventActor.position))
        ):
            links.setdefault(event_id, []).append((actor_id, role))
        for event_id, document_id, credibility, excerpt in session.execute(
            sa.select(
                col(Citation.event_id),
                col(Citation.document_id),
                col(Citation.credibility),
                col(Citation.excerpt),
            )
            .where(any_of(col(Citation.event_id), stored_ids))
            .order_by(col(Citation.event_id), col(Citation.position), col(Citation.id))
        ):
            cites.setdefault(event_id, []).append((document_id, credibility, excerpt))
    values, changed = [], []
    relink: list[Item[Event, EventCreate]] = []
    recite: list[Item[Event, EventCreate]] = []
    for item in items:
        row_values = _columns(item.data, exclude=set(EVENT_LINK_FIELDS))
        did_change = _differs(item.row, row_values)
        new_links = [(a.actor_id, a.role.value) for a in item.data.actors]
        new_cites = [(c.document_id, c.credibility, c.excerpt) for c in item.data.citations]
        if links.get(item.id or 0, []) != new_links:
            relink.append(item)
            did_change = True
        if cites.get(item.id or 0, []) != new_cites:
            recite.append(item)
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    _persist(session, Event, items, values, changed)
    stale_links = [i.id for i in relink if i.id in links]
    if stale_links:
        session.execute(sa.delete(EventActor).where(any_of(col(EventActor.event_id), stale_links)))
    stale_cites = [i.id for i in recite if i.id in cites]
    if stale_cites:
        session.execute(sa.delete(Citation).where(any_of(col(Citation.event_id), stale_cites)))
    link_rows = [
        {"event_id": i.id, "actor_id": a.actor_id, "role": a.role.value, "position": n}
        for i in relink
        for n, a in enumerate(i.data.actors)
    ]
    if link_rows:
        bulk_insert(session, EventActor.__table__, link_rows)  # type: ignore[attr-defined]
    cite_rows = [
        {
            "event_id": i.id,
            "document_id": c.document_id,
            "credibility": c.credibility,
            "excerpt": c.excerpt,
            "position": n,
        }
        for i in recite
        for n, c in enumerate(i.data.citations)
    ]
    if cite_rows:
        bulk_insert(session, Citation.__table__, cite_rows)  # type: ignore[attr-defined]
    _record(session, "events", items)


# --- statements --------------------------------------------------------------------------------


def save_statements(session: Session, items: Sequence[Item[Statement, StatementCreate]]) -> None:
    _check_refs(session, Statement, items)
    _require(session, Actor, items, "speaker_id", lambda d: [d.speaker_id], "actor")
    _require(session, Actor, items, "mentions", lambda d: d.mentions, "actor")
    _require(
        session,
        Event,
        items,
        "event_id",
        lambda d: [d.event_id] if d.event_id is not None else [],
        "event",
    )
    _require(
        session,
        Document,
        items,
        "document_id",
        lambda d: [d.document_id] if d.document_id is not None else [],
        "document",
    )
    stored_ids = [item.row.id for item in items if item.row is not None]
    mentions: dict[int, list[int]] = {}
    if stored_ids:
        for statement_id, actor_id in session.execute(
            sa.select(col(StatementMention.statement_id), col(StatementMention.actor_id))
            .where(any_of(col(StatementMention.statement_id), stored_ids))
            .order_by(col(StatementMention.statement_id), col(StatementMention.position))
        ):
            mentions.setdefault(statement_id, []).append(actor_id)
    values, changed = [], []
    remention: list[Item[Statement, StatementCreate]] = []
    for item in items:
        row_values = _columns(item.data, exclude={"mentions"})
        did_change = _differs(item.row, row_values)
        if mentions.get(item.id or 0, []) != item.data.mentions:
            remention.append(item)
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    _persist(session, Statement, items, values, changed)
    stale = [i.id for i in remention if i.id in mentions]
    if stale:
        session.execute(sa.delete(StatementMention).where(any_of(col(StatementMention.statement_id), stale)))
    rows = [
        {"statement_id": i.id, "actor_id": actor_id, "position": n}
        for i in remention
        for n, actor_id in enumerate(i.data.mentions)
    ]
    if rows:
        bulk_insert(session, StatementMention.__table__, rows)  # type: ignore[attr-defined]
    _record(session, "statements", items)

"""Create, update and delete one row through the same batch rules the loader uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.errors import APIError, Conflict, NotFound, ValidationFailed
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
from app.queries import views
from app.schemas.common import error_loc
from app.schemas.resources import (
    ActorCreate,
    DocumentCreate,
    EventCreate,
    SourceCreate,
    StatementCreate,
)
from app.services import records
from app.services.changes import record_change
from app.services.records import Item, RecordError


@dataclass(frozen=True)
class Blocker:
    """Rows elsewhere that keep a row from being deleted."""

    what: str
    count: Callable[[Session, int], int]


def _counter(column: Any) -> Callable[[Session, int], int]:
    def count(session: Session, row_id: int) -> int:
        return int(session.scalar(sa.select(sa.func.count()).where(column == row_id)) or 0)

    return count


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    singular: str
    model: Any
    create: type[BaseModel]
    save: Callable[[Session, Sequence[Any]], None]
    view: Callable[[Session, Sequence[Any]], list[Any]]
    owned: Callable[[Session, Any], dict[str, Any]]
    blockers: tuple[Blocker, ...]
    owned_by: tuple[Any, ...] = ()  # the owner-id column of each table of owned rows


def _aliases(session: Session, row: Actor) -> dict[str, Any]:
    assert row.id is not None
    return {"aliases": views.aliases_of(session, [row.id])[row.id]}


def _event_links(session: Session, row: Event) -> dict[str, Any]:
    actors = session.execute(
        sa.select(col(EventActor.actor_id), col(EventActor.role))
        .where(col(EventActor.event_id) == row.id)
        .order_by(col(EventActor.position))
    ).all()
    citations = session.execute(
        sa.select(col(Citation.document_id), col(Citation.credibility), col(Citation.excerpt))
        .where(col(Citation.event_id) == row.id)
        .order_by(col(Citation.position), col(Citation.id))
    ).all()
    return {
        "actors": [{"actor_id": a.actor_id, "role": a.role} for a in actors],
        "citations": [dict(c._mapping) for c in citations],
    }


def _mentions(session: Session, row: Statement) -> dict[str, Any]:
    return {
        "mentions": list(
            session.scalars(
                sa.select(col(StatementMention.actor_id))
                .where(col(StatementMention.statement_id) == row.id)
                .order_by(col(StatementMention.position))
            )
        )
    }


def _nothing(_: Session, __: Any) -> dict[str, Any]:
    return {}


SOURCES = ResourceSpec(
    "sources",
    "source",
    Source,
    SourceCreate,
    records.save_sources,
    views.sources_out,
    _nothing,
    (Blocker("documents", _counter(col(Document.source_id))),),
)
DOCUMENTS = ResourceSpec(
    "documents",
    "document",
    Document,
    DocumentCreate,
    records.save_documents,
    views.documents_out,
    _nothing,
    (
        Blocker("event citations", _counter(col(Citation.document_id))),
        Blocker("statements", _counter(col(Statement.document_id))),
    ),
)
ACTORS = ResourceSpec(
    "actors",
    "actor",
    Actor,
    ActorCreate,
    records.save_actors,
    views.actors_out,
    _aliases,
    (
        Blocker("events", _counter(col(EventActor.actor_id))),
        Blocker("statements as speaker", _counter(col(Statement.speaker_id))),
        Blocker("statements as mention", _counter(col(StatementMention.actor_id))),
        Blocker("child actors", _counter(col(Actor.parent_id))),
    ),
    (col(ActorAlias.actor_id),),
)
EVENTS = ResourceSpec(
    "events",
    "event",
    Event,
    EventCreate,
    records.save_events,
    views.events_out,
    _event_links,
    (Blocker("statements", _counter(col(Statement.event_id))),),
    (col(EventActor.event_id), col(Citation.event_id)),
)
STATEMENTS = ResourceSpec(
    "statements",
    "statement",
    Statement,
    StatementCreate,
    records.save_statements,
    views.statements_out,
    _mentions,
    (),
    (col(StatementMention.statement_id),),
)


def get_row(session: Session, spec: ResourceSpec, row_id: int, *, lock: bool = False) -> Any:
    """The row or a 404; `lock` holds it until commit so concurrent writers queue up."""
    row = session.get(spec.model, row_id, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"no {spec.singular} with id {row_id}")
    return row


def read_form(session: Session, spec: ResourceSpec, row: Any) -> BaseModel:
    if spec is ACTORS:
        return views.actor_detail(session, row)
    return spec.view(session, [row])[0]


def _as_api_error(exc: RecordError) -> APIError:
    if exc.conflict:
        return Conflict(exc.message, errors=[{"loc": ["body", exc.field], "msg": exc.message}])
    return ValidationFailed(exc.message, loc=["body", exc.field])


def _save_one(session: Session, spec: ResourceSpec, row: Any, data: BaseModel) -> Any:
    item: Item[Any, Any] = Item(row, data)
    try:
        spec.save(session, [item])
    except RecordError as exc:
        raise _as_api_error(exc) from None
    return session.get(spec.model, item.id, populate_existing=True)


def create(session: Session, spec: ResourceSpec, data: BaseModel) -> Any:
    return _save_one(session, spec, None, data)


def stored_input(session: Session, spec: ResourceSpec, row: Any) -> dict[str, Any]:
    """The row as its create payload: the base a PATCH is merged onto."""
    owned = spec.owned(session, row)
    columns = {name: getattr(row, name) for name in spec.create.model_fields if name not in owned}
    return {**columns, **owned}


def update(session: Session, spec: ResourceSpec, row: Any, changes: dict[str, Any]) -> Any:
    """Apply the sent fields and judge the row as it would be after the change."""
    merged = {**stored_input(session, spec, row), **changes}
    try:
        data = spec.create.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ["body", *error_loc(first)]
        where = ".".join(loc[1:])
        raise ValidationFailed(
            f"{where}: {first['msg']}" if where else first["msg"], loc=loc, msg=first["msg"]
        ) from None
    return _save_one(session, spec, row, data)


def delete(session: Session, spec: ResourceSpec, row: Any) -> None:
    """Delete a row nothing else refers to; rows it owns go with it."""
    for blocker in spec.blockers:
        count = blocker.count(session, row.id)
        if count:
            raise Conflict(
                f"{spec.singular} {row.id} is still referred to by {count} "
                f"{blocker.what}; remove those references first"
            )
    for owner in spec.owned_by:
        session.execute(sa.delete(owner.table).where(owner == row.id))
    record_change(session, spec.name, row.id, row.ref, "delete")
    session.delete(row)
    session.flush()

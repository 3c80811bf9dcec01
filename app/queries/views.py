"""Read forms: rows plus what they embed, loaded for a whole page in a few queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.base import any_of
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
from app.schemas.resources import (
    ActorBrief,
    ActorDetail,
    ActorOut,
    CitationOut,
    DocumentOut,
    EventActorOut,
    EventOut,
    SourceBrief,
    SourceOut,
    StatementOut,
)

ROW_FIELDS = ("id", "ref", "created_at", "updated_at")


def _columns(row: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def sources_out(_: Session, rows: Sequence[Source]) -> list[SourceOut]:
    names = (*ROW_FIELDS, "name", "kind", "country", "url", "reliability", "description")
    return [SourceOut(**_columns(row, names)) for row in rows]


def documents_out(session: Session, rows: Sequence[Document]) -> list[DocumentOut]:
    source_ids = {row.source_id for row in rows}
    sources = (
        {
            s.id: SourceBrief(id=s.id, name=s.name, reliability=s.reliability)
            for s in session.execute(
                sa.select(col(Source.id), col(Source.name), col(Source.reliability)).where(
                    any_of(col(Source.id), source_ids)
                )
            )
        }
        if source_ids
        else {}
    )
    names = (*ROW_FIELDS, "source_id", "title", "url", "published_on", "language")
    return [DocumentOut(**_columns(row, names), source=sources[row.source_id]) for row in rows]


def aliases_of(session: Session, actor_ids: Sequence[int]) -> dict[int, list[str]]:
    aliases: dict[int, list[str]] = defaultdict(list)
    if actor_ids:
        for actor_id, alias in session.execute(
            sa.select(col(ActorAlias.actor_id), col(ActorAlias.alias))
            .where(any_of(col(ActorAlias.actor_id), actor_ids))
            .order_by(col(ActorAlias.actor_id), col(ActorAlias.position), col(ActorAlias.id))
        ):
            aliases[actor_id].append(alias)
    return aliases


ACTOR_FIELDS = (*ROW_FIELDS, "name", "kind", "country", "parent_id", "description")


def actors_out(session: Session, rows: Sequence[Actor]) -> list[ActorOut]:
    aliases = aliases_of(session, [row.id for row in rows if row.id is not None])
    return [ActorOut(**_columns(row, ACTOR_FIELDS), aliases=aliases[row.id or 0]) for row in rows]


def actor_detail(session: Session, row: Actor) -> ActorDetail:
    assert row.id is not None
    parent = None
    if row.parent_id is not None:
        parent_row = session.get(Actor, row.parent_id)
        if parent_row is not None and parent_row.id is not None:
            parent = ActorBrief(id=parent_row.id, name=parent_row.name)
    children = [
        ActorBrief(id=child_id, name=name)
        for child_id, name in session.execute(
            sa.select(col(Actor.id), col(Actor.name))
            .where(col(Actor.parent_id) == row.id)
            .order_by(col(Actor.name_key), col(Actor.id))
        )
    ]
    return ActorDetail(
        **_columns(row, ACTOR_FIELDS),
        aliases=aliases_of(session, [row.id])[row.id],
        parent=parent,
        children=children,
    )


EVENT_FIELDS = (
    *ROW_FIELDS,
    "title",
    "type",
    "start_date",
    "end_date",
    "date_precision",
    "country",
    "admin1",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "description",
    "fatalities_low",
    "fatalities_best",
    "fatalities_high",
)


def events_out(session: Session, rows: Sequence[Event]) -> list[EventOut]:
    ids = [row.id for row in rows]
    links: dict[int, list[EventActorOut]] = defaultdict(list)
    citations: dict[int, list[CitationOut]] = defaultdict(list)
    if ids:
        for event_id, actor_id, role, name in session.execute(
            sa.select(
                col(EventActor.event_id),
                col(EventActor.actor_id),
                col(EventActor.role),
                col(Actor.name),
            )
            .join(Actor, col(Actor.id) == col(EventActor.actor_id))
            .where(any_of(col(EventActor.event_id), ids))
            .order_by(col(EventActor.event_id), col(EventActor.position), col(EventActor.actor_id))
        ):
            links[event_id].append(EventActorOut(actor_id=actor_id, role=role, name=name))
        cite: Any
        for cite in session.execute(
            sa.select(
                col(Citation.event_id),
                col(Citation.document_id),
                col(Citation.credibility),
                col(Citation.excerpt),
                col(Source.id).label("source_id"),
                col(Source.name).label("source_name"),
                col(Source.reliability),
                col(Document.url),
            )
            .join(Document, col(Document.id) == col(Citation.document_id))
            .join(Source, col(Source.id) == col(Document.source_id))
            .where(any_of(col(Citation.event_id), ids))
            .order_by(col(Citation.event_id), col(Citation.position), col(Citation.id))
        ):
            citations[cite.event_id].append(
                CitationOut(
                    document_id=cite.document_id,
                    credibility=cite.credibility,
                    excerpt=cite.excerpt,
                    source_id=cite.source_id,
                    source_name=cite.source_name,
                    reliability=cite.reliability,
                    url=cite.url,
                )
            )
    out = []
    for row in rows:
        cited = citations[row.id or 0]
        out.append(
            EventOut(
                **_columns(row, EVENT_FIELDS),
                actors=links[row.id or 0],
                citations=cited,
                source_count=len({c.source_id for c in cited}),
                best_reliability=min((c.reliability for c in cited), default=None),
            )
        )
    return out


STATEMENT_FIELDS = (
    *ROW_FIELDS,
    "speaker_id",
    "event_id",
    "document_id",
    "stated_on",
    "kind",
    "text",
    "is_quote",
    "credibility",
    "measure",
    "value_low",
    "value_best",
    "value_high",
    "unit",
)


def statements_out(session: Session, rows: Sequence[Statement]) -> list[StatementOut]:
    ids = [row.id for row in rows]
    actor_ids = {row.speaker_id for row in rows}
    mentions: dict[int, list[int]] = defaultdict(list)
    if ids:
        for statement_id, actor_id in session.execute(
            sa.select(col(StatementMention.statement_id), col(StatementMention.actor_id))
            .where(any_of(col(StatementMention.statement_id), ids))
            .order_by(
                col(StatementMention.statement_id),
                col(StatementMention.position),
                col(StatementMention.actor_id),
            )
        ):
            mentions[statement_id].append(actor_id)
            actor_ids.add(actor_id)
    names = (
        dict(
            session.execute(sa.select(col(Actor.id), col(Actor.name)).where(any_of(col(Actor.id), actor_ids)))
            .tuples()
            .all()
        )
        if actor_ids
        else {}
    )
    document_ids = {row.document_id for row in rows if row.document_id is not None}
    grades = (
        dict(
            session.execute(
                sa.select(col(Document.id), col(Source.reliability))
                .join(Source, col(Source.id) == col(Document.source_id))
                .where(any_of(col(Document.id), document_ids))
            )
            .tuples()
            .all()
        )
        if document_ids
        else {}
    )
    return [
        StatementOut(
            **_columns(row, STATEMENT_FIELDS),
            speaker=ActorBrief(id=row.speaker_id, name=names[row.speaker_id]),
            mentions=[ActorBrief(id=a, name=names[a]) for a in mentions[row.id or 0]],
            reliability=grades.get(row.document_id) if row.document_id is not None else None,
        )
        for row in rows
    ]

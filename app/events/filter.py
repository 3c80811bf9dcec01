"""The event filter: lists, exports, timelines and facets all start from it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import (
    Field,
    field_validator,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.filter import ActorScopeFilter, actor_scope_ids
from app.core.enums import (
    ActorRole,
    EventType,
)
from app.db.base import contains_ci
from app.events.model import Citation, Event, EventActor
from app.kit.filters import BaseFilter, DateRange, Text, refs_in
from app.kit.schemas import CountryCode, Credibility, Grade
from app.sources.filter import SourceScopeFilter
from app.sources.model import Document, Source


class EventFilter(BaseFilter, DateRange, ActorScopeFilter, SourceScopeFilter):
    role: list[ActorRole] = Field(default_factory=list, description="Narrow the actor filter to these roles.")
    type: list[EventType] = Field(
        default_factory=list,
        description="Event types (repeatable: any of them).",
        examples=[["military_exercise"]],
    )
    country: list[CountryCode] = Field(
        default_factory=list,
        description="ISO 3166-1 alpha-2 codes, any case (repeatable).",
        examples=[["BY"]],
    )
    min_reliability: Grade | None = Field(
        default=None, description="Citations from sources graded this or better qualify."
    )
    min_credibility: Credibility | None = Field(
        default=None, description="Citations graded this credible or better qualify."
    )
    min_sources: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="At least this many distinct sources among the qualifying citations.",
    )
    q: Text | None = Field(
        default=None,
        max_length=500,
        description="Case-insensitive substring of title or description.",
    )
    bbox: str | None = Field(
        default=None,
        description="min_lon,min_lat,max_lon,max_lat; edges included.",
        examples=["23.1,51.2,32.8,56.2"],
    )
    contested: bool | None = Field(
        default=None, description="Events whose quantitative claims contradict each other."
    )

    @field_validator("bbox")
    @classmethod
    def valid_bbox(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bbox(value)
        return value


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    parts = value.split(",")
    if len(parts) != 4:
        raise ValueError("bbox must be min_lon,min_lat,max_lon,max_lat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in parts)
    except ValueError:
        raise ValueError("bbox values must be numbers") from None
    for name, number, limit in (
        ("min_lon", min_lon, 180),
        ("max_lon", max_lon, 180),
        ("min_lat", min_lat, 90),
        ("max_lat", max_lat, 90),
    ):
        if not -limit <= number <= limit:  # also rejects nan
            raise ValueError(f"bbox {name} must lie within ±{limit}")
    if min_lon > max_lon or min_lat > max_lat:
        raise ValueError("bbox minimum above its maximum")
    return min_lon, min_lat, max_lon, max_lat


def apply_event_filter(session: Session, stmt: Select[Any], f: EventFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(refs_in(col(Event.ref), f.ref))
    if f.has_actor_filter:
        # IN, not a correlated EXISTS: SQLite can then find the events from the actors' side
        # (ix_event_actor_actor_id_role_event_id) instead of testing every event in turn.
        links = sa.select(col(EventActor.event_id)).where(
            col(EventActor.actor_id).in_(actor_scope_ids(session, f))
        )
        if f.role:
            links = links.where(col(EventActor.role).in_([r.value for r in f.role]))
        stmt = stmt.where(col(Event.id).in_(links))
    if f.date_from:
        stmt = stmt.where(col(Event.end_date) >= f.date_from)
    if f.date_to:
        stmt = stmt.where(col(Event.start_date) <= f.date_to)
    if f.type:
        stmt = stmt.where(col(Event.type).in_([t.value for t in f.type]))
    if f.country:
        stmt = stmt.where(col(Event.country).in_(f.country))
    if f.source:
        cited = sa.select(col(Citation.event_id)).where(
            col(Citation.document_id).in_(f.documents_of_sources(session))
        )
        stmt = stmt.where(col(Event.id).in_(cited))
    if f.min_reliability or f.min_credibility or f.min_sources:
        stmt = stmt.where(_qualified_sources(f) >= (f.min_sources or 1))
    if f.q:
        stmt = stmt.where(
            sa.or_(contains_ci(col(Event.title), f.q), contains_ci(col(Event.description), f.q))
        )
    if f.bbox:
        min_lon, min_lat, max_lon, max_lat = parse_bbox(f.bbox)
        stmt = stmt.where(
            col(Event.longitude).between(min_lon, max_lon),
            col(Event.latitude).between(min_lat, max_lat),
        )
    if f.contested is not None:
        from app.events.claims import contested_event_ids

        contested = col(Event.id).in_(contested_event_ids())
        stmt = stmt.where(contested if f.contested else sa.not_(contested))
    return stmt


def _qualified_sources(f: EventFilter) -> sa.ScalarSelect[int]:
    """Distinct sources among the event's citations that meet both grades at once ("B2")."""
    qualifying = (
        sa.select(sa.func.count(sa.distinct(col(Document.source_id))))
        .select_from(Citation)
        .join(Document, col(Document.id) == col(Citation.document_id))
        .where(col(Citation.event_id) == col(Event.id))
    )
    if f.min_reliability:
        qualifying = qualifying.join(Source, col(Source.id) == col(Document.source_id)).where(
            col(Source.reliability) <= f.min_reliability.value
        )
    if f.min_credibility:
        qualifying = qualifying.where(col(Citation.credibility) <= f.min_credibility)
    return qualifying.scalar_subquery()

"""One filter model and one `apply_*_filter(session, select, filter)` per resource.

The filter functions add only WHERE clauses; lists, exports, timelines, facets and counts all
start from the statement they return, so every view of "the matching rows" agrees. The session
is there for the one filter that must look something up first: actor names and ids are
resolved (a 422 when one identifies no actor) the first time a filter is applied, and the
answer is kept on the filter, so there is no setup step to forget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Self

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.enums import (
    ActorKind,
    ActorRole,
    EventType,
    SourceKind,
    StatementKind,
    StatementRole,
)
from app.core.errors import ValidationFailed
from app.db.base import contains_ci, fold, unicode_lower
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
from app.schemas.common import CountryCode, Credibility, Grade, Id


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL; such a parameter is malformed, not a database error."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """Only `YYYY-MM-DD`: Pydantic alone would also take `0` (a timestamp) or a midnight datetime."""
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
RefList = Annotated[list[Text], Field(default_factory=list, description="Stable refs (repeatable).")]


class BaseFilter(BaseModel):
    ref: RefList

    def fingerprint(self) -> dict[str, Any]:
        """The filter as plain JSON, for binding cursors to the query they came from."""
        return self.model_dump(mode="json", exclude_defaults=True)


class DateRange(BaseModel):
    date_from: IsoDate | None = Field(default=None, description="Inclusive lower bound.")
    date_to: IsoDate | None = Field(default=None, description="Inclusive upper bound.")

    @model_validator(mode="after")
    def ordered(self) -> Self:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        return self


class ActorScopeFilter(BaseModel):
    """Actor filters shared by events and statements; names are resolved to ids first."""

    actor_id: list[Id] = Field(default_factory=list, description="Actor ids (repeatable).")
    actor: list[Text] = Field(
        default_factory=list,
        description="Actor names or aliases, case-insensitive (repeatable).",
        examples=[["Belarus"]],
    )
    include_descendants: bool = Field(
        default=True, description="Also match every actor below these in the parent tree."
    )
    _actor_ids: list[int] | None = PrivateAttr(default=None)  # see `_resolved_actor_ids`

    @property
    def has_actor_filter(self) -> bool:
        return bool(self.actor_id or self.actor)

    @model_validator(mode="after")
    def role_needs_actor(self) -> Self:
        """`role` (each filter has its own roles) narrows the actor filter; alone it means nothing."""
        if getattr(self, "role", None) and not self.has_actor_filter:
            raise ValueError("role requires actor or actor_id")
        return self


class EventFilter(BaseFilter, DateRange, ActorScopeFilter):
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


class StatementFilter(BaseFilter, DateRange, ActorScopeFilter):
    role: list[StatementRole] = Field(
        default_factory=list, description="Narrow the actor filter to speaker or mentioned."
    )
    event_id: list[Id] = Field(
        default_factory=list, description="Statements about these events (repeatable)."
    )
    kind: list[StatementKind] = Field(
        default_factory=list, description="Statement kinds (repeatable).", examples=[["claim"]]
    )
    measure: list[Text] = Field(
        default_factory=list,
        description="What a claimed figure counts, case-insensitive (repeatable).",
        examples=[["personnel"]],
    )
    min_reliability: Grade | None = Field(
        default=None, description="The document's source is graded this or better."
    )
    min_credibility: Credibility | None = Field(
        default=None, description="The statement's own credibility is this or better (1 best)."
    )
    q: Text | None = Field(
        default=None, max_length=500, description="Case-insensitive substring of the text."
    )


class ActorFilter(BaseFilter):
    q: Text | None = Field(
        default=None,
        max_length=500,
        description="Case-insensitive substring of the name or any alias.",
    )
    kind: list[ActorKind] = Field(
        default_factory=list, description="Actor kinds (repeatable).", examples=[["state"]]
    )
    country: list[CountryCode] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes, any case (repeatable)."
    )
    parent_id: list[Id] = Field(
        default_factory=list, description="Direct children of these actors (repeatable)."
    )


class SourceFilter(BaseFilter):
    q: Text | None = Field(
        default=None, max_length=500, description="Case-insensitive substring of the name."
    )
    kind: list[SourceKind] = Field(
        default_factory=list, description="Source kinds (repeatable).", examples=[["government"]]
    )
    country: list[CountryCode] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes, any case (repeatable)."
    )
    min_reliability: Grade | None = Field(
        default=None, description="Graded this or better (A best … F), any case."
    )


class DocumentFilter(BaseFilter, DateRange):
    source_id: list[Id] = Field(default_factory=list, description="Documents of these sources (repeatable).")
    q: Text | None = Field(
        default=None, max_length=500, description="Case-insensitive substring of the title."
    )


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


# --- actor resolution --------------------------------------------------------------------------


def _resolved_actor_ids(session: Session, scope: ActorScopeFilter) -> list[int]:
    """The ids `actor_id`/`actor` name, looked up once per filter; an id or name that identifies
    no actor is a 422."""
    if scope._actor_ids is not None:
        return scope._actor_ids
    ids: set[int] = set()
    if scope.actor_id:
        found = set(session.scalars(sa.select(col(Actor.id)).where(col(Actor.id).in_(scope.actor_id))))
        missing = [i for i in scope.actor_id if i not in found]
        if missing:
            raise ValidationFailed(f"actor_id {missing[0]} identifies no actor", loc=["query", "actor_id"])
        ids |= {i for i in found if i is not None}
    for name in scope.actor:
        key = fold(name.strip())
        actor_id = session.scalar(sa.select(col(Actor.id)).where(col(Actor.name_key) == key))
        if actor_id is None:
            actor_id = session.scalar(
                sa.select(col(ActorAlias.actor_id)).where(col(ActorAlias.alias_key) == key)
            )
        if actor_id is None:
            raise ValidationFailed(f"actor {name!r} identifies no actor", loc=["query", "actor"])
        ids.add(actor_id)
    scope._actor_ids = sorted(ids)
    return scope._actor_ids


def actor_scope_ids(session: Session, scope: ActorScopeFilter) -> Any:
    """The actors the filter names, and with `include_descendants` everything below them."""
    ids = _resolved_actor_ids(session, scope)
    if not scope.include_descendants:
        return sa.select(col(Actor.id)).where(col(Actor.id).in_(ids))
    tree = sa.select(col(Actor.id)).where(col(Actor.id).in_(ids)).cte("actor_scope", recursive=True)
    below = sa.select(col(Actor.id)).join(tree, col(Actor.parent_id) == tree.c.id)
    tree = tree.union(below)
    return sa.select(tree.c.id)


# --- the filters -------------------------------------------------------------------------------


def _refs(column: Any, refs: Sequence[str]) -> Any:
    return column.in_([ref.strip() for ref in refs])


def apply_event_filter(session: Session, stmt: Select[Any], f: EventFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(_refs(col(Event.ref), f.ref))
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
        from app.queries.claims import contested_event_ids

        contested = col(Event.id).in_(contested_event_ids())
        stmt = stmt.where(contested if f.contested else sa.not_(contested))
    return stmt


def _qualified_sources(f: EventFilter) -> Any:
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


def apply_statement_filter(session: Session, stmt: Select[Any], f: StatementFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(_refs(col(Statement.ref), f.ref))
    if f.has_actor_filter:
        scope = actor_scope_ids(session, f)
        roles = set(f.role) or {StatementRole.speaker, StatementRole.mentioned}
        matches: list[Any] = []
        if StatementRole.speaker in roles:
            matches.append(col(Statement.speaker_id).in_(scope))
        if StatementRole.mentioned in roles:
            matches.append(
                sa.select(col(StatementMention.statement_id))
                .where(
                    col(StatementMention.statement_id) == col(Statement.id),
                    col(StatementMention.actor_id).in_(scope),
                )
                .exists()
            )
        stmt = stmt.where(sa.or_(*matches))
    if f.event_id:
        stmt = stmt.where(col(Statement.event_id).in_(f.event_id))
    if f.kind:
        stmt = stmt.where(col(Statement.kind).in_([k.value for k in f.kind]))
    if f.measure:
        stmt = stmt.where(unicode_lower(col(Statement.measure)).in_([m.lower() for m in f.measure]))
    if f.date_from:
        stmt = stmt.where(col(Statement.stated_on) >= f.date_from)
    if f.date_to:
        stmt = stmt.where(col(Statement.stated_on) <= f.date_to)
    if f.min_reliability:
        graded = (
            sa.select(col(Document.id))
            .join(Source, col(Source.id) == col(Document.source_id))
            .where(
                col(Document.id) == col(Statement.document_id),
                col(Source.reliability) <= f.min_reliability.value,
            )
        )
        stmt = stmt.where(graded.exists())
    if f.min_credibility:
        stmt = stmt.where(col(Statement.credibility) <= f.min_credibility)
    if f.q:
        stmt = stmt.where(contains_ci(col(Statement.text), f.q))
    return stmt


def apply_actor_filter(session: Session, stmt: Select[Any], f: ActorFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(_refs(col(Actor.ref), f.ref))
    if f.q:
        alias_match = (
            sa.select(col(ActorAlias.id))
            .where(col(ActorAlias.actor_id) == col(Actor.id), contains_ci(col(ActorAlias.alias), f.q))
            .exists()
        )
        stmt = stmt.where(sa.or_(contains_ci(col(Actor.name), f.q), alias_match))
    if f.kind:
        stmt = stmt.where(col(Actor.kind).in_([k.value for k in f.kind]))
    if f.country:
        stmt = stmt.where(col(Actor.country).in_(f.country))
    if f.parent_id:
        stmt = stmt.where(col(Actor.parent_id).in_(f.parent_id))
    return stmt


def apply_source_filter(session: Session, stmt: Select[Any], f: SourceFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(_refs(col(Source.ref), f.ref))
    if f.q:
        stmt = stmt.where(contains_ci(col(Source.name), f.q))
    if f.kind:
        stmt = stmt.where(col(Source.kind).in_([k.value for k in f.kind]))
    if f.country:
        stmt = stmt.where(col(Source.country).in_(f.country))
    if f.min_reliability:
        stmt = stmt.where(col(Source.reliability) <= f.min_reliability.value)
    return stmt


def apply_document_filter(session: Session, stmt: Select[Any], f: DocumentFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(_refs(col(Document.ref), f.ref))
    if f.source_id:
        stmt = stmt.where(col(Document.source_id).in_(f.source_id))
    if f.date_from:
        stmt = stmt.where(col(Document.published_on) >= f.date_from)
    if f.date_to:
        stmt = stmt.where(col(Document.published_on) <= f.date_to)
    if f.q:
        stmt = stmt.where(contains_ci(col(Document.title), f.q))
    return stmt

"""Quantitative claims about an event, and which events' claims contradict each other.

A claim's range runs from its lowest to its highest given value; two claims contradict when
their ranges do not overlap (13,000 against 100,000–150,000). Across a group of claims that is
the case exactly when the largest claim minimum exceeds the smallest claim maximum. Claims are
grouped by measure and unit: figures in different units are not compared.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.model import Actor
from app.actors.schemas import ActorBrief
from app.core.enums import Reliability
from app.sources.model import Document, Source
from app.statements.model import Statement


def _claim_low() -> sa.ColumnElement[float | None]:
    return sa.func.coalesce(col(Statement.value_low), col(Statement.value_best), col(Statement.value_high))


def _claim_high() -> sa.ColumnElement[float | None]:
    return sa.func.coalesce(col(Statement.value_high), col(Statement.value_best), col(Statement.value_low))


def _is_claim() -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Statement.event_id).is_not(None),
        col(Statement.measure).is_not(None),
        _claim_low().is_not(None),
    )


def _contested() -> sa.ColumnElement[bool]:
    """Over a group of claims: do they fail to overlap? The one definition of "contested", for
    the `contested` filter and the claims answer alike."""
    return sa.func.max(_claim_low()) > sa.func.min(_claim_high())


def contested_event_ids() -> sa.Select[int | None]:
    """Events with a measure whose claims do not all overlap (a subquery of ids)."""
    return (
        sa.select(col(Statement.event_id))
        .where(_is_claim())
        .group_by(col(Statement.event_id), col(Statement.measure), col(Statement.unit))
        .having(_contested())
    )


class SourceRef(BaseModel):
    id: int = Field(description="The source's id.")
    name: str = Field(description="The source's name.")


class Claim(BaseModel):
    statement_id: int = Field(description="Id of the statement that makes the claim.")
    speaker: ActorBrief = Field(description="The actor who made it.")
    source: SourceRef | None = Field(
        description="The source of the statement's document; null for a statement without one."
    )
    reliability: Reliability | None = Field(
        description="That source's grade, A (completely reliable) … F (cannot be judged); null without one."
    )
    credibility: int = Field(
        description="The statement's information credibility, 1 (confirmed) … 6 (cannot be judged)."
    )
    stated_on: date = Field(description="When it was said.")
    value_low: float | None = Field(description="Lowest value claimed, or null.")
    value_best: float | None = Field(description="The figure claimed, or null.")
    value_high: float | None = Field(description="Highest value claimed, or null.")


class MeasureClaims(BaseModel):
    measure: str = Field(description="What the claims count, e.g. `personnel`.")
    unit: str | None = Field(description="Their unit, or null; claims in other units are another group.")
    low: float = Field(description="The lowest value any of the claims gives.")
    high: float = Field(description="The highest value any of the claims gives.")
    contested: bool = Field(
        description="True when two claims' ranges (each from its lowest to its highest given value) "
        "do not overlap."
    )
    claims: list[Claim] = Field(description="The claims, by the date they were made.")


class EventClaims(BaseModel):
    event_id: int = Field(description="Id of the event.")
    measures: list[MeasureClaims] = Field(description="One group per measure and unit, by measure.")


def event_claims(session: Session, event_id: int) -> EventClaims:
    rows: Any = session.execute(
        sa.select(
            col(Statement.id),
            col(Statement.measure),
            col(Statement.unit),
            col(Statement.credibility),
            col(Statement.stated_on),
            col(Statement.value_low),
            col(Statement.value_best),
            col(Statement.value_high),
            col(Actor.id).label("speaker_id"),
            col(Actor.name).label("speaker_name"),
            col(Source.id).label("source_id"),
            col(Source.name).label("source_name"),
            col(Source.reliability),
        )
        .join(Actor, col(Actor.id) == col(Statement.speaker_id))
        .outerjoin(Document, col(Document.id) == col(Statement.document_id))
        .outerjoin(Source, col(Source.id) == col(Document.source_id))
        .where(col(Statement.event_id) == event_id, _is_claim())
        .order_by(col(Statement.measure), col(Statement.stated_on), col(Statement.id))
    ).all()
    groups: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for row in rows:
        groups[(row.measure, row.unit)].append(row)
    ranges = session.execute(
        sa.select(
            col(Statement.measure),
            col(Statement.unit),
            sa.func.min(_claim_low()).label("low"),
            sa.func.max(_claim_high()).label("high"),
            _contested().label("contested"),
        )
        .where(col(Statement.event_id) == event_id, _is_claim())
        .group_by(col(Statement.measure), col(Statement.unit))
    ).all()
    measures = [
        MeasureClaims(
            measure=group.measure,
            unit=group.unit,
            low=group.low,
            high=group.high,
            contested=bool(group.contested),
            claims=[_claim(c) for c in groups[(group.measure, group.unit)]],
        )
        for group in sorted(ranges, key=lambda g: (g.measure, g.unit or ""))
    ]
    return EventClaims(event_id=event_id, measures=measures)


def _claim(row: Any) -> Claim:
    source = SourceRef(id=row.source_id, name=row.source_name) if row.source_id else None
    return Claim(
        statement_id=row.id,
        speaker=ActorBrief(id=row.speaker_id, name=row.speaker_name),
        source=source,
        reliability=row.reliability,
        credibility=row.credibility,
        stated_on=row.stated_on,
        value_low=row.value_low,
        value_best=row.value_best,
        value_high=row.value_high,
    )

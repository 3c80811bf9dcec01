"""Timelines and facets, computed in the database from the one event filter statement."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlmodel import col

from app.core.errors import ValidationFailed
from app.models import Actor, Citation, Document, Event, EventActor, Source
from app.queries.filters import EventFilter, apply_event_filter

MAX_BUCKETS = 100_000


class Interval(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


class GroupBy(StrEnum):
    type = "type"
    country = "country"
    actor = "actor"


class FacetField(StrEnum):
    type = "type"
    country = "country"
    actor = "actor"
    source = "source"


# --- date truncation: the one place where the dialects differ ------------------------------------


class period_start(FunctionElement[Any]):  # reads as the SQL function it becomes
    """The first day of the interval containing a date (weeks start on Monday)."""

    inherit_cache = True

    def __init__(self, interval: Interval, column: Any) -> None:
        self.interval = interval
        super().__init__(column)


@compiles(period_start, "postgresql")
def _period_start_pg(element: period_start, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    if element.interval is Interval.day:
        return f"CAST({column} AS DATE)"
    return f"CAST(date_trunc('{element.interval.value}', {column}) AS DATE)"


@compiles(period_start, "sqlite")
def _period_start_sqlite(element: period_start, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    if element.interval is Interval.week:
        return f"date({column}, '-' || ((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7) || ' days')"
    pattern = {Interval.day: "%Y-%m-%d", Interval.month: "%Y-%m-01", Interval.year: "%Y-01-01"}
    return f"strftime('{pattern[element.interval]}', {column})"


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _step(day: date, interval: Interval) -> date:
    if interval is Interval.day:
        return day + timedelta(days=1)
    if interval is Interval.week:
        return day + timedelta(days=7)
    if interval is Interval.month:
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date(day.year + 1, 1, 1)


def _periods(first: date, last: date, interval: Interval) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current = _step(current, interval)


def _count_periods(first: date, last: date, interval: Interval) -> int:
    if interval is Interval.day:
        return (last - first).days + 1
    if interval is Interval.week:
        return (last - first).days // 7 + 1
    if interval is Interval.month:
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1


# --- timeline ------------------------------------------------------------------------------------


class Bucket(BaseModel):
    period: date
    key: str | None
    events: int
    fatalities_low: int
    fatalities_best: int
    fatalities_high: int


class Timeline(BaseModel):
    interval: Interval
    buckets: list[Bucket]


def timeline(session: Session, f: EventFilter, interval: Interval, group_by: GroupBy | None) -> Timeline:
    columns: Any = sa.select(
        col(Event.id).label("event_id"),
        col(Event.start_date),
        col(Event.type),
        col(Event.country),
        col(Event.fatalities_low),
        col(Event.fatalities_best),
        col(Event.fatalities_high),
    )
    matching = apply_event_filter(columns, f).subquery("matching")
    period = period_start(interval, matching.c.start_date).label("period")
    key: Any = sa.null()
    source: Any = matching
    if group_by is GroupBy.type:
        key = matching.c.type
    elif group_by is GroupBy.country:
        key = matching.c.country
    elif group_by is GroupBy.actor:
        pairs = sa.select(col(EventActor.event_id), col(EventActor.actor_id)).distinct().subquery("pairs")
        source = matching.join(pairs, pairs.c.event_id == matching.c.event_id).join(
            Actor, col(Actor.id) == pairs.c.actor_id
        )
        key = col(Actor.name)
    stmt = sa.select(
        period,
        key.label("key"),
        sa.func.count().label("events"),
        *(
            sa.func.coalesce(sa.func.sum(sa.func.coalesce(matching.c[name], 0)), 0).label(name)
            for name in ("fatalities_low", "fatalities_best", "fatalities_high")
        ),
    ).select_from(source)
    if group_by is not None:
        stmt = stmt.where(key.is_not(None))
        stmt = stmt.group_by(period, key)
    else:
        stmt = stmt.group_by(period)
    found = {(_as_date(row.period), row.key): row for row in session.execute(stmt)}
    return Timeline(interval=interval, buckets=list(_fill(found, interval, group_by is not None)))


def _fill(found: dict[tuple[date, Any], Any], interval: Interval, grouped: bool) -> Iterable[Bucket]:
    """Every period from the first to the last with events; with grouping, every key in each."""
    if not found:
        return []
    periods = [p for p, _ in found]
    first, last = min(periods), max(periods)
    keys = sorted({k for _, k in found}, key=str) if grouped else [None]
    if _count_periods(first, last, interval) * len(keys) > MAX_BUCKETS:
        raise ValidationFailed(
            f"the answer would have more than {MAX_BUCKETS} buckets; use a coarser interval or "
            "narrower filters",
            loc=["query", "interval"],
        )
    buckets = []
    for period in _periods(first, last, interval):
        for key in keys:
            row = found.get((period, key))
            buckets.append(
                Bucket(
                    period=period,
                    key=key,
                    events=row.events if row else 0,
                    fatalities_low=int(row.fatalities_low) if row else 0,
                    fatalities_best=int(row.fatalities_best) if row else 0,
                    fatalities_high=int(row.fatalities_high) if row else 0,
                )
            )
    return buckets


# --- facets --------------------------------------------------------------------------------------


class FacetValue(BaseModel):
    value: str | int
    name: str | None = Field(default=None, exclude_if=lambda name: name is None)
    count: int


class Facets(BaseModel):
    facets: dict[str, list[FacetValue]]


def facets(session: Session, f: EventFilter, fields: list[FacetField], size: int) -> Facets:
    matching = apply_event_filter(sa.select(col(Event.id)), f).subquery("matching")
    result: dict[str, list[FacetValue]] = {}
    for field in dict.fromkeys(fields):
        result[field.value] = _facet(session, matching, field, size)
    return Facets(facets=result)


def _facet(session: Session, matching: Any, field: FacetField, size: int) -> list[FacetValue]:
    count = sa.func.count(sa.distinct(matching.c.id)).label("count")
    stmt: Any
    if field in (FacetField.type, FacetField.country):
        column = col(Event.type) if field is FacetField.type else col(Event.country)
        stmt = (
            sa.select(column.label("value"), count)
            .select_from(matching)
            .join(Event, col(Event.id) == matching.c.id)
            .where(column.is_not(None))
            .group_by(column)
        )
        value_order: Any = column
        rows = session.execute(stmt.order_by(count.desc(), value_order).limit(size))
        return [FacetValue(value=row.value, count=row.count) for row in rows]
    if field is FacetField.actor:
        stmt = (
            sa.select(col(Actor.id).label("value"), col(Actor.name).label("name"), count)
            .select_from(matching)
            .join(EventActor, col(EventActor.event_id) == matching.c.id)
            .join(Actor, col(Actor.id) == col(EventActor.actor_id))
            .group_by(col(Actor.id), col(Actor.name))
        )
        value_order = col(Actor.id)
    else:
        stmt = (
            sa.select(col(Source.id).label("value"), col(Source.name).label("name"), count)
            .select_from(matching)
            .join(Citation, col(Citation.event_id) == matching.c.id)
            .join(Document, col(Document.id) == col(Citation.document_id))
            .join(Source, col(Source.id) == col(Document.source_id))
            .group_by(col(Source.id), col(Source.name))
        )
        value_order = col(Source.id)
    rows = session.execute(stmt.order_by(count.desc(), value_order).limit(size))
    return [FacetValue(value=row.value, name=row.name, count=row.count) for row in rows]

"""Timelines and facets, computed in the database from the one event filter statement."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import col

from app.actors.model import Actor
from app.core.errors import ValidationFailed
from app.events.filter import EventFilter, apply_event_filter
from app.events.model import Citation, Event, EventActor
from app.sources.model import Document, Source

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
    """The first day of the interval containing a date (weeks start on Monday).

    The interval is part of the statement cache key: without it a statement compiled for one
    interval was reused for another of the same shape (a year timeline grouped by month)."""

    inherit_cache = True
    _traverse_internals = [*FunctionElement._traverse_internals, ("interval", InternalTraversal.dp_plain_obj)]

    def __init__(self, interval: Interval, column: sa.SQLColumnExpression[date]) -> None:
        self.interval = interval
        super().__init__(column)


@compiles(period_start, "postgresql")
def _period_start_pg(element: period_start, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    if element.interval is Interval.day:
        return f"CAST({column} AS DATE)"
    # truncated as a timestamp without time zone: a date cast to timestamptz is midnight in the
    # session's time zone, a conversion per row that costs time and can shift with DST rules
    return f"CAST(date_trunc('{element.interval.value}', CAST({column} AS TIMESTAMP)) AS DATE)"


@compiles(period_start, "sqlite")
def _period_start_sqlite(element: period_start, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    if element.interval is Interval.week:
        return f"date({column}, '-' || ((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7) || ' days')"
    pattern = {Interval.day: "%Y-%m-%d", Interval.month: "%Y-%m-01", Interval.year: "%Y-01-01"}
    return f"strftime('{pattern[element.interval]}', {column})"


def _as_date(value: object) -> date:
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
        try:
            current = _step(current, interval)
        except (OverflowError, ValueError):  # the period after one holding 9999-12-31
            return


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
    period: date = Field(description="First day of the bucket's interval (weeks start on Monday).")
    key: str | None = Field(
        description="Null without `group_by`; else the event type, the country code or the actor's name."
    )
    events: int = Field(
        description="Matching events whose `start_date` falls in the period (0 for an empty bucket)."
    )
    fatalities_low: int = Field(description="Sum of those events' `fatalities_low`, a null counting as 0.")
    fatalities_best: int = Field(description="Sum of those events' `fatalities_best`, a null counting as 0.")
    fatalities_high: int = Field(description="Sum of those events' `fatalities_high`, a null counting as 0.")


class Timeline(BaseModel):
    interval: Interval = Field(description="The width of each bucket, as asked for.")
    buckets: list[Bucket] = Field(
        description="Every period from the first to the last that has events, in order; with "
        "`group_by`, one bucket per key in each period."
    )


def timeline(
    session: Session, f: EventFilter, interval: Interval, group_by: GroupBy | None
) -> dict[str, object]:
    """One grouped query straight over the filtered events (no subquery to join back through).

    The answer is the `Timeline` shape as plain dicts: a timeline of thousands of buckets spent
    more time building a model per bucket than the database spent counting."""
    found = {
        (_as_date(row.period), row.key): row
        for row in session.execute(_timeline_query(session, f, interval, group_by))
    }
    return {"interval": interval.value, "buckets": _fill(found, interval, group_by is not None)}


FATALITIES = ("fatalities_low", "fatalities_best", "fatalities_high")


def _sums(column_of: Callable[[str], sa.SQLColumnExpression[int | None]]) -> list[sa.Label[int]]:
    """Fatality sums in which a null counts as 0."""
    return [
        sa.func.coalesce(sa.func.sum(sa.func.coalesce(column_of(name), 0)), 0).label(name)
        for name in FATALITIES
    ]


def _timeline_query(
    session: Session, f: EventFilter, interval: Interval, group_by: GroupBy | None
) -> sa.Select[Any]:
    if group_by is GroupBy.actor:
        # An actor can take part in one event in several roles: count each (event, actor) once.
        # The link is aliased so that an actor filter's own EXISTS over event_actor stays whole.
        link = aliased(EventActor, name="link")
        pairs = (
            apply_event_filter(
                session,
                sa.select(
                    col(link.actor_id),
                    col(Event.id).label("event_id"),
                    col(Event.start_date),
                    *(col(getattr(Event, name)) for name in FATALITIES),
                )
                .select_from(Event)
                .join(link, col(link.event_id) == col(Event.id)),
                f,
            )
            .distinct()
            .subquery("pairs")
        )
        period = period_start(interval, pairs.c.start_date).label("period")
        per_actor = (
            sa.select(
                period, pairs.c.actor_id, sa.func.count().label("events"), *_sums(lambda name: pairs.c[name])
            )
            .group_by(period, pairs.c.actor_id)
            .subquery("per_actor")
        )
        return sa.select(
            per_actor.c.period,
            col(Actor.name).label("key"),
            per_actor.c.events,
            *(per_actor.c[name] for name in FATALITIES),
        ).join(Actor, col(Actor.id) == per_actor.c.actor_id)
    period = period_start(interval, col(Event.start_date)).label("period")
    key: Any = sa.null()
    if group_by is GroupBy.type:
        key = col(Event.type)
    elif group_by is GroupBy.country:
        key = col(Event.country)
    stmt = apply_event_filter(
        session,
        sa.select(
            period,
            key.label("key"),
            sa.func.count().label("events"),
            *_sums(lambda name: col(getattr(Event, name))),
        ),
        f,
    )
    if group_by is None:
        return stmt.group_by(period)
    return stmt.where(key.is_not(None)).group_by(period, key)


def _fill(
    found: dict[tuple[date, object], Any], interval: Interval, grouped: bool
) -> list[dict[str, object]]:
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
            events, low, best, high = (
                (row.events, int(row.fatalities_low), int(row.fatalities_best), int(row.fatalities_high))
                if row
                else (0, 0, 0, 0)
            )
            buckets.append(
                {
                    "period": period,
                    "key": key,
                    "events": events,
                    "fatalities_low": low,
                    "fatalities_best": best,
                    "fatalities_high": high,
                }
            )
    return buckets


# --- facets --------------------------------------------------------------------------------------


class FacetValue(BaseModel):
    value: str | int = Field(description="The event type or country code; for `actor` and `source`, the id.")
    name: str | None = Field(
        default=None,
        exclude_if=lambda name: name is None,
        description="The actor's or source's name; absent for `type` and `country`.",
    )
    count: int = Field(description="Matching events with this value.")


class Facets(BaseModel):
    facets: dict[str, list[FacetValue]] = Field(
        description="For each field asked for, its top values, largest count first (ties by value)."
    )


def facets(session: Session, f: EventFilter, fields: list[FacetField], size: int) -> Facets:
    result: dict[str, list[FacetValue]] = {}
    for field in dict.fromkeys(fields):
        result[field.value] = _facet(session, f, field, size)
    return Facets(facets=result)


def _matching_ids(session: Session, f: EventFilter) -> sa.Select[Any] | None:
    """The ids of the matching events, or None when the filter matches every event."""
    ids: Any = sa.select(col(Event.id))
    stmt = apply_event_filter(session, ids, f)
    return None if stmt.whereclause is None else stmt


def _facet(session: Session, f: EventFilter, field: FacetField, size: int) -> list[FacetValue]:
    """One grouped query per field over the narrowest table that holds the value.

    Type and country are columns of the event itself: a plain count of the filtered events.
    An event can list one actor in several roles, and cite several documents of one source, so
    those two count distinct events, grouped on the link table alone; names are joined to the
    top `size` ids only.
    """
    if field in (FacetField.type, FacetField.country):
        column = col(Event.type) if field is FacetField.type else col(Event.country)
        count = sa.func.count().label("count")
        grouped: Any = sa.select(column.label("value"), count)
        stmt = apply_event_filter(session, grouped, f).where(column.is_not(None)).group_by(column)
        rows = session.execute(stmt.order_by(count.desc(), column).limit(size))
        return [FacetValue(value=row.value, count=row.count) for row in rows]
    matching = _matching_ids(session, f)
    if field is FacetField.actor:
        value = col(EventActor.actor_id)
        event_id = col(EventActor.event_id)
        links: Any = sa.select(value.label("value"), sa.func.count(sa.distinct(event_id)).label("count"))
        named: type[Actor] | type[Source] = Actor
    else:
        value = col(Document.source_id)
        event_id = col(Citation.event_id)
        links = sa.select(value.label("value"), sa.func.count(sa.distinct(event_id)).label("count")).join(
            Document, col(Document.id) == col(Citation.document_id)
        )
        named = Source
    if matching is not None:
        links = links.where(event_id.in_(matching))
    counts = links.group_by(value).order_by(sa.desc("count"), value).limit(size).subquery("counts")
    stmt = (
        sa.select(counts.c.value, col(named.name).label("name"), counts.c.count)
        .join(named, col(named.id) == counts.c.value)
        .order_by(counts.c.count.desc(), counts.c.value)
    )
    return [FacetValue(value=row.value, name=row.name, count=row.count) for row in session.execute(stmt)]

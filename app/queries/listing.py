"""The sort orders of each list and the one function that serves a page of any of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Actor, Document, Event, Source, Statement
from app.queries.pagination import (
    KeysetPage,
    SortKey,
    date_key,
    datetime_key,
    fingerprint,
    int_key,
    keyset_page,
    text_key,
)
from app.queries.views import ReadForm


class EventSort(StrEnum):
    start_date = "start_date"
    start_date_desc = "-start_date"
    fatalities_best = "fatalities_best"
    fatalities_best_desc = "-fatalities_best"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


class StatementSort(StrEnum):
    stated_on = "stated_on"
    stated_on_desc = "-stated_on"


@cache  # one key per sort, so its clauses are built once
def event_sort_key(sort: EventSort) -> SortKey:
    descending = sort.value.startswith("-")
    name = sort.value.lstrip("-")
    if name == "start_date":
        return date_key(col(Event.start_date), col(Event.id), descending)
    if name == "updated_at":
        return datetime_key(col(Event.updated_at), col(Event.id), descending)
    return int_key(col(Event.fatalities_best), col(Event.id), descending, nullable=True)


@cache
def statement_sort_key(sort: StatementSort) -> SortKey:
    return date_key(col(Statement.stated_on), col(Statement.id), sort.value.startswith("-"))


ACTOR_ORDER = text_key(col(Actor.name_key), col(Actor.id))
SOURCE_ORDER = text_key(col(Source.name_key), col(Source.id))
DOCUMENT_ORDER = date_key(col(Document.published_on), col(Document.id), descending=True, nullable=True)


def list_page(
    session: Session,
    form: ReadForm,
    apply: Callable[[Session, Any, Any], Any],
    filters: Any,
    key: SortKey,
    sort_name: str,
    *,
    limit: int,
    cursor: str | None,
) -> KeysetPage:
    """One page of a list: the filter applied to the read form's select, keyset-paginated."""
    return keyset_page(
        session,
        form,
        apply(session, form.select(), filters),
        key,
        limit=limit,
        cursor=cursor,
        bound_to=fingerprint(form.table.name, filters.fingerprint(), sort_name),
    )


__all__: Sequence[str] = [
    "ACTOR_ORDER",
    "DOCUMENT_ORDER",
    "SOURCE_ORDER",
    "EventSort",
    "StatementSort",
    "event_sort_key",
    "list_page",
    "statement_sort_key",
]

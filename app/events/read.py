"""How events are read: actors with roles, citations with their grades, relations; their sort
orders and CSV layout."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.read import actor_names
from app.db.base import in_param, table_of
from app.events.model import Citation, Event, EventActor, EventRelation, PendingEventForm, StoredEventForm
from app.events.schemas import EventOut
from app.kit.export import CsvLayout, joined, stored_encodings
from app.kit.pagination import (
    SortKey,
    date_key,
    datetime_key,
    int_key,
)
from app.kit.read import Lookups, ReadForm, Row, grouped
from app.kit.stored import StoredForms
from app.sources.read import DOCUMENT, source_briefs

EVENT = table_of(Event)
EVENT_ACTOR = table_of(EventActor)
CITATION = table_of(Citation)
RELATION = table_of(EventRelation)


# Both orders are served by an index `(event_id, position, …)`: no sort per page or chunk.
EVENT_ACTORS_OF = (
    sa.select(EVENT_ACTOR.c.event_id, EVENT_ACTOR.c.actor_id, EVENT_ACTOR.c.role)
    .where(in_param(EVENT_ACTOR.c.event_id))
    .order_by(EVENT_ACTOR.c.event_id, EVENT_ACTOR.c.position, EVENT_ACTOR.c.actor_id)
)


CITATIONS_OF = (
    sa.select(
        CITATION.c.event_id,
        CITATION.c.document_id,
        CITATION.c.credibility,
        CITATION.c.excerpt,
        DOCUMENT.c.source_id,
        DOCUMENT.c.url,
    )
    .join(DOCUMENT, DOCUMENT.c.id == CITATION.c.document_id)
    .where(in_param(CITATION.c.event_id))
    .order_by(CITATION.c.event_id, CITATION.c.position, CITATION.c.id)
)


RELATIONS_OF = (
    sa.select(RELATION.c.event_id, RELATION.c.related_id, RELATION.c.type)
    .where(in_param(RELATION.c.event_id))
    .order_by(RELATION.c.event_id, RELATION.c.position, RELATION.c.related_id)
)


def _embed_event_links(session: Session, rows: list[Row], lookups: Lookups) -> None:
    """Actors with their roles and names; citations with their document and source grades;
    what derives from the citations (distinct sources, best grade); relations."""
    ids = [row["id"] for row in rows]
    actors = grouped(session, EVENT_ACTORS_OF, ids)
    citations = grouped(session, CITATIONS_OF, ids)
    relations = grouped(session, RELATIONS_OF, ids)
    names = actor_names(session, lookups, (a[1] for linked in actors.values() for a in linked))
    sources = source_briefs(session, lookups, (c[4] for cited in citations.values() for c in cited))
    for row in rows:
        related = relations.get(row["id"])
        row["relations"] = (
            [{"type": kind, "event_id": other} for _, other, kind in related] if related else []
        )
        linked = actors.get(row["id"])
        row["actors"] = (
            [{"actor_id": actor_id, "role": role, "name": names[actor_id]} for _, actor_id, role in linked]
            if linked
            else []
        )
        cited = citations.get(row["id"])
        if not cited:
            row["citations"] = []
            row["source_count"] = 0
            row["best_reliability"] = None
            continue
        items = []
        for _, document_id, credibility, excerpt, source_id, url in cited:
            source_name, reliability = sources[source_id]
            items.append(
                {
                    "document_id": document_id,
                    "credibility": credibility,
                    "excerpt": excerpt,
                    "source_id": source_id,
                    "source_name": source_name,
                    "reliability": reliability,
                    "url": url,
                }
            )
        row["citations"] = items
        row["source_count"] = len({c[4] for c in cited}) if len(cited) > 1 else 1
        row["best_reliability"] = min(item["reliability"] for item in items)


EVENTS = ReadForm("events", EventOut, EVENT, _embed_event_links)


class EventSort(StrEnum):
    start_date = "start_date"
    start_date_desc = "-start_date"
    fatalities_best = "fatalities_best"
    fatalities_best_desc = "-fatalities_best"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


@cache  # one key per sort, so its clauses are built once
def event_sort_key(sort: EventSort) -> SortKey:
    descending = sort.value.startswith("-")
    name = sort.value.lstrip("-")
    if name == "start_date":
        return date_key(col(Event.start_date), col(Event.id), descending)
    if name == "updated_at":
        return datetime_key(col(Event.updated_at), col(Event.id), descending)
    return int_key(col(Event.fatalities_best), col(Event.id), descending, nullable=True)


def _citation(c: Row) -> str:
    grade = f"{c['source_name']} [{c['reliability']}{c['credibility']}]"
    return f"{grade} {c['url']}" if c["url"] else grade


EVENT_CSV = CsvLayout(
    EVENTS,
    {
        "actors": (
            ("actors", joined(lambda a: f"{a['name']} ({a['role']})")),
            ("actor_ids", joined(lambda a: str(a["actor_id"]))),
        ),
        "citations": (
            ("citations", joined(_citation)),
            ("document_ids", joined(lambda c: str(c["document_id"]))),
        ),
        "relations": (
            ("relations", joined(lambda r: f"{r['type']} {r['event_id']}")),
            ("relation_ids", joined(lambda r: str(r["event_id"]))),
        ),
    },
)


# Migration 0010 holds the triggers that keep these true; its LOCK_KEY is this one.
STORED_EVENTS = StoredForms(
    EVENT_CSV,
    table_of(StoredEventForm),
    table_of(PendingEventForm),
    7_107_100_010,
    stored_encodings(EVENT_CSV),
)

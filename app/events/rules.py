"""Write rules of events and their actor links and citations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.actors.model import Actor
from app.events.model import Citation, Event, EventActor
from app.events.schemas import EventCreate
from app.kit.rules import (
    ChildList,
    Item,
    Values,
    check_refs,
    column_values,
    differs,
    persist,
    persisted_id,
    queue_changes,
    require_existing,
)
from app.sources.model import Document

EVENT_LINK_FIELDS = ("actors", "citations")
EVENT_ACTORS = ChildList(EventActor, "event_id", ("actor_id", "role"))
CITATIONS = ChildList(Citation, "event_id", ("document_id", "credibility", "excerpt"), ("position", "id"))


def save_events(session: Session, items: Sequence[Item[Event, EventCreate]]) -> None:
    check_refs(session, Event, items)
    require_existing(session, Actor, items, "actors", lambda d: [a.actor_id for a in d.actors], "actor")
    require_existing(
        session,
        Document,
        items,
        "citations",
        lambda d: [c.document_id for c in d.citations],
        "document",
    )
    stored_ids = [item.row.id for item in items if item.row is not None]
    links = EVENT_ACTORS.stored(session, stored_ids)
    cites = CITATIONS.stored(session, stored_ids)
    values, changed = [], []
    relink: list[tuple[Item[Event, EventCreate], list[Values]]] = []
    recite: list[tuple[Item[Event, EventCreate], list[Values]]] = []
    for item in items:
        row_values = column_values(item.data, exclude=set(EVENT_LINK_FIELDS))
        did_change = differs(item.row, row_values)
        new_links: list[Values] = [(a.actor_id, a.role.value) for a in item.data.actors]
        new_cites: list[Values] = [(c.document_id, c.credibility, c.excerpt) for c in item.data.citations]
        if links.get(item.id or 0, []) != new_links:
            relink.append((item, new_links))
            did_change = True
        if cites.get(item.id or 0, []) != new_cites:
            recite.append((item, new_cites))
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    persist(session, Event, items, values, changed)
    EVENT_ACTORS.replace(session, {persisted_id(i): new for i, new in relink}, links)
    CITATIONS.replace(session, {persisted_id(i): new for i, new in recite}, cites)
    queue_changes(session, "events", items)

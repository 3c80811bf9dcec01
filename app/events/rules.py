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
    _check_refs,
    _columns,
    _differs,
    _persist,
    _persisted_id,
    _record,
    _require,
)
from app.sources.model import Document

EVENT_LINK_FIELDS = ("actors", "citations")
EVENT_ACTORS = ChildList(EventActor, "event_id", ("actor_id", "role"))
CITATIONS = ChildList(Citation, "event_id", ("document_id", "credibility", "excerpt"), ("position", "id"))


def save_events(session: Session, items: Sequence[Item[Event, EventCreate]]) -> None:
    _check_refs(session, Event, items)
    _require(session, Actor, items, "actors", lambda d: [a.actor_id for a in d.actors], "actor")
    _require(
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
        row_values = _columns(item.data, exclude=set(EVENT_LINK_FIELDS))
        did_change = _differs(item.row, row_values)
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
    _persist(session, Event, items, values, changed)
    EVENT_ACTORS.replace(session, {_persisted_id(i): new for i, new in relink}, links)
    CITATIONS.replace(session, {_persisted_id(i): new for i, new in recite}, cites)
    _record(session, "events", items)

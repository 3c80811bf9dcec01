"""Write rules of events and their actor links and citations."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.base import any_of
from app.db.bulk import bulk_insert
from app.models import (
    Actor,
    Citation,
    Document,
    Event,
    EventActor,
)
from app.schemas.resources import (
    EventCreate,
)
from app.services.records.base import (
    Item,
    _check_refs,
    _columns,
    _differs,
    _persist,
    _record,
    _require,
)

# --- events ------------------------------------------------------------------------------------

EVENT_LINK_FIELDS = ("actors", "citations")


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
    links: dict[int, list[tuple[int, str]]] = {}
    cites: dict[int, list[tuple[int, int, str | None]]] = {}
    if stored_ids:
        for event_id, actor_id, role in session.execute(
            sa.select(col(EventActor.event_id), col(EventActor.actor_id), col(EventActor.role))
            .where(any_of(col(EventActor.event_id), stored_ids))
            .order_by(col(EventActor.event_id), col(EventActor.position))
        ):
            links.setdefault(event_id, []).append((actor_id, role))
        for event_id, document_id, credibility, excerpt in session.execute(
            sa.select(
                col(Citation.event_id),
                col(Citation.document_id),
                col(Citation.credibility),
                col(Citation.excerpt),
            )
            .where(any_of(col(Citation.event_id), stored_ids))
            .order_by(col(Citation.event_id), col(Citation.position), col(Citation.id))
        ):
            cites.setdefault(event_id, []).append((document_id, credibility, excerpt))
    values, changed = [], []
    relink: list[Item[Event, EventCreate]] = []
    recite: list[Item[Event, EventCreate]] = []
    for item in items:
        row_values = _columns(item.data, exclude=set(EVENT_LINK_FIELDS))
        did_change = _differs(item.row, row_values)
        new_links = [(a.actor_id, a.role.value) for a in item.data.actors]
        new_cites = [(c.document_id, c.credibility, c.excerpt) for c in item.data.citations]
        if links.get(item.id or 0, []) != new_links:
            relink.append(item)
            did_change = True
        if cites.get(item.id or 0, []) != new_cites:
            recite.append(item)
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    _persist(session, Event, items, values, changed)
    stale_links = [i.id for i in relink if i.id in links]
    if stale_links:
        session.execute(sa.delete(EventActor).where(any_of(col(EventActor.event_id), stale_links)))
    stale_cites = [i.id for i in recite if i.id in cites]
    if stale_cites:
        session.execute(sa.delete(Citation).where(any_of(col(Citation.event_id), stale_cites)))
    link_rows = [
        {"event_id": i.id, "actor_id": a.actor_id, "role": a.role.value, "position": n}
        for i in relink
        for n, a in enumerate(i.data.actors)
    ]
    if link_rows:
        bulk_insert(session, EventActor.__table__, link_rows)  # type: ignore[attr-defined]
    cite_rows = [
        {
            "event_id": i.id,
            "document_id": c.document_id,
            "credibility": c.credibility,
            "excerpt": c.excerpt,
            "position": n,
        }
        for i in recite
        for n, c in enumerate(i.data.citations)
    ]
    if cite_rows:
        bulk_insert(session, Citation.__table__, cite_rows)  # type: ignore[attr-defined]
    _record(session, "events", items)

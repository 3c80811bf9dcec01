"""Write rules of events and their actor links, citations and relations."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors.model import Actor
from app.core.enums import RelationType
from app.db.base import any_of, table_of
from app.events.model import Citation, Event, EventActor, EventRelation
from app.events.schemas import EventCreate
from app.kit.rules import (
    ChildList,
    Item,
    RecordError,
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

EVENT_LINK_FIELDS = ("actors", "citations", "relations")
EVENT_ACTORS = ChildList(EventActor, "event_id", ("actor_id", "role"))
CITATIONS = ChildList(Citation, "event_id", ("document_id", "credibility", "excerpt"), ("position", "id"))
RELATIONS = ChildList(EventRelation, "event_id", ("related_id", "type"), ("position", "id"))
RELATION = table_of(EventRelation)


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
    require_existing(session, Event, items, "relations", lambda d: [r.event_id for r in d.relations], "event")
    _check_relations(session, items)
    stored_ids = [item.row.id for item in items if item.row is not None]
    links = EVENT_ACTORS.stored(session, stored_ids)
    cites = CITATIONS.stored(session, stored_ids)
    related = RELATIONS.stored(session, stored_ids)
    values, changed = [], []
    relink: list[tuple[Item[Event, EventCreate], list[Values]]] = []
    recite: list[tuple[Item[Event, EventCreate], list[Values]]] = []
    relate: list[tuple[Item[Event, EventCreate], list[Values]]] = []
    for item in items:
        row_values = column_values(item.data, exclude=set(EVENT_LINK_FIELDS))
        did_change = differs(item.row, row_values)
        new_links: list[Values] = [(a.actor_id, a.role.value) for a in item.data.actors]
        new_cites: list[Values] = [(c.document_id, c.credibility, c.excerpt) for c in item.data.citations]
        new_relations: list[Values] = [(r.event_id, r.type.value) for r in item.data.relations]
        for stored, new, changes in (
            (links, new_links, relink),
            (cites, new_cites, recite),
            (related, new_relations, relate),
        ):
            if stored.get(item.id or 0, []) != new:
                changes.append((item, new))
                did_change = True
        values.append(row_values)
        changed.append(did_change)
    persist(session, Event, items, values, changed)
    EVENT_ACTORS.replace(session, {persisted_id(i): new for i, new in relink}, links)
    CITATIONS.replace(session, {persisted_id(i): new for i, new in recite}, cites)
    RELATIONS.replace(session, {persisted_id(i): new for i, new in relate}, related)
    queue_changes(session, "events", items)


def _check_relations(session: Session, items: Sequence[Item[Event, EventCreate]]) -> None:
    """No event relates to itself, and `part_of` never loops back (A part of B part of A).

    The stored `part_of` edges reachable from the batch's new targets are read with one
    recursive query; the batch's own lists replace the stored ones of its events, and each
    event's new targets are then walked in memory."""
    for index, item in enumerate(items):
        for position, relation in enumerate(item.data.relations):
            if item.id is not None and relation.event_id == item.id:
                raise RecordError(index, f"relations.{position}.event_id", "an event cannot relate to itself")
    part_of = RelationType.part_of.value
    proposed = {
        item.id: [r.event_id for r in item.data.relations if r.type is RelationType.part_of]
        for item in items
        if item.id is not None
    }
    starts = {target for targets in proposed.values() for target in targets}
    if not starts:
        return
    walk = (
        sa.select(RELATION.c.event_id, RELATION.c.related_id)
        .where(any_of(RELATION.c.event_id, sorted(starts)), RELATION.c.type == part_of)
        .cte("part_of_walk", recursive=True)
    )
    step = sa.select(RELATION.c.event_id, RELATION.c.related_id).join(
        walk, sa.and_(RELATION.c.event_id == walk.c.related_id, RELATION.c.type == part_of)
    )
    walk = walk.union(step)
    wider: dict[int, list[int]] = {}
    for event_id, related_id in session.execute(sa.select(walk.c.event_id, walk.c.related_id)):
        wider.setdefault(event_id, []).append(related_id)
    wider.update(proposed)
    for index, item in enumerate(items):
        if item.id is None or not proposed.get(item.id):
            continue
        seen: set[int] = set()
        frontier = list(proposed[item.id])
        while frontier:
            current = frontier.pop()
            if current == item.id:
                raise RecordError(
                    index,
                    "relations",
                    f"event {item.id} would be part of itself through a part_of chain (a cycle)",
                )
            if current not in seen:
                seen.add(current)
                frontier.extend(wider.get(current, []))

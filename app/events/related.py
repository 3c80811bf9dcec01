"""The events related to an event, up to three steps away, in both directions.

A walk from an event follows its own relations (`outgoing`: the event it came from holds the
relation) and the relations other events hold to it (`incoming`), one step per level. Each
event is reported at the smallest depth it is reached at, once for every (type, direction) of
the relations that reach it there; the event walked from is never reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.core.enums import RelationDirection, RelationType
from app.db.base import any_of, in_param
from app.events.read import EVENT, EVENTS, RELATION
from app.events.schemas import RELATION as RELATION_DOC
from app.events.schemas import EventOut
from app.kit.read import Row, fetch

MAX_DEPTH = 3

# each served by an index led by the column the walk arrives on
OUTGOING = sa.select(RELATION.c.event_id, RELATION.c.related_id, RELATION.c.type).where(
    in_param(RELATION.c.event_id)
)
INCOMING = sa.select(RELATION.c.related_id, RELATION.c.event_id, RELATION.c.type).where(
    in_param(RELATION.c.related_id)
)


class RelatedEvent(BaseModel):
    event: EventOut = Field(description="The related event, in its read form.")  # type: ignore[valid-type]
    type: RelationType = Field(description=RELATION_DOC)
    direction: RelationDirection = Field(
        description="`outgoing` when the event one step nearer holds the relation (it is `type` of "
        "this one), `incoming` when this event holds it (this one is `type` of that one)."
    )
    depth: int = Field(description="Steps from the event asked about: 1 for its direct relations.")


class RelatedEvents(BaseModel):
    items: list[RelatedEvent] = Field(description="By depth, then event id, type and direction.")


def related_events(session: Session, event_id: int, depth: int) -> dict[str, list[Row]]:
    reached = {event_id: 0}
    found: dict[tuple[int, str, str], int] = {}
    frontier = [event_id]
    for level in range(1, depth + 1):
        outgoing = RelationDirection.outgoing.value
        incoming = RelationDirection.incoming.value
        steps = [(other, kind, outgoing) for _, other, kind in fetch(session, OUTGOING, frontier)]
        steps += [(other, kind, incoming) for _, other, kind in fetch(session, INCOMING, frontier)]
        following: dict[int, None] = {}
        for other, kind, direction in steps:
            if reached.setdefault(other, level) == level:
                found.setdefault((other, kind, direction), level)
                following[other] = None
        frontier = list(following)
        if not frontier:
            break
    if not found:
        return {"items": []}
    ids = sorted({other for other, _, _ in found})
    events = {row["id"]: row for row in EVENTS.rows(session, EVENTS.select().where(any_of(EVENT.c.id, ids)))}
    ordered = sorted(found.items(), key=lambda entry: (entry[1], *entry[0]))
    return {
        "items": [
            {"event": events[other], "type": kind, "direction": direction, "depth": level}
            for (other, kind, direction), level in ordered
        ]
    }

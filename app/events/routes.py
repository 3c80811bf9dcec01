"""/v1/events."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col

from app.events.filter import EventFilter, apply_event_filter
from app.events.model import Citation, Event, EventActor, EventRelation
from app.events.read import EVENTS, EventSort, event_sort_key
from app.events.rules import save_events
from app.events.schemas import EventCreate, EventUpdate
from app.kit.crud import Blocker, ResourceSpec, counter
from app.kit.items import ItemRoutes, RowId, Sorting, add_item_routes
from app.statements.model import Statement

router = APIRouter(prefix="/v1", tags=["events"])

EventId = RowId
EventFilters = Annotated[EventFilter, Query()]
EventSortParam = Annotated[
    EventSort,
    Query(description="Sort key, `-` for descending; ties by id in the same direction, nulls last."),
]

EVENT_SPEC = ResourceSpec(
    "events",
    "event",
    Event,
    EventCreate,
    save_events,
    EVENTS,
    (
        Blocker("statements", counter(col(Statement.event_id))),
        Blocker("relations of other events", counter(col(EventRelation.related_id))),
    ),
    (col(EventActor.event_id), col(Citation.event_id), col(EventRelation.event_id)),
)

add_item_routes(
    router,
    ItemRoutes(
        EVENT_SPEC,
        EventUpdate,
        EventFilter,
        apply_event_filter,
        "Events matching every filter given; ties in the sort broken by id, nulls last.",
        Sorting(EventSortParam, EventSort.start_date_desc, event_sort_key),
        update_note="\nFor events, `actors`, `citations` and `relations` replace the whole list when sent.",
    ),
)

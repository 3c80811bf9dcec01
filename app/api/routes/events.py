"""/v1/events."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.routes.common import EventSortParam, RowId
from app.api.routes.items import ItemRoutes, Sorting, add_item_routes
from app.queries.filters import EventFilter, apply_event_filter
from app.queries.listing import EventSort, event_sort_key
from app.schemas.resources import EventUpdate
from app.services.crud import EVENTS

router = APIRouter(prefix="/v1", tags=["events"])

EventId = RowId
EventFilters = Annotated[EventFilter, Query()]

add_item_routes(
    router,
    ItemRoutes(
        EVENTS,
        EventUpdate,
        EventFilter,
        apply_event_filter,
        "Events matching every filter given; ties in the sort broken by id, nulls last.",
        Sorting(EventSortParam, EventSort.start_date_desc, event_sort_key),
        update_note="\nFor events, `actors` and `citations` replace the whole list when sent.",
    ),
)

"""/v1/events."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import ReadAccess, SessionDep, WriteAccess, WriteSessionDep, quick_read
from app.api.responses import page_response
from app.api.routes.common import (
    ITEM_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Cursor,
    EventSortParam,
    Limit,
    RowId,
    create_one,
    delete_one,
    read_one,
    update_one,
)
from app.queries import views
from app.queries.filters import EventFilter, apply_event_filter
from app.queries.listing import EventSort, event_sort_key, list_page
from app.schemas.common import Page
from app.schemas.resources import EventCreate, EventOut, EventUpdate
from app.services.crud import EVENTS

router = APIRouter(prefix="/v1", tags=["events"])

EventId = RowId
EventFilters = Annotated[EventFilter, Query()]


@router.get("/events", response_model=Page[EventOut], responses=READ_ERRORS, dependencies=[ReadAccess])
@quick_read
def list_events(
    request: Request,
    session: SessionDep,
    filters: EventFilters,
    sort: EventSortParam = EventSort.start_date_desc,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Events matching every filter given; ties in the sort broken by id, nulls last."""
    page = list_page(
        session,
        views.EVENTS,
        apply_event_filter,
        filters,
        event_sort_key(sort),
        sort.value,
        limit=limit,
        cursor=cursor,
    )
    return page_response(request, page.rows, page.next_cursor)


@router.get("/events/{event_id}", response_model=EventOut, responses=ITEM_ERRORS, dependencies=[ReadAccess])
@quick_read
def get_event(request: Request, session: SessionDep, event_id: EventId) -> Response:
    """One event by id; 404 problem if there is none. Carries the ETag used by If-Match."""
    return read_one(request, session, EVENTS, event_id)


@router.post(
    "/events",
    status_code=201,
    response_model=EventOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def create_event(request: Request, session: WriteSessionDep, data: EventCreate) -> Response:
    """Create a event (references are ids); 201 with `Location`, `ETag` and the read form."""
    return create_one(request, session, EVENTS, data)


@router.patch(
    "/events/{event_id}",
    response_model=EventOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def update_event(
    request: Request, session: WriteSessionDep, event_id: EventId, changes: EventUpdate
) -> Response:
    """Change only the fields sent (`null` clears a nullable field), judged on the row as it
    would be after the change; a stale `If-Match` is a 412.
    For events, `actors` and `citations` replace the whole list when sent."""
    return update_one(request, session, EVENTS, event_id, changes)


@router.delete("/events/{event_id}", status_code=204, responses=WRITE_ERRORS, dependencies=[WriteAccess])
def delete_event(request: Request, session: WriteSessionDep, event_id: EventId) -> Response:
    """Delete a event that nothing refers to (409 otherwise); rows it owns go with it. Honours
    `If-Match`."""
    return delete_one(request, session, EVENTS, event_id)

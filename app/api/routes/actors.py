"""/v1/actors."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import ReadAccess, SessionDep, WriteAccess, WriteSessionDep, quick_read
from app.api.responses import page_response
from app.api.routes.common import (
    ITEM_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Cursor,
    Limit,
    RowId,
    create_one,
    delete_one,
    read_one,
    update_one,
)
from app.queries import views
from app.queries.filters import ActorFilter, apply_actor_filter
from app.queries.listing import ACTOR_ORDER, list_page
from app.schemas.common import Page
from app.schemas.resources import ActorCreate, ActorDetail, ActorOut, ActorUpdate
from app.services.crud import ACTORS

router = APIRouter(prefix="/v1", tags=["actors"])

ActorId = RowId


@router.get("/actors", response_model=Page[ActorOut], responses=READ_ERRORS, dependencies=[ReadAccess])
@quick_read
def list_actors(
    request: Request,
    session: SessionDep,
    filters: Annotated[ActorFilter, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Actors, sorted by name case-insensitively."""
    page = list_page(
        session, views.ACTORS, apply_actor_filter, filters, ACTOR_ORDER, "name", limit=limit, cursor=cursor
    )
    return page_response(request, page.rows, page.next_cursor)


@router.get(
    "/actors/{actor_id}",
    response_model=ActorDetail,
    responses=ITEM_ERRORS,
    dependencies=[ReadAccess],
)
@quick_read
def get_actor(request: Request, session: SessionDep, actor_id: ActorId) -> Response:
    """One actor with its parent and children."""
    return read_one(request, session, ACTORS, actor_id)


@router.post(
    "/actors",
    status_code=201,
    response_model=ActorDetail,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def create_actor(request: Request, session: WriteSessionDep, data: ActorCreate) -> Response:
    """Create a actor (references are ids); 201 with `Location`, `ETag` and the read form."""
    return create_one(request, session, ACTORS, data)


@router.patch(
    "/actors/{actor_id}",
    response_model=ActorDetail,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def update_actor(
    request: Request, session: WriteSessionDep, actor_id: ActorId, changes: ActorUpdate
) -> Response:
    """Change only the fields sent (`null` clears a nullable field), judged on the row as it
    would be after the change; a stale `If-Match` is a 412."""
    return update_one(request, session, ACTORS, actor_id, changes)


@router.delete("/actors/{actor_id}", status_code=204, responses=WRITE_ERRORS, dependencies=[WriteAccess])
def delete_actor(request: Request, session: WriteSessionDep, actor_id: ActorId) -> Response:
    """Delete a actor that nothing refers to (409 otherwise); rows it owns go with it. Honours
    `If-Match`."""
    return delete_one(request, session, ACTORS, actor_id)

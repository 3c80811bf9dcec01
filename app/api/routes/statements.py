"""/v1/statements."""

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
    StatementSortParam,
    create_one,
    delete_one,
    read_one,
    update_one,
)
from app.queries import views
from app.queries.filters import StatementFilter, apply_statement_filter
from app.queries.listing import StatementSort, list_page, statement_sort_key
from app.schemas.common import Page
from app.schemas.resources import StatementCreate, StatementOut, StatementUpdate
from app.services.crud import STATEMENTS

router = APIRouter(prefix="/v1", tags=["statements"])

StatementId = RowId


@router.get(
    "/statements",
    response_model=Page[StatementOut],
    responses=READ_ERRORS,
    dependencies=[ReadAccess],
)
@quick_read
def list_statements(
    request: Request,
    session: SessionDep,
    filters: Annotated[StatementFilter, Query()],
    sort: StatementSortParam = StatementSort.stated_on_desc,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Statements, newest first by default; ties by id in the same direction."""
    page = list_page(
        session,
        views.STATEMENTS,
        apply_statement_filter,
        filters,
        statement_sort_key(sort),
        sort.value,
        limit=limit,
        cursor=cursor,
    )
    return page_response(request, page.rows, page.next_cursor)


@router.get(
    "/statements/{statement_id}",
    response_model=StatementOut,
    responses=ITEM_ERRORS,
    dependencies=[ReadAccess],
)
@quick_read
def get_statement(request: Request, session: SessionDep, statement_id: StatementId) -> Response:
    """One statement by id; 404 problem if there is none. Carries the ETag used by If-Match."""
    return read_one(request, session, STATEMENTS, statement_id)


@router.post(
    "/statements",
    status_code=201,
    response_model=StatementOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def create_statement(request: Request, session: WriteSessionDep, data: StatementCreate) -> Response:
    """Create a statement (references are ids); 201 with `Location`, `ETag` and the read form."""
    return create_one(request, session, STATEMENTS, data)


@router.patch(
    "/statements/{statement_id}",
    response_model=StatementOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def update_statement(
    request: Request,
    session: WriteSessionDep,
    statement_id: StatementId,
    changes: StatementUpdate,
) -> Response:
    """Change only the fields sent (`null` clears a nullable field), judged on the row as it
    would be after the change; a stale `If-Match` is a 412."""
    return update_one(request, session, STATEMENTS, statement_id, changes)


@router.delete(
    "/statements/{statement_id}",
    status_code=204,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def delete_statement(request: Request, session: WriteSessionDep, statement_id: StatementId) -> Response:
    """Delete a statement that nothing refers to (409 otherwise); rows it owns go with it. Honours
    `If-Match`."""
    return delete_one(request, session, STATEMENTS, statement_id)

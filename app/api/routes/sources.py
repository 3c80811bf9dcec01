"""/v1/sources and /v1/documents."""

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
from app.queries.filters import (
    DocumentFilter,
    SourceFilter,
    apply_document_filter,
    apply_source_filter,
)
from app.queries.listing import DOCUMENT_ORDER, SOURCE_ORDER, list_page
from app.schemas.common import Page
from app.schemas.resources import (
    DocumentCreate,
    DocumentOut,
    DocumentUpdate,
    SourceCreate,
    SourceOut,
    SourceUpdate,
)
from app.services.crud import DOCUMENTS, SOURCES

router = APIRouter(prefix="/v1", tags=["sources and documents"])

SourceId = RowId
DocumentId = RowId


@router.get("/sources", response_model=Page[SourceOut], responses=READ_ERRORS, dependencies=[ReadAccess])
@quick_read
def list_sources(
    request: Request,
    session: SessionDep,
    filters: Annotated[SourceFilter, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Sources, sorted by name case-insensitively."""
    page = list_page(
        session,
        views.SOURCES,
        apply_source_filter,
        filters,
        SOURCE_ORDER,
        "name",
        limit=limit,
        cursor=cursor,
    )
    return page_response(request, page.rows, page.next_cursor)


@router.get(
    "/sources/{source_id}",
    response_model=SourceOut,
    responses=ITEM_ERRORS,
    dependencies=[ReadAccess],
)
@quick_read
def get_source(request: Request, session: SessionDep, source_id: SourceId) -> Response:
    """One source by id; 404 problem if there is none. Carries the ETag used by If-Match."""
    return read_one(request, session, SOURCES, source_id)


@router.post(
    "/sources",
    status_code=201,
    response_model=SourceOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def create_source(request: Request, session: WriteSessionDep, data: SourceCreate) -> Response:
    """Create a source (references are ids); 201 with `Location`, `ETag` and the read form."""
    return create_one(request, session, SOURCES, data)


@router.patch(
    "/sources/{source_id}",
    response_model=SourceOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def update_source(
    request: Request, session: WriteSessionDep, source_id: SourceId, changes: SourceUpdate
) -> Response:
    """Change only the fields sent (`null` clears a nullable field), judged on the row as it
    would be after the change; a stale `If-Match` is a 412."""
    return update_one(request, session, SOURCES, source_id, changes)


@router.delete("/sources/{source_id}", status_code=204, responses=WRITE_ERRORS, dependencies=[WriteAccess])
def delete_source(request: Request, session: WriteSessionDep, source_id: SourceId) -> Response:
    """Delete a source that nothing refers to (409 otherwise); rows it owns go with it. Honours
    `If-Match`."""
    return delete_one(request, session, SOURCES, source_id)


@router.get("/documents", response_model=Page[DocumentOut], responses=READ_ERRORS, dependencies=[ReadAccess])
@quick_read
def list_documents(
    request: Request,
    session: SessionDep,
    filters: Annotated[DocumentFilter, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Documents, newest `published_on` first (undated last), then by id descending."""
    page = list_page(
        session,
        views.DOCUMENTS,
        apply_document_filter,
        filters,
        DOCUMENT_ORDER,
        "-published_on",
        limit=limit,
        cursor=cursor,
    )
    return page_response(request, page.rows, page.next_cursor)


@router.get(
    "/documents/{document_id}",
    response_model=DocumentOut,
    responses=ITEM_ERRORS,
    dependencies=[ReadAccess],
)
@quick_read
def get_document(request: Request, session: SessionDep, document_id: DocumentId) -> Response:
    """One document by id; 404 problem if there is none. Carries the ETag used by If-Match."""
    return read_one(request, session, DOCUMENTS, document_id)


@router.post(
    "/documents",
    status_code=201,
    response_model=DocumentOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def create_document(request: Request, session: WriteSessionDep, data: DocumentCreate) -> Response:
    """Create a document (references are ids); 201 with `Location`, `ETag` and the read form."""
    return create_one(request, session, DOCUMENTS, data)


@router.patch(
    "/documents/{document_id}",
    response_model=DocumentOut,
    responses=WRITE_ERRORS,
    dependencies=[WriteAccess],
)
def update_document(
    request: Request,
    session: WriteSessionDep,
    document_id: DocumentId,
    changes: DocumentUpdate,
) -> Response:
    """Change only the fields sent (`null` clears a nullable field), judged on the row as it
    would be after the change; a stale `If-Match` is a 412."""
    return update_one(request, session, DOCUMENTS, document_id, changes)


@router.delete(
    "/documents/{document_id}", status_code=204, responses=WRITE_ERRORS, dependencies=[WriteAccess]
)
def delete_document(request: Request, session: WriteSessionDep, document_id: DocumentId) -> Response:
    """Delete a document that nothing refers to (409 otherwise); rows it owns go with it. Honours
    `If-Match`."""
    return delete_one(request, session, DOCUMENTS, document_id)

"""What the resource routers share: single reads and the three writes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.api.responses import dump, etag_of, json_response
from app.core.errors import PreconditionFailed
from app.queries.listing import EventSort, StatementSort
from app.schemas.common import problem_responses
from app.services import crud
from app.services.crud import ResourceSpec

READ_ERRORS = problem_responses(400, 401, 422, 503)
ITEM_ERRORS = problem_responses(401, 404, 422, 503)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422, 503)


def read_one(request: Request, session: Session, spec: ResourceSpec, row_id: int) -> Response:
    return json_response(request, crud.read_one(session, spec, row_id))


def create_one(request: Request, session: Session, spec: ResourceSpec, data: BaseModel) -> Response:
    """Create a row (references are ids); 201 with `Location`, `ETag` and the read form."""
    row = crud.create(session, spec, data)
    body = crud.read_form(session, spec, row)
    location = str(request.url_for(f"get_{spec.singular}", **{f"{spec.singular}_id": row.id}))
    return json_response(request, body, status_code=201, headers={"Location": location})


def _check_if_match(request: Request, session: Session, spec: ResourceSpec, row: Any) -> None:
    """Compare If-Match with the ETag of the row's current read form (412 when stale)."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    current = etag_of(dump(crud.read_form(session, spec, row)))
    if current not in (tag.strip() for tag in header.split(",")):
        raise PreconditionFailed(
            f"{spec.singular} {row.id} has changed since that ETag; read it again and retry"
        )


def update_one(
    request: Request, session: Session, spec: ResourceSpec, row_id: int, changes: BaseModel
) -> Response:
    """Change only the fields sent (`null` clears a nullable field), judged on the row as it
    would be after the change; a stale `If-Match` is a 412."""
    row = crud.get_row(session, spec, row_id, lock=True)
    _check_if_match(request, session, spec, row)
    row = crud.update(session, spec, row, changes.model_dump(exclude_unset=True))
    return json_response(request, crud.read_form(session, spec, row))


def delete_one(request: Request, session: Session, spec: ResourceSpec, row_id: int) -> Response:
    """Delete a row that nothing refers to (409 otherwise); rows it owns go with it. Honours
    `If-Match`."""
    row = crud.get_row(session, spec, row_id, lock=True)
    _check_if_match(request, session, spec, row)
    crud.delete(session, spec, row)
    return Response(status_code=204)


Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page, 1–500 (outside: 422).")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page, as received (opaque).")]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The row's id.")]
EventSortParam = Annotated[
    EventSort,
    Query(description="Sort key, `-` for descending; ties by id in the same direction, nulls last."),
]
StatementSortParam = Annotated[
    StatementSort, Query(description="Sort key, `-` for descending; ties by id in the same direction.")
]

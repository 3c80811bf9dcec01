"""The five routes every resource has — list, read, create, update, delete — made from one spec.

What differs between resources is data (`ItemRoutes`); the route functions are built here once.
Each gets a real signature (`__signature__`), so FastAPI validates and documents its
parameters exactly as if it had been written out by hand: the path parameter is named after
the resource (`event_id`), the list takes the resource's filter model, its sort if it has
one, then `limit` and `cursor`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import PreconditionFailed
from app.kit import crud
from app.kit.crud import ResourceSpec
from app.kit.deps import AsOfSessionDep, ReadAccess, WriteAccess, WriteSessionDep, quick_read
from app.kit.filters import BaseFilter
from app.kit.negotiation import Alternate, alternate_content, component_schemas, negotiated_response
from app.kit.pagination import SortKey, list_page
from app.kit.read import Row
from app.kit.responses import (
    cached_json_response,
    cached_page_response,
    dump,
    etag_of,
    json_response,
    service_url,
)
from app.kit.schemas import Page, problem_responses

READ_ERRORS = problem_responses(400, 401, 422, 503)


ITEM_ERRORS = problem_responses(401, 404, 422, 503)


WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422, 503)


def read_one(
    request: Request, session: Session, spec: ResourceSpec, row_id: int, alternates: Sequence[Alternate] = ()
) -> Response:
    """The row's read form, or another offered media type the client's `Accept` prefers. The
    JSON form is kept per data version like a list page (a 404 is never kept)."""
    if not alternates:
        return cached_json_response(request, session, lambda: crud.read_one(session, spec, row_id))
    return negotiated_response(request, session, crud.read_one(session, spec, row_id), alternates)


def create_one(request: Request, session: Session, spec: ResourceSpec, data: BaseModel) -> Response:
    """Create a row (references are ids); 201 with `Location`, `ETag` and the read form."""
    row = crud.create(session, spec, data)
    body = crud.read_form(session, spec, row)
    path = request.app.url_path_for(f"get_{spec.singular}", **{f"{spec.singular}_id": row.id})
    location = service_url(request.scope, str(path))
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


@dataclass(frozen=True)
class Sorting:
    """A list the client can sort: the query parameter, its default and the key of each value."""

    param: Any  # an Annotated[SortEnum, Query(...)]
    default: StrEnum
    key: Callable[[Any], SortKey]


@dataclass(frozen=True)
class ItemRoutes:
    """What one resource's five routes need beyond its `ResourceSpec`."""

    spec: ResourceSpec
    update: type[BaseModel]
    filters: type[BaseFilter]
    apply: Callable[[Session, Select[Any], Any], Select[Any]]  # (session, select, its filter)
    list_doc: str
    order: SortKey | Sorting  # a fixed order, or the client's choice
    order_name: str = ""  # a fixed order's name in cursors
    get_doc: str = ""
    update_note: str = ""  # appended to the update route's description
    alternates: tuple[Alternate, ...] = ()  # other media types of the single read (JSON-LD)


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def make_route(
    name: str, doc: str, body: Callable[..., Response], parameters: list[inspect.Parameter]
) -> Callable[..., Response]:
    body.__name__ = body.__qualname__ = name
    body.__doc__ = doc
    body.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    return body


def param(name: str, annotation: object, default: object = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def add_item_routes(router: APIRouter, routes: ItemRoutes) -> None:
    """Register list, read, create, update and delete for one resource, in that order."""
    spec = routes.spec
    plural, singular, id_name = spec.name, spec.singular, f"{spec.singular}_id"
    page_model: Any = Page[spec.form.out]  # type: ignore[name-defined]  # a model made at runtime
    read_model = (spec.detail or spec.form).out
    common = [param("request", Request), param("session", AsOfSessionDep)]
    writing = [param("request", Request), param("session", WriteSessionDep)]
    item_id = param(id_name, RowId)
    item_path = f"/{plural}/{{{id_name}}}"
    order = routes.order

    def list_items(
        request: Request,
        session: Session,
        filters: BaseFilter,
        limit: int,
        cursor: str | None,
        sort: Any = None,
    ) -> Response:
        if isinstance(order, Sorting):
            key, name = order.key(sort), sort.value
        else:
            key, name = order, routes.order_name

        def compute() -> tuple[list[Row], str | None]:
            page = list_page(session, spec.form, routes.apply, filters, key, name, limit=limit, cursor=cursor)
            return page.rows, page.next_cursor

        return cached_page_response(request, session, compute)

    sort_param = [param("sort", order.param, order.default)] if isinstance(order, Sorting) else []
    router.get(f"/{plural}", response_model=page_model, responses=READ_ERRORS, dependencies=[ReadAccess])(
        quick_read(
            make_route(
                f"list_{plural}",
                routes.list_doc,
                list_items,
                [
                    *common,
                    param("filters", Annotated[routes.filters, Query()]),
                    *sort_param,
                    param("limit", Limit, 50),
                    param("cursor", Cursor, None),
                ],
            )
        )
    )

    def get_item(request: Request, session: Session, **path: int) -> Response:
        return read_one(request, session, spec, path[id_name], routes.alternates)

    get_doc = routes.get_doc or (
        f"One {singular} by id; 404 problem if there is none. Carries the ETag used by If-Match."
    )
    router.get(
        item_path,
        response_model=read_model,
        responses={**ITEM_ERRORS, **alternate_content(*routes.alternates)}
        if routes.alternates
        else ITEM_ERRORS,
        openapi_extra=component_schemas(*(a.model for a in routes.alternates)) if routes.alternates else None,
        dependencies=[ReadAccess],
    )(quick_read(make_route(f"get_{singular}", get_doc, get_item, [*common, item_id])))

    def create_item(request: Request, session: Session, data: BaseModel) -> Response:
        return create_one(request, session, spec, data)

    create_doc = (
        f"Create {_article(singular)} (references are ids); 201 with `Location`, `ETag` and the read form."
    )
    router.post(
        f"/{plural}",
        status_code=201,
        response_model=read_model,
        responses=WRITE_ERRORS,
        dependencies=[WriteAccess],
    )(make_route(f"create_{singular}", create_doc, create_item, [*writing, param("data", spec.create)]))

    def update_item(request: Request, session: Session, changes: BaseModel, **path: int) -> Response:
        return update_one(request, session, spec, path[id_name], changes)

    update_doc = (
        "Change only the fields sent (`null` clears a nullable field), judged on the row as it\n"
        "would be after the change; a stale `If-Match` is a 412." + routes.update_note
    )
    router.patch(
        item_path,
        response_model=read_model,
        responses=WRITE_ERRORS,
        dependencies=[WriteAccess],
    )(
        make_route(
            f"update_{singular}",
            update_doc,
            update_item,
            [*writing, item_id, param("changes", routes.update)],
        )
    )

    def delete_item(request: Request, session: Session, **path: int) -> Response:
        return delete_one(request, session, spec, path[id_name])

    delete_doc = (
        f"Delete {_article(singular)} that nothing refers to (409 otherwise); rows it owns go with it."
        " Honours\n`If-Match`."
    )
    router.delete(item_path, status_code=204, responses=WRITE_ERRORS, dependencies=[WriteAccess])(
        make_route(f"delete_{singular}", delete_doc, delete_item, [*writing, item_id])
    )


WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


async def _method_not_allowed() -> None:
    raise StarletteHTTPException(405)


def refuse_writes(router: APIRouter) -> None:
    """405 for a write to the read-only paths of `router` (`/v1/events/export`, …). Without it
    `PATCH /v1/events/export` is routed to `PATCH /v1/events/{event_id}` and answered as a
    malformed id; include the router before the resource's own routes. The error handler
    writes the `Allow` header."""
    for route in list(router.routes):
        if isinstance(route, APIRoute) and route.methods == {"GET"} and "{" not in route.path:
            router.add_api_route(
                route.path.removeprefix(router.prefix),
                _method_not_allowed,
                methods=WRITE_METHODS,
                include_in_schema=False,
            )

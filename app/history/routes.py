"""GET /v1/{resource}/{id}/history: every version of one row, oldest first, keyset-paged."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, create_model
from sqlalchemy.orm import Session

from app.auth.keys import sent_key_scope
from app.core.enums import KeyScope
from app.core.errors import NotFound
from app.history.asof import ONE_MICROSECOND, reading_as_of
from app.history.writer import READ_FORMS, VERSIONS
from app.kit.deps import ReadAccess, SessionDep, quick_read
from app.kit.items import Cursor, Limit, RowId, make_route, param
from app.kit.pagination import decode_cursor, encode_cursor, fingerprint, int_key
from app.kit.read import Row
from app.kit.responses import page_response
from app.kit.schemas import problem_responses, rfc3339

router = APIRouter(prefix="/v1", tags=["history"])
HISTORY_ERRORS = problem_responses(400, 401, 404, 422, 503)

ORDER = int_key(VERSIONS.c.version, VERSIONS.c.version, descending=False)
SINGULAR = {
    "sources": "source",
    "documents": "document",
    "actors": "actor",
    "events": "event",
    "statements": "statement",
}


def _version_model(resource: str, out: type[BaseModel]) -> type[BaseModel]:
    singular = SINGULAR[resource]
    fields: dict[str, Any] = {
        "version": (int, Field(description="1 for the first version, then one more per write.")),
        "valid_from": (datetime, Field(description="When this version was committed (RFC 3339, UTC).")),
        "valid_to": (
            datetime | None,
            Field(description="When the next version replaced it; null for the last version."),
        ),
        "operation": (
            Literal["create", "update", "delete"],
            Field(description="The write that made this version; `delete` is the last one."),
        ),
        "key": (
            str | None,
            Field(
                default=None,
                description="Who wrote it: the API key's name, `cli:load`, `cli:demo` or `cli:import`; "
                "null for versions recorded when history began. Present only for a request with a "
                "`write` key, as in the change feed.",
            ),
        ),
        "data": (
            out,
            Field(
                description=f"The {singular} as its single read answered in this version; for a "
                "`delete`, as it was when deleted."
            ),
        ),
    }
    return create_model(f"{out.__name__}Version", **fields)


def _page_model(resource: str, out: type[BaseModel]) -> type[BaseModel]:
    version = _version_model(resource, out)
    fields: dict[str, Any] = {
        "items": (list[version], Field(description="Versions, oldest first.")),  # type: ignore[valid-type]
        "next_cursor": (
            str | None,
            Field(description="Pass as `cursor` for the next page; null on the last."),
        ),
    }
    return create_model(f"{out.__name__}History", **fields)


def _data(session: Session, resource: str, row_id: int, version: Any) -> object:
    """The stored read form, or, for a version recorded when history began, the read form
    rebuilt from the mirrors as of the version (just before it, for a delete)."""
    if version.data is not None:
        return orjson.loads(version.data)
    instant: datetime = version.valid_from
    if version.operation == "delete":
        instant -= ONE_MICROSECOND
    with reading_as_of(session, instant):
        return READ_FORMS[resource].one(session, row_id)


def history_page(
    request: Request, session: Session, resource: str, row_id: int, limit: int, cursor: str | None
) -> Response:
    bound_to = fingerprint("history", {"resource": resource, "id": row_id}, "version")
    after = decode_cursor(cursor, ORDER, bound_to)[0] if cursor else 0
    rows = list(
        session.execute(
            sa.select(VERSIONS)
            .where(VERSIONS.c.resource == resource, VERSIONS.c.row_id == row_id, VERSIONS.c.version > after)
            .order_by(VERSIONS.c.version)
            .limit(limit + 1)
        )
    )
    if not rows and not cursor:
        raise NotFound(f"no {SINGULAR[resource]} with id {row_id} has ever been stored")
    next_cursor = None
    if len(rows) > limit:
        del rows[limit:]
        next_cursor = encode_cursor(rows[-1].version, rows[-1].version, bound_to)
    show_key = sent_key_scope(request) == KeyScope.write
    items: list[Row] = []
    for row in rows:
        item: Row = {
            "version": row.version,
            "valid_from": rfc3339(row.valid_from),
            "valid_to": None if row.valid_to is None else rfc3339(row.valid_to),
            "operation": row.operation,
        }
        if show_key:
            item["key"] = row.key_name
        item["data"] = _data(session, resource, row_id, row)
        items.append(item)
    response = page_response(request, items, next_cursor)
    response.headers["Vary"] = "Authorization"  # `key` depends on the key sent
    return response


def _add_history_route(resource: str) -> None:
    singular = SINGULAR[resource]
    id_name = f"{singular}_id"

    def history(request: Request, session: Session, limit: int, cursor: str | None, **path: int) -> Response:
        return history_page(request, session, resource, path[id_name], limit, cursor)

    doc = (
        f"Every version of one {singular}, oldest first: what each create, update and delete left,\n"
        f"with when it was valid and its read form. Also for a deleted {singular}; 404 only for an id\n"
        "that was never stored (or was deleted before history began)."
    )
    router.get(
        f"/{resource}/{{{id_name}}}/history",
        response_model=_page_model(resource, READ_FORMS[resource].out),
        responses=HISTORY_ERRORS,
        dependencies=[ReadAccess],
    )(
        quick_read(
            make_route(
                f"{singular}_history",
                doc,
                history,
                [
                    param("request", Request),
                    param("session", SessionDep),
                    param(id_name, RowId),
                    param("limit", Limit, 50),
                    param("cursor", Cursor, None),
                ],
            )
        )
    )


for _resource in SINGULAR:
    _add_history_route(_resource)

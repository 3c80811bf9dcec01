"""What the OpenAPI document says beyond what FastAPI derives from the routes.

FastAPI documents bodies and parameters; the HTTP around them — the media type errors are
really sent as, the bearer key, conditional requests and the headers every answer carries —
is the same for every route, so it is added here once, from what each operation is (a read, a
list, a write), instead of being repeated on 34 decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

PROBLEM = {"$ref": "#/components/schemas/Problem"}
KEY_SCHEME = "ApiKey"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key made with `conflict-events keys create NAME --scope read|write`, sent as "
    "`Authorization: Bearer <key>`. Writes need a `write` key; reads need a key only when the "
    "server sets `READS_REQUIRE_KEY`.",
}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


REQUEST_ID = _header("The request's id: the client's `X-Request-ID` when it sent one, else a new one.")
ETAG = _header("Strong validator of this representation; send it back in `If-None-Match` or `If-Match`.")
CACHE_CONTROL = _header(
    "How long caches may keep the answer: `public` (`private` when reads need a key) with the "
    "configured `max-age`; `no-cache` for the change feed."
)
LINK = _header(
    '`<…cursor=…>; rel="next"` while there is a next page (the same as `next_cursor`): a relative '
    "reference (`</v1/events?…>`), or absolute on the server's `PUBLIC_URL` when it has one."
)
LOCATION = _header(
    "The URL of the row just created: a relative reference (`/v1/events/12`), or absolute on the "
    "server's `PUBLIC_URL` when it has one."
)
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer"},
}


def _request_header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


IF_NONE_MATCH = _request_header("If-None-Match", "ETags the client holds; a match answers 304 with no body.")
IF_MATCH = _request_header(
    "If-Match", "Apply only if the row's current ETag is one of these (`*`: any); else 412."
)
NOT_MODIFIED = {
    "description": "Not modified: the representation matches `If-None-Match`",
    "headers": {"ETag": ETAG, "X-Request-ID": REQUEST_ID},
}


def operation_id(route: APIRoute) -> str:
    """The route's name (`list_events`, `get_event`, `event_claims`): what generated clients
    call their methods."""
    return route.name


def _errors_as_problems(responses: dict[str, Any]) -> None:
    """Errors are sent as `application/problem+json`, so that is where their schema goes."""
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            response["content"] = {"application/problem+json": {"schema": PROBLEM}}
            if status == "503":
                response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def _headers(path: str, method: str, operation: dict[str, Any]) -> None:
    """Every answer of `/v1` carries an ETag; reads answer `If-None-Match` with 304 and say how
    to cache; pages link the next one; PATCH and DELETE honour `If-Match`."""
    responses: dict[str, Any] = operation["responses"]
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    if path.startswith("/v1/"):
        for status in ("200", "201"):
            if status in responses:
                responses[status].setdefault("headers", {})["ETag"] = ETAG
        if method == "get":
            parameters.append(IF_NONE_MATCH)
            ok = responses["200"]["headers"]
            ok["Cache-Control"] = CACHE_CONTROL
            if any(parameter["name"] == "cursor" for parameter in parameters):
                ok["Link"] = LINK
            responses["304"] = NOT_MODIFIED
        if method in ("patch", "delete"):
            parameters.append(IF_MATCH)
        if method == "post" and "201" in responses:
            responses["201"]["headers"]["Location"] = LOCATION
    for response in responses.values():
        response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID


def _security(path: str, method: str, operation: dict[str, Any]) -> None:
    """Writes need a key; reads take one optionally (`{}`: no key is also accepted)."""
    if not path.startswith("/v1/"):
        return
    operation["security"] = [{KEY_SCHEME: []}] if method != "get" else [{}, {KEY_SCHEME: []}]


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the completed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                _errors_as_problems(operation["responses"])
                _headers(path, method, operation)
                _security(path, method, operation)
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {})[KEY_SCHEME] = SECURITY_SCHEME
        app.openapi_schema = document
        return document

    replace: Callable[[], dict[str, Any]] = openapi
    app.openapi = replace  # type: ignore[method-assign]

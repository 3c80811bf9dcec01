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

from app.kit.negotiation import COMPONENTS_KEY

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

RATE_LIMIT = _header(
    "What is left of each quota in the current window (draft-ietf-httpapi-ratelimit-headers-10), "
    'e.g. `"default";r=599;t=42, "auth-failures";r=30;t=42`: `r` requests (or failed '
    "authentications) remain, and the window ends in `t` seconds. Absent when the server turns "
    "its limits off."
)
RATE_LIMIT_POLICY = _header(
    'The quotas that apply, e.g. `"default";q=600;w=60, "auth-failures";q=30;w=60`: `default` is '
    "`q` requests per `w` seconds per API key (per client address without one), `auth-failures` "
    "`q` answers of 401 per client address."
)
# on every answer of /v1: declared once under components/headers, referred to from each answer
RATE_LIMIT_REFS = {
    name: {"$ref": f"#/components/headers/{name}"} for name in ("RateLimit", "RateLimit-Policy")
}
TOO_MANY_REQUESTS = "Over a rate limit (`type` ends in `rate-limited` or `too-many-auth-failures`)"


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
    if "requestBody" in operation:
        responses.setdefault(
            "400",
            {
                "description": "The body is not JSON",
                "content": {"application/problem+json": {"schema": PROBLEM}},
            },
        )
    for response in responses.values():
        response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID


def _rate_limits(path: str, operation: dict[str, Any]) -> None:
    """Every `/v1` answer carries the RateLimit fields, and any `/v1` request may get a 429
    (the operational routes are not limited)."""
    if not path.startswith("/v1/"):
        return
    responses: dict[str, Any] = operation["responses"]
    for response in responses.values():
        response["headers"] = {**response["headers"], **RATE_LIMIT_REFS}
    too_many = {
        "description": TOO_MANY_REQUESTS,
        "content": {"application/problem+json": {"schema": PROBLEM}},
        "headers": {"Retry-After": RETRY_AFTER, **RATE_LIMIT_REFS, "X-Request-ID": REQUEST_ID},
    }
    # in the order of the status codes, as the others are
    ordered = list(responses.items())
    at = next((i for i, (code, _) in enumerate(ordered) if code.isdigit() and int(code) > 429), len(ordered))
    ordered.insert(at, ("429", too_many))
    operation["responses"] = dict(ordered)


def _security(path: str, method: str, operation: dict[str, Any]) -> None:
    """Writes need a key; reads take one optionally (`{}`: no key is also accepted)."""
    if not path.startswith("/v1/"):
        return
    operation["security"] = [{KEY_SCHEME: []}] if method != "get" else [{}, {KEY_SCHEME: []}]


def _links(document: dict[str, Any]) -> None:
    """A created row's id leads to its read, update and delete (OpenAPI links): what generated
    clients and stateful testers (schemathesis) follow from one call to the next."""
    operations = {
        operation["operationId"]: (path, operation)
        for path, methods in document["paths"].items()
        for operation in methods.values()
    }
    for operation_id, (_, operation) in operations.items():
        singular = operation_id.removeprefix("create_")
        created = operation["responses"].get("201")
        if singular == operation_id or created is None:
            continue
        links = created.setdefault("links", {})
        for verb in ("get", "update", "delete"):
            target = f"{verb}_{singular}"
            if target in operations:
                links[target] = {
                    "operationId": target,
                    "parameters": {f"{singular}_id": "$response.body#/id"},
                    "description": f"The {singular} just created.",
                }


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
        components = document.setdefault("components", {})
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                components.setdefault("schemas", {}).update(operation.pop(COMPONENTS_KEY, {}))
                _errors_as_problems(operation["responses"])
                _headers(path, method, operation)
                _rate_limits(path, operation)
                _security(path, method, operation)
        _links(document)
        components.setdefault("securitySchemes", {})[KEY_SCHEME] = SECURITY_SCHEME
        components["headers"] = {"RateLimit": RATE_LIMIT, "RateLimit-Policy": RATE_LIMIT_POLICY}
        app.openapi_schema = document
        return document

    replace: Callable[[], dict[str, Any]] = openapi
    app.openapi = replace  # type: ignore[method-assign]

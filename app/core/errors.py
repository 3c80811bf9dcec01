"""Error classes and the RFC 9457 problem+json handlers.

Every error leaves the service in one shape: `type`, `title`, `status`, `detail`, and for
validation errors an `errors` list of `{"loc": [...], "msg": "..."}`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://conflict-events.example/problems/"
log = logging.getLogger(__name__)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class APIError(Exception):
    """An error that maps to one problem+json response."""

    status = 400
    kind = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers


class BadRequest(APIError):
    status, kind = 400, "bad-request"


class Unauthorized(APIError):
    status, kind = 401, "unauthorized"


class Forbidden(APIError):
    status, kind = 403, "forbidden"


class NotFound(APIError):
    status, kind = 404, "not-found"


class Conflict(APIError):
    status, kind = 409, "conflict"


class PreconditionFailed(APIError):
    status, kind = 412, "precondition-failed"


class PayloadTooLarge(APIError):
    status, kind = 413, "payload-too-large"


class ValidationFailed(APIError):
    status, kind = 422, "validation-error"

    def __init__(self, detail: str, *, loc: Sequence[str | int] = (), msg: str | None = None):
        super().__init__(detail, errors=[{"loc": list(loc), "msg": msg or detail}])


class ServiceUnavailable(APIError):
    status, kind = 503, "service-unavailable"


class DatasetError(Exception):
    """An invalid record in a dataset file: names the record's ref and the field."""

    def __init__(self, resource: str, ref: str | None, field: str | None, message: str) -> None:
        self.resource = resource
        self.ref = ref
        self.field = field
        self.message = message
        where = f"{resource} {ref!r}" if ref else resource
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    """Build one RFC 9457 response."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return ProblemResponse(body, status_code=status, headers=headers)


class FieldError(ValueError):
    """A rule broken by a whole record, blamed on one field (model validators have no `loc`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def error_loc(error: Mapping[str, Any]) -> list[str | int]:
    """Where a validation error lies: its `loc`, and the field a `FieldError` names (a dotted
    path such as `aliases.1`, split as pydantic's own locations are, indexes as numbers)."""
    loc: list[str | int] = [part if isinstance(part, int) else str(part) for part in error["loc"]]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc.extend(int(part) if part.isdigit() else part for part in cause.field.split("."))
    return loc


def _clean_loc(loc: Sequence[object]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": _clean_loc(error_loc(err)), "msg": err.get("msg", "")} for err in exc.errors()]


def allowed_methods(request: Request) -> str | None:
    """The `Allow` of a 405: every method the OpenAPI routes at the path. Starlette names only
    the first route that matches, and each method of a path is a route of its own here. (Path
    templates without parameters are tried first: `/v1/events/export` before `/v1/events/{event_id}`.)"""
    paths: list[tuple[re.Pattern[str], str]] | None = getattr(request.app.state, "allowed_methods", None)
    if paths is None:
        paths = []
        templates = request.app.openapi()["paths"].items()
        for template, operations in sorted(templates, key=lambda item: item[0].count("{")):
            routed = {method.upper() for method in operations}
            if "GET" in routed:
                routed.add("HEAD")
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            paths.append((re.compile(f"^{regex}$"), ", ".join(sorted(routed))))
        request.app.state.allowed_methods = paths
    for pattern, allowed in paths:
        if pattern.match(request.url.path):
            return allowed
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through `problem()` so clients meet one error shape."""

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> ProblemResponse:
        return problem(exc.status, exc.detail, kind=exc.kind, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(DatasetError)
    async def dataset_error(_: Request, exc: DatasetError) -> ProblemResponse:
        loc = [exc.resource, *([exc.ref] if exc.ref else []), *([exc.field] if exc.field else [])]
        return problem(422, str(exc), kind="invalid-dataset", errors=[{"loc": loc, "msg": exc.message}])

    @app.exception_handler(RequestValidationError)
    async def request_validation(_: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return problem(422, detail, kind="validation-error", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        detail = str(exc.detail) if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = getattr(exc, "headers", None)
        allow = allowed_methods(request) if exc.status_code == 405 else None
        if allow:
            headers = {**(headers or {}), "Allow": allow}
        return problem(exc.status_code, detail, headers=headers)

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, exc: OperationalError) -> ProblemResponse:
        log.warning("database unavailable: %s", exc)
        return problem(503, "The database is unavailable; try again shortly.", headers={"Retry-After": "5"})

    @app.exception_handler(IntegrityError)
    async def concurrent_conflict(_: Request, exc: IntegrityError) -> ProblemResponse:
        """The rules are checked before writing; a constraint can still fire when another
        request wrote a clashing row (same name, alias, ref or url) at the same moment."""
        log.info("integrity conflict: %s", exc.orig)
        return problem(409, "The change conflicts with a row written concurrently; read again and retry.")

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> ProblemResponse:
        if exc.connection_invalidated:
            return problem(
                503,
                "The database connection was lost; try again shortly.",
                headers={"Retry-After": "5"},
            )
        log.exception("database error")
        return problem(500, "The database rejected the request.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> ProblemResponse:
        # Starlette answers this one outside every middleware, so the request id and the
        # header every answer carries (app.api.middleware.SecurityHeadersMiddleware) are added here.
        log.exception("unhandled error")
        request_id = request.scope.get("state", {}).get("request_id")
        headers = {"X-Content-Type-Options": "nosniff"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return problem(500, "An unexpected error occurred.", headers=headers)

"""Field types shared by the input and output schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    create_model,
)
from pydantic_core import ErrorDetails

from app.core.countries import ISO_ALPHA2
from app.models.enums import Reliability

T = TypeVar("T")


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _check_country(value: str) -> str:
    if value not in ISO_ALPHA2:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


class FieldError(ValueError):
    """A rule broken by a whole record, blamed on one field (model validators have no `loc`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def error_loc(error: ErrorDetails) -> list[str]:
    """Where a validation error lies: its `loc`, or the field a `FieldError` names."""
    loc = [str(part) for part in error["loc"]]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc.append(cause.field)
    return loc


def rfc3339(value: datetime) -> str:
    """UTC timestamps with a `Z`, as the contract writes them."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


CountryCode = Annotated[
    str,
    BeforeValidator(_upper),
    Field(
        min_length=2,
        max_length=2,
        pattern=r"^[A-Z]{2}$",
        examples=["BY"],
        description="ISO 3166-1 alpha-2, any case on input, upper-case when stored.",
    ),
    AfterValidator(_check_country),
]
Grade = Annotated[
    Reliability,
    BeforeValidator(_upper),
    Field(description="NATO Admiralty source reliability, A (best) … F (cannot be judged)."),
]
Credibility = Annotated[
    int,
    Field(ge=1, le=6, description="Admiralty information credibility, 1 (confirmed) … 6."),
]
Name = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=500)]
Ref = Annotated[
    str,
    BeforeValidator(_strip),
    Field(
        min_length=1,
        max_length=200,
        examples=["ucdp-ged:300380"],
        description="Stable key, unique within the resource type.",
    ),
]
RequiredText = Annotated[str, BeforeValidator(_strip), Field(min_length=1)]
Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Strict(BaseModel):
    """Input models reject fields they do not know, so typos are errors, not silent no-ops."""

    model_config = ConfigDict(extra="forbid")


def partial(create: type[BaseModel]) -> type[BaseModel]:
    """The PATCH body of a resource: `create`'s fields with their constraints, each optional
    with a default of None (`null` clears a nullable field; which fields were sent is what counts).
    Cross-field rules are left out: PATCH validates the merged row through `create` itself."""
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        fields[name] = (annotation | None, Field(default=None, description=info.description))
    name = create.__name__.removesuffix("Create") + "Update"
    model: type[BaseModel] = create_model(name, __base__=Strict, __module__=create.__module__, **fields)
    return model


class ResourceOut(BaseModel):
    id: int
    ref: str | None
    created_at: Timestamp
    updated_at: Timestamp


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque; pass as `cursor` for the next page. Null on the last page."
    )


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, the shape of every error."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer."""
    descriptions = {
        400: "Malformed request (e.g. a cursor from other filters)",
        401: "Missing, unknown or revoked API key",
        403: "The key's scope does not allow this",
        404: "No such row",
        409: "Conflict with other rows",
        412: "If-Match does not match the row's current ETag",
        413: "Request body too large",
        422: "Invalid parameter or body",
        503: "Database unavailable",
    }
    return {
        code: {
            "model": Problem,
            "description": descriptions[code],
            "content": {"application/problem+json": {}},
        }
        for code in codes
    }

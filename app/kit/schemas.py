"""Field types shared by the input and output schemas."""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.fields import FieldInfo
from sqlmodel.main import FieldInfoMetadata

from app.core.countries import ISO_ALPHA2
from app.core.enums import (
    Reliability,
)
from app.core.errors import FieldError
from app.core.text import NAME_MAX, REF_MAX

T = TypeVar("T")


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _check_country(value: str) -> str:
    if value not in ISO_ALPHA2:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


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
REF = (
    "Stable key, unique within the resource type (e.g. `ucdp-ged:300380`), that dataset files "
    "and importers match records on; null if the row has none."
)
COUNTRY = "ISO 3166-1 alpha-2 country code, upper case (any case is accepted on input)"
GRADE = "NATO Admiralty source reliability, A (best) … F (cannot be judged)."
Grade = Annotated[Reliability, BeforeValidator(_upper), Field(description=GRADE)]
Credibility = Annotated[
    int,
    Field(ge=1, le=6, description="Admiralty information credibility, 1 (confirmed) … 6."),
]
Name = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=NAME_MAX)]
Ref = Annotated[
    str,
    BeforeValidator(_strip),
    Field(
        min_length=1,
        max_length=REF_MAX,
        examples=["ucdp-ged:300380"],
        description="Stable key, unique within the resource type.",
    ),
]
RequiredText = Annotated[str, BeforeValidator(_strip), Field(min_length=1)]
# Bounds on text (issue: no field may take the whole 50 MB body): titles and place names are one
# line, free text is up to 100,000 characters. Input only: columns stay unbounded `text`.
LINE_MAX = 1_000
FREE_TEXT_MAX = 100_000
Title = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=LINE_MAX)]
Line = Annotated[str, Field(max_length=LINE_MAX)]
FreeText = Annotated[str, Field(max_length=FREE_TEXT_MAX)]
LongText = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=FREE_TEXT_MAX)]
Timestamp = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Figure = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Language = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", max_length=35, examples=["en"])
]
Url = Annotated[str, Field(min_length=1, max_length=2000, examples=["https://www.forbes.com/"])]
ShortText = Annotated[str, Field(min_length=1, max_length=100)]


def unstorable(value: object) -> tuple[str, str] | None:
    """The first string in `value` (walked through objects and arrays) that no database can
    store: `(where, why)`, e.g. `("aliases.2", "must not contain NUL characters")`, or None.
    PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate (JSON `"\\ud800"`) is not
    text in any encoding; both are the client's mistake, a 422, never a database error."""
    return None if _plainly_storable(value) else _first_unstorable(value, "")


def _first_unstorable(value: object, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        if "\x00" in value:
            return path, "must not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "must not contain lone surrogates (invalid Unicode)"
        return None
    if isinstance(value, dict):
        items: Iterable[tuple[object, object]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _first_unstorable(key, path) if isinstance(key, str) else None
        found = found or _first_unstorable(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _plainly_storable(value: object) -> bool:
    """True when one pass of orjson (in C) shows `value` holds neither NUL nor a lone
    surrogate: it refuses surrogates, writes NUL as `\\u0000`, and refuses what it cannot
    encode. Anything else — or a `\\u0000` that a backslash in the text made — is left to
    the walk, which names the field. Every input model runs this on every nested object (an
    import validates hundreds of thousands): the walk alone, in Python, cost about 4 % of an
    import's time."""
    try:
        return b"\\u0000" not in orjson.dumps(value)
    except TypeError:
        return False


class Strict(BaseModel):
    """Input models reject fields they do not know, so typos are errors, not silent no-ops;
    strings no database can store (NUL, lone surrogates), naming the field; and JSON values of
    another type than the OpenAPI says, which pydantic's lax mode would convert: `false` for a
    number, `0` for a date (the Unix epoch)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def storable_text(cls, data: object, info: ValidationInfo) -> object:
        if info.context is not None and info.context.get(TEXT_CHECKED):
            return data
        found = unstorable(data)
        if found:
            raise FieldError(*found)
        return data

    @model_validator(mode="before")
    @classmethod
    def json_types(cls, data: object) -> object:
        if isinstance(data, dict):
            for name, exact, accepts, kind in _typed_fields(cls):
                value = data.get(name)
                if value is not None and type(value) not in exact and not accepts(value):
                    raise FieldError(name, f"must be {kind}, not {json.dumps(value)}")
        return data


# Validation context: the caller has already checked every string of the data it validates
# (the dataset loader checks each whole record first), so the models need not walk it again.
TEXT_CHECKED = "text_checked"

_JSON_KINDS: dict[str, Callable[[object], bool]] = {
    "a number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "true or false": lambda value: isinstance(value, bool),
    # a date object too: PATCH validates the stored row merged with the changes
    "a date string (YYYY-MM-DD)": lambda value: isinstance(value, str | date),
}
# The types each kind admits as they are, without calling its check: nearly every value (the
# check runs for each such field of every input model, hundreds of thousands in an import).
_EXACT: dict[str, frozenset[type]] = {
    "a number": frozenset({int, float}),
    "true or false": frozenset({bool}),
    "a date string (YYYY-MM-DD)": frozenset({str, date}),
}
TypedField = tuple[str, frozenset[type], Callable[[object], bool], str]  # name, exact types, check, kind
_TYPED: dict[type[BaseModel], tuple[TypedField, ...]] = {}


def _typed_fields(model: type[BaseModel]) -> tuple[TypedField, ...]:
    """`_value_kinds` of `model` with each kind's exact types and check (worked out once)."""
    typed = _TYPED.get(model)
    if typed is None:
        typed = _TYPED[model] = tuple(
            (name, _EXACT[kind], _JSON_KINDS[kind], kind) for name, kind in _value_kinds(model).items()
        )
    return typed


def _value_kinds(model: type[BaseModel]) -> dict[str, str]:
    """The fields of `model` that take a number, a boolean or a date, by name, with what their
    JSON value must be (`_typed_fields` keeps the answer per model)."""
    kinds = {}
    for name, info in model.model_fields.items():
        found = _base_types(info.annotation)
        if not found:
            continue
        if all(_is_number(t) for t in found):
            kinds[name] = "a number"
        elif found == {bool}:
            kinds[name] = "true or false"
        elif found <= {date, datetime}:
            kinds[name] = "a date string (YYYY-MM-DD)"
    return kinds


def _is_number(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, int | float) and kind is not bool


def _base_types(annotation: Any) -> set[Any]:
    """The types a field admits besides None, through `Annotated` and unions."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _base_types(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return {found for arg in get_args(annotation) for found in _base_types(arg)}
    return set() if annotation is type(None) else {annotation}


def partial(create: type[BaseModel]) -> type[BaseModel]:
    """The PATCH body of a resource: `create`'s fields with their constraints, each optional
    (which fields were sent is what counts). `null` is accepted, and documented, only where the
    field itself admits it: it clears a nullable field, and a required one cannot be cleared.
    Cross-field rules are left out: PATCH validates the merged row through `create` itself."""
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        annotation: Any = info.annotation
        # the constraints of the input, not the column's own (SQLModel's `FieldInfoMetadata`)
        constraints = [item for item in info.metadata if not isinstance(item, FieldInfoMetadata)]
        if constraints:
            annotation = Annotated[annotation, *constraints]
        if _admits_none(info.annotation):
            fields[name] = (annotation | None, Field(default=None, description=description_of(info)))
        else:  # absent means unchanged; a `default: null` would contradict the type
            fields[name] = (
                annotation,
                Field(default=None, description=description_of(info), json_schema_extra=_no_default),
            )
    name = create.__name__.removesuffix("Create") + "Update"
    model: type[BaseModel] = create_model(name, __base__=Strict, __module__=create.__module__, **fields)
    return model


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _admits_none(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return _admits_none(get_args(annotation)[0])
    return annotation is None or type(None) in get_args(annotation)


class ResourceOut(BaseModel):
    id: int = Field(description="Assigned by the service; never reused, even after a delete.")
    ref: str | None = Field(description=REF)
    created_at: Timestamp = Field(description="When the row was created (RFC 3339, UTC); set by the service.")
    updated_at: Timestamp = Field(
        description="When the row was last written (RFC 3339, UTC); set by the service."
    )


def description_of(info: FieldInfo) -> str | None:
    """A field's description: its own, else the one its type carries. A type's description
    reaches the field only when the type is the whole annotation and no SQLModel `Field` (which
    passes `description=None`) is assigned: `CountryCode | None = Field(...)` loses it."""
    return info.description or _type_description(info.annotation)


def _type_description(annotation: Any) -> str | None:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        for item in args[1:]:
            if isinstance(item, FieldInfo) and item.description:
                return item.description
        return _type_description(args[0])
    if origin in (Union, types.UnionType):
        return next((found for arg in args if (found := _type_description(arg))), None)
    return None


def plain(annotation: Any) -> Any:
    """A type without its input constraints: `CountryCode | None` → `str | None`. Read forms
    show what is stored; the constraints are the input's business."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return plain(args[0])
    if origin in (Union, types.UnionType):
        return Union[tuple(plain(arg) for arg in args)]  # noqa: UP007 - built at run time
    if origin is list:
        return list[plain(args[0])]  # type: ignore[misc]
    return annotation


@dataclass(frozen=True)
class Shown:
    """A read form's field that is not one of the resource's own columns: an embedded row or a
    figure derived from others, placed `after` the named field (at the end when None)."""

    annotation: Any
    description: str | None = None
    after: str | None = None


def read_model(
    name: str, fields: type[BaseModel], *, base: type[BaseModel] = ResourceOut, **shown: Shown
) -> type[BaseModel]:
    """The read form (`*Out`) of a resource: `base`, then every field of `fields` (the one
    declaration of the resource's columns) as it is stored — required, without input
    constraints or defaults, with its description — and the `shown` extras in their places."""
    placed: dict[str | None, list[str]] = {}
    for extra, spec in shown.items():
        placed.setdefault(spec.after, []).append(extra)

    definitions: dict[str, Any] = {}

    def add(names: list[str]) -> None:
        for extra in names:
            spec = shown[extra]
            definitions[extra] = (spec.annotation, Field(description=spec.description))
            add(placed.pop(extra, []))

    for field_name, info in fields.model_fields.items():
        if field_name in base.model_fields:
            continue
        definitions[field_name] = (plain(info.annotation), Field(description=description_of(info)))
        add(placed.pop(field_name, []))
    add(placed.pop(None, []))
    if placed:
        raise ValueError(f"{name}: no field named {sorted(k or '' for k in placed)} to place extras after")
    model: type[BaseModel] = create_model(name, __base__=base, __module__=fields.__module__, **definitions)
    return model


class Page(BaseModel, Generic[T]):
    items: list[T] = Field(description="This page's rows, in the list's sort order.")
    next_cursor: str | None = Field(
        description="Opaque; pass as `cursor` for the next page. Null on the last page."
    )


class ProblemError(BaseModel):
    loc: list[str | int] = Field(
        description="Where the error lies: `body`, `query`, `path` or `header` and then field names "
        "and list indexes; for a dataset file, the resource, the record's ref and the field."
    )
    msg: str = Field(description="What is wrong with the value there.")


class Problem(BaseModel):
    """RFC 9457 problem details, the shape of every error."""

    type: str = Field(description="URI naming the kind of problem, e.g. `…/problems/validation-error`.")
    title: str = Field(description="Short summary of that kind of problem, the same for every occurrence.")
    status: int = Field(description="The HTTP status code of the response.")
    detail: str = Field(description="What went wrong in this occurrence.")
    errors: list[ProblemError] | None = Field(
        default=None,
        description="The values at fault: every invalid one on a 422, the clashing field on a 409 "
        "that can name one. Absent otherwise.",
    )


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer."""
    descriptions = {
        400: "Malformed request (e.g. a cursor from other filters)",
        401: "Missing, unknown, revoked or expired API key",
        403: "The key's scope does not allow this",
        404: "No such row",
        409: "Conflict with other rows",
        412: "If-Match does not match the row's current ETag",
        413: "Request body too large",
        422: "Invalid parameter or body",
        503: "Database unavailable",
    }
    return {
        # the model registers Problem; kit.openapi files it under application/problem+json
        code: {"model": Problem, "description": descriptions[code]}
        for code in codes
    }


def check_ordered(model: BaseModel, names: tuple[str, str, str]) -> None:
    """low ≤ best ≤ high wherever two of them are given."""
    values = [(name, getattr(model, name)) for name in names]
    given = [(name, value) for name, value in values if value is not None]
    for i, (lower_name, lower) in enumerate(given):
        for upper_name, upper in given[i + 1 :]:
            if lower > upper:
                raise FieldError(upper_name, f"{lower_name} ({lower}) must not exceed {upper_name} ({upper})")


def distinct_aliases(name: str, aliases: Iterable[str]) -> list[str]:
    """Aliases without repeats (in any case) and without the row's own name, which add
    nothing: the first spelling is kept, in the order given."""
    seen = {name.casefold()}
    kept = []
    for alias in aliases:
        if alias.casefold() not in seen:
            seen.add(alias.casefold())
            kept.append(alias)
    return kept

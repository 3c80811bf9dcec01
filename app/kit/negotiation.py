"""Content negotiation for reads offered in more than one media type (a statement as JSON or
as a schema.org `Claim` in JSON-LD).

`application/json` is always offered first and is the answer unless the client's `Accept`
prefers another offered type by its q-value. An `Accept` that matches nothing offered is
answered in JSON rather than with a 406, as every other route of the service answers whatever
`Accept` says. Answers that may differ by `Accept` carry `Vary: Accept`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.kit.read import Row
from app.kit.responses import JSON, json_response

JSON_LD = "application/ld+json"


def _ranges(header: str) -> list[tuple[str, float]]:
    """`(media range, q)` of an Accept header; a malformed q counts as 0 (refused)."""
    ranges = []
    for part in header.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def _quality(media: str, ranges: list[tuple[str, float]]) -> float:
    """The q the most specific matching range gives `media` (RFC 9110 §12.5.1), 0 if none."""
    kind = media.split("/")[0]
    best: tuple[int, float] | None = None
    for pattern, q in ranges:
        if pattern == media:
            specificity = 2
        elif pattern == f"{kind}/*":
            specificity = 1
        elif pattern == "*/*":
            specificity = 0
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, q)
    return best[1] if best else 0.0


def preferred_media(request: Request, offered: Sequence[str]) -> str:
    """The offered media type the request's `Accept` prefers; ties go to the earlier one, and
    the first one answers when `Accept` is absent or accepts none of them."""
    header = request.headers.get("accept")
    if not header:
        return offered[0]
    ranges = _ranges(header)
    scored = [(_quality(media, ranges), -index, media) for index, media in enumerate(offered)]
    q, _, media = max(scored)
    return media if q > 0 else offered[0]


@dataclass(frozen=True)
class Alternate:
    """Another media type a read is offered in: the model documenting it and how a read form
    becomes it."""

    media: str
    model: type[BaseModel]
    render: Callable[[Session, Request, Row], object]


VARY_ACCEPT = {
    "description": "`Accept`: the answer's media type follows it.",
    "schema": {"type": "string"},
}


def alternate_content(*alternates: Alternate) -> dict[int | str, dict[str, Any]]:
    """The 200 answer's extra media types for `responses=`, their schemas in the components
    (see `component_schemas`)."""
    content = {a.media: {"schema": {"$ref": f"#/components/schemas/{a.model.__name__}"}} for a in alternates}
    return {200: {"content": content, "headers": {"Vary": VARY_ACCEPT}}}


def negotiated_response(
    request: Request, session: Session, form: Row, alternates: Sequence[Alternate]
) -> Response:
    """`form` as JSON, or as the alternate the request's `Accept` prefers, with `Vary: Accept`
    (and each representation its own ETag)."""
    media = preferred_media(request, [JSON, *(a.media for a in alternates)])
    chosen = next((a for a in alternates if a.media == media), None)
    if chosen is None:
        return json_response(request, form, headers={"Vary": "Accept"})
    body = chosen.render(session, request, form)
    return json_response(request, body, media_type=chosen.media, headers={"Vary": "Accept"})


def component_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` that asks `kit.openapi` to place these models' schemas (and the ones
    they use) in the components."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {COMPONENTS_KEY: schemas}


COMPONENTS_KEY = "x-component-schemas"

"""Event dashboards: timelines, facets, claims and the events export.

Registered before the item routes so that `/v1/events/timeline` is not read as an event id.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.errors import NotFound
from app.events.aggregates import FacetField, Facets, GroupBy, Interval, Timeline, facets, timeline
from app.events.claims import EventClaims, event_claims
from app.events.filter import apply_event_filter
from app.events.model import Event
from app.events.read import EVENT_CSV, EVENTS, STORED_EVENTS, EventSort, event_sort_key
from app.events.related import MAX_DEPTH, RelatedEvents, related_events
from app.events.routes import EventFilters, EventId, EventSortParam
from app.jsonld.claims import EventClaimsLD, event_claims_document
from app.kit.deps import AsOfSessionDep, ReadAccess, quick_read
from app.kit.export import MEDIA_TYPES, ExportFormat, export_response
from app.kit.items import ITEM_ERRORS, READ_ERRORS, refuse_writes
from app.kit.negotiation import JSON_LD, Alternate, alternate_content, component_schemas, negotiated_response
from app.kit.read import Row
from app.kit.responses import cached_json_response, json_response

router = APIRouter(prefix="/v1", tags=["dashboards"])


@router.get(
    "/events/timeline",
    name="event_timeline",
    response_model=Timeline,
    responses=READ_ERRORS,
    dependencies=[ReadAccess],
)
def events_timeline(
    request: Request,
    session: AsOfSessionDep,
    filters: EventFilters,
    interval: Annotated[Interval, Query(description="Bucket width; weeks start on Monday.")] = Interval.month,
    group_by: Annotated[
        GroupBy | None,
        Query(description="One bucket per period and key; events without the key are left out."),
    ] = None,
) -> Response:
    """Matching events counted per period of their start date (weeks start on Monday), with
    fatality sums (null counts as 0) and zero buckets between the first and the last."""
    return cached_json_response(
        request, session, lambda: timeline(session, filters, interval, group_by), shared=True
    )


@router.get(
    "/events/facets",
    name="event_facets",
    response_model=Facets,
    responses=READ_ERRORS,
    dependencies=[ReadAccess],
)
def events_facets(
    request: Request,
    session: AsOfSessionDep,
    filters: EventFilters,
    field: Annotated[list[FacetField] | None, Query(description="Repeatable; all four by default.")] = None,
    size: Annotated[int, Query(ge=1, le=500, description="Top values per field.")] = 20,
) -> Response:
    """Counts of matching events per value, largest first, ties by value."""
    return cached_json_response(
        request, session, lambda: facets(session, filters, field or list(FacetField), size), shared=True
    )


@router.get(
    "/events/export",
    responses={
        **READ_ERRORS,
        200: {
            "description": "Every matching event, streamed",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        },
    },
    dependencies=[ReadAccess],
)
def export_events(
    request: Request,
    session: AsOfSessionDep,
    filters: EventFilters,
    format: Annotated[
        ExportFormat, Query(description="csv (RFC 4180), ndjson, or geojson (RFC 7946).")
    ] = ExportFormat.csv,
    sort: EventSortParam = EventSort.start_date_desc,
) -> Response:
    """Every matching event in the list's order, as CSV, NDJSON or GeoJSON."""
    stmt = apply_event_filter(session, EVENTS.select(), filters)
    return export_response(request, session, EVENT_CSV, format, stmt, event_sort_key(sort), STORED_EVENTS)


def _claims_ld(session: Session, request: Request, answer: Row) -> object:
    """The claims answer as a JSON-LD `ItemList` of schema.org `Claim`s, in its order."""
    ids = [claim["statement_id"] for group in answer["measures"] for claim in group["claims"]]
    return event_claims_document(session, request.scope, answer["event_id"], ids)


CLAIMS_LD = Alternate(JSON_LD, EventClaimsLD, _claims_ld)


@router.get(
    "/events/{event_id}/claims",
    name="event_claims",
    response_model=EventClaims,
    responses={**ITEM_ERRORS, **alternate_content(CLAIMS_LD)},
    openapi_extra=component_schemas(EventClaimsLD),
    dependencies=[ReadAccess],
)
@quick_read
def claims(request: Request, session: AsOfSessionDep, event_id: EventId) -> Response:
    """The event's quantitative statements by measure and unit: each claim with its speaker,
    source and grades, the overall range, and whether the claims contradict each other.
    With `Accept: application/ld+json` the claims come as a schema.org `ItemList` of `Claim`s
    in JSON-LD instead (`application/json` stays the default)."""
    _require_event(session, event_id)
    return negotiated_response(request, session, event_claims(session, event_id).model_dump(), [CLAIMS_LD])


@router.get(
    "/events/{event_id}/related",
    name="related_events",
    response_model=RelatedEvents,
    responses=ITEM_ERRORS,
    dependencies=[ReadAccess],
)
def related(
    request: Request,
    session: AsOfSessionDep,
    event_id: EventId,
    depth: Annotated[
        int, Query(ge=1, le=MAX_DEPTH, description="Steps to follow, 1–3 (1: the direct relations).")
    ] = 1,
) -> Response:
    """The events related to this one up to `depth` steps away, following relations both ways;
    each at the smallest depth it is reached at, with the type and direction of the relation
    that reaches it."""
    _require_event(session, event_id)
    return json_response(request, related_events(session, event_id, depth))


def _require_event(session: Session, event_id: int) -> None:
    if session.scalar(sa.select(col(Event.id)).where(col(Event.id) == event_id)) is None:
        raise NotFound(f"no event with id {event_id}")


refuse_writes(router)

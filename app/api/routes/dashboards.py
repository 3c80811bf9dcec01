"""Dashboards: timelines, facets, claims and streaming exports.

Registered before the item routes so that `/v1/events/timeline` is not read as an event id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import col

from app.api.deps import ReadAccess, SessionDep, quick_read
from app.api.responses import cache_headers, etag_matches, is_head, json_response, version_etag
from app.api.routes.common import ITEM_ERRORS, READ_ERRORS, EventSortParam, StatementSortParam
from app.api.routes.events import EventFilters, EventId
from app.core.errors import NotFound, ValidationFailed
from app.db.session import session_factory
from app.models import Event
from app.queries import views
from app.queries.aggregates import FacetField, Facets, GroupBy, Interval, Timeline, facets, timeline
from app.queries.claims import EventClaims, event_claims
from app.queries.export import (
    EVENT_CSV,
    MEDIA_TYPES,
    STATEMENT_CSV,
    CsvLayout,
    ExportFormat,
    export_stream,
)
from app.queries.filters import (
    StatementFilter,
    apply_event_filter,
    apply_statement_filter,
)
from app.queries.listing import (
    EventSort,
    StatementSort,
    event_sort_key,
    statement_sort_key,
)
from app.queries.pagination import SortKey

router = APIRouter(prefix="/v1", tags=["dashboards"])


@router.get("/events/timeline", response_model=Timeline, responses=READ_ERRORS, dependencies=[ReadAccess])
def events_timeline(
    request: Request,
    session: SessionDep,
    filters: EventFilters,
    interval: Annotated[Interval, Query(description="Bucket width; weeks start on Monday.")] = Interval.month,
    group_by: Annotated[
        GroupBy | None,
        Query(description="One bucket per period and key; events without the key are left out."),
    ] = None,
) -> Response:
    """Matching events counted per period of their start date (weeks start on Monday), with
    fatality sums (null counts as 0) and zero buckets between the first and the last."""
    return json_response(request, timeline(session, filters, interval, group_by))


@router.get("/events/facets", response_model=Facets, responses=READ_ERRORS, dependencies=[ReadAccess])
def events_facets(
    request: Request,
    session: SessionDep,
    filters: EventFilters,
    field: Annotated[list[FacetField] | None, Query(description="Repeatable; all four by default.")] = None,
    size: Annotated[int, Query(ge=1, le=500, description="Top values per field.")] = 20,
) -> Response:
    """Counts of matching events per value, largest first, ties by value."""
    return json_response(request, facets(session, filters, field or list(FacetField), size))


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
    session: SessionDep,
    filters: EventFilters,
    format: Annotated[
        ExportFormat, Query(description="csv (RFC 4180), ndjson, or geojson (RFC 7946).")
    ] = ExportFormat.csv,
    sort: EventSortParam = EventSort.start_date_desc,
) -> Response:
    """Every matching event in the list's order, as CSV, NDJSON or GeoJSON."""
    stmt = apply_event_filter(session, views.EVENTS.select(), filters)
    return _export(request, session, EVENT_CSV, format, stmt, event_sort_key(sort))


@router.get(
    "/statements/export",
    responses={
        **READ_ERRORS,
        200: {
            "description": "Every matching statement, streamed",
            "content": {MEDIA_TYPES[f]: {} for f in (ExportFormat.csv, ExportFormat.ndjson)},
        },
    },
    dependencies=[ReadAccess],
)
def export_statements(
    request: Request,
    session: SessionDep,
    filters: Annotated[StatementFilter, Query()],
    format: Annotated[ExportFormat, Query(description="csv (RFC 4180) or ndjson.")] = ExportFormat.csv,
    sort: StatementSortParam = StatementSort.stated_on_desc,
) -> Response:
    """Every matching statement in the list's order, as CSV or NDJSON."""
    if format is ExportFormat.geojson:
        raise ValidationFailed("statements have no coordinates: use csv or ndjson", loc=["query", "format"])
    stmt = apply_statement_filter(session, views.STATEMENTS.select(), filters)
    return _export(request, session, STATEMENT_CSV, format, stmt, statement_sort_key(sort))


def _export(
    request: Request,
    session: SessionDep,
    layout: CsvLayout,
    format: ExportFormat,
    stmt: sa.Select[Any],
    key: SortKey,
) -> Response:
    """The ETag is the data version (the change feed's last seq) and the query: no need to
    produce the file to know whether the client already has it, and HEAD produces none."""
    filename = f"{layout.form.name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.{format}"
    headers = {
        "ETag": version_etag(session, request),
        "Content-Disposition": f'attachment; filename="{filename}"',
        **cache_headers(),
    }
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if is_head(request):  # the headers of the stream, so compression announces the same
        return StreamingResponse(iter(()), media_type=MEDIA_TYPES[format], headers=headers)

    def pieces() -> Iterator[bytes]:
        # A session of its own: the request's is closed before the stream is sent.
        with session_factory()() as export_session:
            yield from export_stream(export_session, layout, format, stmt, key)

    return StreamingResponse(pieces(), media_type=MEDIA_TYPES[format], headers=headers)


@router.get(
    "/events/{event_id}/claims", response_model=EventClaims, responses=ITEM_ERRORS, dependencies=[ReadAccess]
)
@quick_read
def claims(request: Request, session: SessionDep, event_id: EventId) -> Response:
    """The event's quantitative statements by measure and unit: each claim with its speaker,
    source and grades, the overall range, and whether the claims contradict each other."""
    if session.scalar(sa.select(col(Event.id)).where(col(Event.id) == event_id)) is None:
        raise NotFound(f"no event with id {event_id}")
    return json_response(request, event_claims(session, event_id))

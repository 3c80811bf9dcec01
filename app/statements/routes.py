"""/v1/statements, and the statements export (under the dashboards tag)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.errors import ValidationFailed
from app.jsonld.claims import ClaimLD, claim_document
from app.kit.crud import ResourceSpec
from app.kit.deps import AsOfSessionDep, ReadAccess
from app.kit.export import MEDIA_TYPES, ExportFormat, export_response
from app.kit.items import READ_ERRORS, ItemRoutes, Sorting, add_item_routes, refuse_writes
from app.kit.negotiation import JSON_LD, Alternate
from app.kit.read import Row
from app.statements.filter import StatementFilter, apply_statement_filter
from app.statements.model import Statement, StatementMention
from app.statements.read import STATEMENT_CSV, STATEMENTS, StatementSort, statement_sort_key
from app.statements.rules import save_statements
from app.statements.schemas import StatementCreate, StatementUpdate

router = APIRouter(prefix="/v1", tags=["statements"])
# before the item routes, so that `/v1/statements/export` is not read as a statement id
exports = APIRouter(prefix="/v1", tags=["dashboards"])

StatementSortParam = Annotated[
    StatementSort, Query(description="Sort key, `-` for descending; ties by id in the same direction.")
]

STATEMENT_SPEC = ResourceSpec(
    "statements",
    "statement",
    Statement,
    StatementCreate,
    save_statements,
    STATEMENTS,
    (),
    (col(StatementMention.statement_id),),
)


@exports.get(
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
    session: AsOfSessionDep,
    filters: Annotated[StatementFilter, Query()],
    format: Annotated[ExportFormat, Query(description="csv (RFC 4180) or ndjson.")] = ExportFormat.csv,
    sort: StatementSortParam = StatementSort.stated_on_desc,
) -> Response:
    """Every matching statement in the list's order, as CSV or NDJSON."""
    if format is ExportFormat.geojson:
        raise ValidationFailed("statements have no coordinates: use csv or ndjson", loc=["query", "format"])
    stmt = apply_statement_filter(session, STATEMENTS.select(), filters)
    return export_response(request, session, STATEMENT_CSV, format, stmt, statement_sort_key(sort))


refuse_writes(exports)


def _as_claim(session: Session, request: Request, form: Row) -> object:
    return claim_document(session, request.scope, form["id"])


CLAIM_LD = Alternate(JSON_LD, ClaimLD, _as_claim)


add_item_routes(
    router,
    ItemRoutes(
        STATEMENT_SPEC,
        StatementUpdate,
        StatementFilter,
        apply_statement_filter,
        "Statements, newest first by default; ties by id in the same direction.",
        Sorting(StatementSortParam, StatementSort.stated_on_desc, statement_sort_key),
        get_doc="One statement by id; 404 problem if there is none. Carries the ETag used by If-Match.\n"
        "With `Accept: application/ld+json` it answers the statement as a schema.org `Claim` in "
        "JSON-LD instead (`application/json` stays the default).",
        alternates=(CLAIM_LD,),
    ),
)

"""/v1/sources and /v1/documents."""

from fastapi import APIRouter

from app.api.routes.items import ItemRoutes, add_item_routes
from app.queries.filters import DocumentFilter, SourceFilter, apply_document_filter, apply_source_filter
from app.queries.listing import DOCUMENT_ORDER, SOURCE_ORDER
from app.schemas.resources import DocumentUpdate, SourceUpdate
from app.services.crud import DOCUMENTS, SOURCES

router = APIRouter(prefix="/v1", tags=["sources and documents"])


add_item_routes(
    router,
    ItemRoutes(
        SOURCES,
        SourceUpdate,
        SourceFilter,
        apply_source_filter,
        "Sources, sorted by name case-insensitively.",
        SOURCE_ORDER,
        "name",
    ),
)
add_item_routes(
    router,
    ItemRoutes(
        DOCUMENTS,
        DocumentUpdate,
        DocumentFilter,
        apply_document_filter,
        "Documents, newest `published_on` first (undated last), then by id descending.",
        DOCUMENT_ORDER,
        "-published_on",
    ),
)

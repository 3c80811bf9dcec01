"""/v1/sources and /v1/documents."""

from fastapi import APIRouter
from sqlmodel import col

from app.events.model import Citation
from app.kit.crud import Blocker, ResourceSpec, counter
from app.kit.items import ItemRoutes, add_item_routes
from app.sources.filter import DocumentFilter, SourceFilter, apply_document_filter, apply_source_filter
from app.sources.model import Document, Source, SourceAlias
from app.sources.read import DOCUMENT_ORDER, DOCUMENTS, SOURCE_ORDER, SOURCES
from app.sources.rules import save_documents, save_sources
from app.sources.schemas import DocumentCreate, DocumentUpdate, SourceCreate, SourceUpdate
from app.statements.model import Statement

router = APIRouter(prefix="/v1", tags=["sources and documents"])

SOURCE_SPEC = ResourceSpec(
    "sources",
    "source",
    Source,
    SourceCreate,
    save_sources,
    SOURCES,
    (Blocker("documents", counter(col(Document.source_id))),),
    (col(SourceAlias.source_id),),
)
DOCUMENT_SPEC = ResourceSpec(
    "documents",
    "document",
    Document,
    DocumentCreate,
    save_documents,
    DOCUMENTS,
    (
        Blocker("event citations", counter(col(Citation.document_id))),
        Blocker("statements", counter(col(Statement.document_id))),
    ),
)

add_item_routes(
    router,
    ItemRoutes(
        SOURCE_SPEC,
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
        DOCUMENT_SPEC,
        DocumentUpdate,
        DocumentFilter,
        apply_document_filter,
        "Documents, newest `published_on` first (undated last), then by id descending.",
        DOCUMENT_ORDER,
        "-published_on",
    ),
)

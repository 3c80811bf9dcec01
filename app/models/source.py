"""Sources and the documents they publish."""

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field

from app.models.common import NAME_MAX, NO_ID_REUSE, ResourceRow, check
from app.models.enums import Reliability, SourceKind, sql_in


class Source(ResourceRow, table=True):
    __tablename__ = "source"
    __table_args__ = (
        check(sql_in("kind", SourceKind), "kind"),
        check(sql_in("reliability", Reliability), "reliability"),
        check("length(name) >= 1", "name_not_empty"),
        sa.Index("ix_source_name_key_id", "name_key", "id"),
        NO_ID_REUSE,
    )

    name: str = Field(max_length=NAME_MAX)
    name_key: str = Field(max_length=NAME_MAX, unique=True)
    kind: str = Field(max_length=40, index=True)
    country: str | None = Field(default=None, max_length=2, index=True)
    url: str | None = Field(default=None)
    reliability: str = Field(default="F", max_length=1, index=True)
    description: str | None = Field(default=None)


class Document(ResourceRow, table=True):
    __tablename__ = "document"
    __table_args__ = (
        check("length(title) >= 1", "title_not_empty"),
        sa.Index("ix_document_published_on_id", "published_on", "id"),
        # a source's documents with their ids, index-only on PostgreSQL too (the source facet)
        sa.Index("ix_document_source_id_id", "source_id", "id"),
        NO_ID_REUSE,
    )

    source_id: int = Field(foreign_key="source.id")
    title: str
    url: str | None = Field(default=None, unique=True)
    published_on: date | None = None
    language: str | None = Field(default=None, max_length=35)

"""Sources and the documents they publish."""

from datetime import date

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from app.core.enums import Reliability, SourceKind, sql_in
from app.core.text import NAME_MAX
from app.db.base import NO_ID_REUSE, check
from app.kit.rows import Referenced, ResourceRow
from app.kit.schemas import (
    COUNTRY,
    GRADE,
    CountryCode,
    FreeText,
    Grade,
    Id,
    Language,
    Name,
    Title,
    Url,
)


class SourceFields(Referenced):
    """A source's own columns, declared once (see `kit.rows`)."""

    name: Name = Field(
        description="1–500 characters; unique among sources, case-insensitively, and no other source's alias."
    )
    kind: SourceKind = Field(
        sa_type=AutoString(length=40), index=True, description="What sort of source it is."
    )
    country: CountryCode | None = Field(
        default=None,
        sa_type=AutoString(length=2),
        index=True,
        description=f"Where the source is based: {COUNTRY}; null if unknown.",
    )
    url: Url | None = Field(default=None, description="The source's home page, or null.")
    reliability: Grade = Field(
        default=Reliability.F,
        sa_type=AutoString(length=1),
        index=True,
        description=GRADE,  # SQLModel's `Field` would otherwise clear the type's description
    )
    description: FreeText | None = Field(default=None, description="Free-text notes, or null.")


class Source(SourceFields, ResourceRow, table=True):
    __tablename__ = "source"
    __table_args__ = (
        check(sql_in("kind", SourceKind), "kind"),
        check(sql_in("reliability", Reliability), "reliability"),
        check("length(name) >= 1", "name_not_empty"),
        sa.Index("ix_source_name_key_id", "name_key", "id"),
        NO_ID_REUSE,
    )

    name_key: str = Field(max_length=NAME_MAX, unique=True)


class SourceAlias(SQLModel, table=True):
    """One alias of one source ("Reuters News" for Reuters); `alias_key` makes it unique
    case-insensitively, and no alias is another source's name."""

    __tablename__ = "source_alias"
    __table_args__ = (
        check("length(alias) >= 1", "alias_not_empty"),
        # a source's aliases in their order, index-only: what every read of sources embeds
        sa.Index("ix_source_alias_source_id_position", "source_id", "position", "alias"),
        NO_ID_REUSE,
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("source.id", ondelete="CASCADE"), nullable=False)
    )
    alias: str = Field(max_length=NAME_MAX)
    alias_key: str = Field(max_length=NAME_MAX, unique=True)
    position: int = 0


class DocumentFields(Referenced):
    """A document's own columns, declared once."""

    source_id: Id = Field(foreign_key="source.id", description="Id of the source that published it.")
    title: Title = Field(sa_type=AutoString(), description="The document's title or headline.")
    url: Url | None = Field(
        default=None, unique=True, description="Where it was published; unique among documents. Null if none."
    )
    published_on: date | None = Field(default=None, description="Date of publication, or null when unknown.")
    language: Language | None = Field(
        default=None, sa_type=AutoString(length=35), description="BCP 47 language tag, e.g. `en`, or null."
    )


class Document(DocumentFields, ResourceRow, table=True):
    __tablename__ = "document"
    __table_args__ = (
        check("length(title) >= 1", "title_not_empty"),
        sa.Index("ix_document_published_on_id", "published_on", "id"),
        # a source's documents with their ids, index-only on PostgreSQL too (the source facet)
        sa.Index("ix_document_source_id_id", "source_id", "id"),
        NO_ID_REUSE,
    )

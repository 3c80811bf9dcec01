"""The source and document filters, and the source filter events and statements share.

Source names and aliases are resolved to ids (a 422 when one identifies no source) the first
time a filter is applied, and the answer is kept on the filter, as the actor filter does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.enums import (
    SourceKind,
)
from app.db.base import contains_ci
from app.kit.filters import BaseFilter, DateRange, Text, ids_named, refs_in
from app.kit.schemas import CountryCode, Grade, Id
from app.sources.model import Document, Source, SourceAlias


class SourceScopeFilter(BaseModel):
    """`source=`: rows from sources named so, by name or alias (events through their
    citations, documents directly, statements through their document)."""

    source: list[Text] = Field(
        default_factory=list,
        description="Source names or aliases, case-insensitive (repeatable: any of them); one that "
        "identifies no source is a 422.",
        examples=[["Reuters News"]],
    )
    _source_ids: list[int] | None = PrivateAttr(default=None)

    def source_ids(self, session: Session) -> list[int]:
        """The ids the names and aliases identify, looked up once per filter."""
        if self._source_ids is not None:
            return self._source_ids
        ids = ids_named(
            session,
            self.source,
            by_name=(col(Source.name_key), col(Source.id)),
            by_alias=(col(SourceAlias.alias_key), col(SourceAlias.source_id)),
            what="source",
        )
        self._source_ids = sorted(ids)
        return self._source_ids

    def documents_of_sources(self, session: Session) -> sa.Select[int | None]:
        """The ids of the documents those sources published."""
        return sa.select(col(Document.id)).where(col(Document.source_id).in_(self.source_ids(session)))


class SourceFilter(BaseFilter):
    q: Text | None = Field(
        default=None, max_length=500, description="Case-insensitive substring of the name."
    )
    kind: list[SourceKind] = Field(
        default_factory=list, description="Source kinds (repeatable).", examples=[["government"]]
    )
    country: list[CountryCode] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes, any case (repeatable)."
    )
    min_reliability: Grade | None = Field(
        default=None, description="Graded this or better (A best … F), any case."
    )


class DocumentFilter(BaseFilter, DateRange, SourceScopeFilter):
    source_id: list[Id] = Field(default_factory=list, description="Documents of these sources (repeatable).")
    q: Text | None = Field(
        default=None, max_length=500, description="Case-insensitive substring of the title."
    )


def apply_source_filter(session: Session, stmt: Select[Any], f: SourceFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(refs_in(col(Source.ref), f.ref))
    if f.q:
        stmt = stmt.where(contains_ci(col(Source.name), f.q))
    if f.kind:
        stmt = stmt.where(col(Source.kind).in_([k.value for k in f.kind]))
    if f.country:
        stmt = stmt.where(col(Source.country).in_(f.country))
    if f.min_reliability:
        stmt = stmt.where(col(Source.reliability) <= f.min_reliability.value)
    return stmt


def apply_document_filter(session: Session, stmt: Select[Any], f: DocumentFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(refs_in(col(Document.ref), f.ref))
    if f.source_id:
        stmt = stmt.where(col(Document.source_id).in_(f.source_id))
    if f.source:
        stmt = stmt.where(col(Document.source_id).in_(f.source_ids(session)))
    if f.date_from:
        stmt = stmt.where(col(Document.published_on) >= f.date_from)
    if f.date_to:
        stmt = stmt.where(col(Document.published_on) <= f.date_to)
    if f.q:
        stmt = stmt.where(contains_ci(col(Document.title), f.q))
    return stmt

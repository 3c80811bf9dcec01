"""The source and document filters."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.enums import (
    SourceKind,
)
from app.db.base import contains_ci
from app.kit.filters import BaseFilter, DateRange, Text, refs_in
from app.kit.schemas import CountryCode, Grade, Id
from app.sources.model import Document, Source


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


class DocumentFilter(BaseFilter, DateRange):
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
    if f.date_from:
        stmt = stmt.where(col(Document.published_on) >= f.date_from)
    if f.date_to:
        stmt = stmt.where(col(Document.published_on) <= f.date_to)
    if f.q:
        stmt = stmt.where(contains_ci(col(Document.title), f.q))
    return stmt

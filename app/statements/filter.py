"""The statement filter."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import (
    Field,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.filter import ActorScopeFilter, actor_scope_ids
from app.core.enums import (
    StatementKind,
    StatementRole,
)
from app.db.base import contains_ci, unicode_lower
from app.kit.filters import BaseFilter, DateRange, Text, refs_in
from app.kit.schemas import Credibility, Grade, Id
from app.sources.filter import SourceScopeFilter
from app.sources.model import Document, Source
from app.statements.model import Statement, StatementMention


class StatementFilter(BaseFilter, DateRange, ActorScopeFilter, SourceScopeFilter):
    role: list[StatementRole] = Field(
        default_factory=list, description="Narrow the actor filter to speaker or mentioned."
    )
    event_id: list[Id] = Field(
        default_factory=list, description="Statements about these events (repeatable)."
    )
    kind: list[StatementKind] = Field(
        default_factory=list, description="Statement kinds (repeatable).", examples=[["claim"]]
    )
    measure: list[Text] = Field(
        default_factory=list,
        description="What a claimed figure counts, case-insensitive (repeatable).",
        examples=[["personnel"]],
    )
    min_reliability: Grade | None = Field(
        default=None, description="The document's source is graded this or better."
    )
    min_credibility: Credibility | None = Field(
        default=None, description="The statement's own credibility is this or better (1 best)."
    )
    q: Text | None = Field(
        default=None, max_length=500, description="Case-insensitive substring of the text."
    )


def apply_statement_filter(session: Session, stmt: Select[Any], f: StatementFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(refs_in(col(Statement.ref), f.ref))
    if f.has_actor_filter:
        scope = actor_scope_ids(session, f)
        roles = set(f.role) or {StatementRole.speaker, StatementRole.mentioned}
        matches: list[sa.ColumnElement[bool]] = []
        if StatementRole.speaker in roles:
            matches.append(col(Statement.speaker_id).in_(scope))
        if StatementRole.mentioned in roles:
            matches.append(
                sa.select(col(StatementMention.statement_id))
                .where(
                    col(StatementMention.statement_id) == col(Statement.id),
                    col(StatementMention.actor_id).in_(scope),
                )
                .exists()
            )
        stmt = stmt.where(sa.or_(*matches))
    if f.event_id:
        stmt = stmt.where(col(Statement.event_id).in_(f.event_id))
    if f.kind:
        stmt = stmt.where(col(Statement.kind).in_([k.value for k in f.kind]))
    if f.measure:
        stmt = stmt.where(unicode_lower(col(Statement.measure)).in_([m.lower() for m in f.measure]))
    if f.date_from:
        stmt = stmt.where(col(Statement.stated_on) >= f.date_from)
    if f.date_to:
        stmt = stmt.where(col(Statement.stated_on) <= f.date_to)
    if f.source:
        stmt = stmt.where(col(Statement.document_id).in_(f.documents_of_sources(session)))
    if f.min_reliability:
        graded = (
            sa.select(col(Document.id))
            .join(Source, col(Source.id) == col(Document.source_id))
            .where(
                col(Document.id) == col(Statement.document_id),
                col(Source.reliability) <= f.min_reliability.value,
            )
        )
        stmt = stmt.where(graded.exists())
    if f.min_credibility:
        stmt = stmt.where(col(Statement.credibility) <= f.min_credibility)
    if f.q:
        stmt = stmt.where(contains_ci(col(Statement.text), f.q))
    return stmt

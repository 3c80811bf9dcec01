"""How sources (with their aliases) and documents are read; the source briefs and grades other
resources embed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.base import any_of, in_param, table_of
from app.kit.pagination import (
    date_key,
    text_key,
)
from app.kit.read import Lookups, ReadForm, Row, distinct_ids, fetch, grouped
from app.sources.model import Document, Source, SourceAlias
from app.sources.schemas import DocumentOut, SourceOut

SOURCE = table_of(Source)
DOCUMENT = table_of(Document)
SOURCE_ALIAS = table_of(SourceAlias)


ALIASES_OF = (
    sa.select(SOURCE_ALIAS.c.source_id, SOURCE_ALIAS.c.alias)
    .where(in_param(SOURCE_ALIAS.c.source_id))
    .order_by(SOURCE_ALIAS.c.source_id, SOURCE_ALIAS.c.position)
)


SOURCE_BRIEFS = sa.select(SOURCE.c.id, SOURCE.c.name, SOURCE.c.reliability).where(in_param(SOURCE.c.id))


DOCUMENT_GRADES = (
    sa.select(DOCUMENT.c.id, SOURCE.c.reliability)
    .join(SOURCE, SOURCE.c.id == DOCUMENT.c.source_id)
    .where(in_param(DOCUMENT.c.id))
)


def name_holders(session: Session, keys: Sequence[str]) -> list[tuple[str, int, str | None]]:
    """`(key, source id, ref)` of the sources whose name has one of these keys (see `fold`)."""
    stmt = sa.select(SOURCE.c.name_key, SOURCE.c.id, SOURCE.c.ref).where(
        any_of(SOURCE.c.name_key, list(keys))
    )
    return list(session.execute(stmt).tuples()) if keys else []


def alias_holders(session: Session, keys: Sequence[str]) -> list[tuple[str, int, str | None]]:
    """`(key, source id, ref)` of the sources with an alias of one of these keys."""
    stmt = (
        sa.select(SOURCE_ALIAS.c.alias_key, SOURCE.c.id, SOURCE.c.ref)
        .join(SOURCE, SOURCE.c.id == SOURCE_ALIAS.c.source_id)
        .where(any_of(SOURCE_ALIAS.c.alias_key, list(keys)))
    )
    return list(session.execute(stmt).tuples()) if keys else []


def _embed_aliases(session: Session, rows: list[Row], _: Lookups) -> None:
    aliases = grouped(session, ALIASES_OF, [row["id"] for row in rows])
    for row in rows:
        row["aliases"] = [alias for _, alias in aliases.get(row["id"], [])]


def source_briefs(session: Session, lookups: Lookups, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """`{source id: (name, reliability)}` holding at least the ids given."""
    return lookups.get(session, SOURCE_BRIEFS, ids, lambda row: (row[1], row[2]))


def document_grades(session: Session, document_ids: Iterable[int | None]) -> dict[int, str]:
    """`{document id: its source's reliability}` for the documents given."""
    return dict(fetch(session, DOCUMENT_GRADES, distinct_ids(document_ids)))


def _embed_document_source(session: Session, rows: list[Row], lookups: Lookups) -> None:
    sources = source_briefs(session, lookups, (row["source_id"] for row in rows))
    for row in rows:
        source_id = row["source_id"]
        name, reliability = sources[source_id]
        row["source"] = {"id": source_id, "name": name, "reliability": reliability}


SOURCES = ReadForm("sources", SourceOut, SOURCE, _embed_aliases)


DOCUMENTS = ReadForm("documents", DocumentOut, DOCUMENT, _embed_document_source)


SOURCE_ORDER = text_key(col(Source.name_key), col(Source.id))


DOCUMENT_ORDER = date_key(col(Document.published_on), col(Document.id), descending=True, nullable=True)

"""Merging two sources that are one outlet under two names ("Reuters" and "Reuters News").

`conflict-events sources merge KEEP OTHER` re-points OTHER's documents to KEEP, deletes OTHER
and adds its name and aliases to KEEP's aliases, in the caller's one transaction. Every step
goes through the write rules and `kit.crud`, as the API's writes do, so each row written is
recorded in the change feed (the documents re-pointed, OTHER's deletion, KEEP's new aliases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.errors import NotFound, ValidationFailed
from app.core.text import fold
from app.kit import crud
from app.kit.rules import Item
from app.sources.model import Source, SourceAlias
from app.sources.read import DOCUMENT
from app.sources.routes import SOURCE_SPEC
from app.sources.rules import save_documents
from app.sources.schemas import DocumentCreate

CHUNK = 2000


@dataclass(frozen=True)
class MergeReport:
    keep_id: int
    keep_name: str
    other_id: int
    other_name: str
    documents: int  # re-pointed from OTHER to KEEP
    aliases: list[str]  # KEEP's aliases after the merge


def find_source(session: Session, token: str) -> Source:
    """A source by id (all digits), ref, or name or alias (case-insensitive), in that order."""
    text = token.strip()
    found: int | None = None
    if text.isdigit():
        found = session.scalar(sa.select(col(Source.id)).where(col(Source.id) == int(text)))
    if found is None:
        found = session.scalar(sa.select(col(Source.id)).where(col(Source.ref) == text))
    if found is None:
        found = session.scalar(sa.select(col(Source.id)).where(col(Source.name_key) == fold(text)))
    if found is None:
        found = session.scalar(
            sa.select(col(SourceAlias.source_id)).where(col(SourceAlias.alias_key) == fold(text))
        )
    if found is None:
        raise NotFound(f"no source has the id, ref, name or alias {token!r}")
    return crud.get_row(session, SOURCE_SPEC, found, lock=True)  # type: ignore[no-any-return]


def merge_sources(session: Session, keep_token: str, other_token: str) -> MergeReport:
    keep = find_source(session, keep_token)
    other = find_source(session, other_token)
    if keep.id == other.id:
        raise ValidationFailed(
            f"{keep_token!r} and {other_token!r} are the same source ({keep.name!r}, id {keep.id})"
        )
    assert keep.id is not None and other.id is not None
    moved = _repoint_documents(session, other.id, keep.id)
    other_names = [other.name, *crud.read_form(session, SOURCE_SPEC, other)["aliases"]]
    other_id, other_name = other.id, other.name
    crud.delete(session, SOURCE_SPEC, other)  # its names are free for KEEP's aliases now
    stored: list[str] = crud.read_form(session, SOURCE_SPEC, keep)["aliases"]
    kept = crud.update(session, SOURCE_SPEC, keep, {"aliases": [*stored, *other_names]})
    form = crud.read_form(session, SOURCE_SPEC, kept)
    return MergeReport(kept.id, form["name"], other_id, other_name, moved, form["aliases"])


def _repoint_documents(session: Session, from_id: int, to_id: int) -> int:
    """Every document of `from_id` as a document of `to_id`, through the documents' write
    rules (in chunks, by id)."""
    fields = list(DocumentCreate.model_fields)
    moved, after = 0, 0
    while True:
        rows = session.execute(
            sa.select(DOCUMENT)
            .where(DOCUMENT.c.source_id == from_id, DOCUMENT.c.id > after)
            .order_by(DOCUMENT.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return moved
        items: list[Item[Any, DocumentCreate]] = []
        for row in rows:
            values = {name: row._mapping[name] for name in fields}
            items.append(Item(row, DocumentCreate.model_validate({**values, "source_id": to_id})))
        save_documents(session, items)
        moved += len(items)
        after = rows[-1].id
        session.flush()

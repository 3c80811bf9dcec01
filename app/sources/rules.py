"""Write rules of sources and their documents."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.text import fold
from app.db.base import any_of
from app.kit.rules import (
    ChildList,
    Item,
    RecordError,
    Values,
    check_aliases,
    check_refs,
    check_unique_names,
    column_values,
    differs,
    persist,
    persisted_id,
    queue_changes,
    require_existing,
)
from app.sources.model import Document, Source, SourceAlias
from app.sources.read import alias_holders, name_holders
from app.sources.schemas import DocumentCreate, SourceCreate

ALIASES = ChildList(SourceAlias, "source_id", ("alias", "alias_key"), ("position", "id"))


def save_sources(session: Session, items: Sequence[Item[Source, SourceCreate]]) -> None:
    check_refs(session, Source, items)
    check_unique_names(session, Source, items, "name")
    check_aliases(session, items, name_holders, alias_holders, "source")
    stored = ALIASES.stored(session, [item.row.id for item in items if item.row is not None])
    values, changed = [], []
    realias: list[tuple[Item[Source, SourceCreate], list[Values]]] = []
    for item in items:
        row_values = column_values(item.data, exclude={"aliases"}, name_key=fold(item.data.name))
        did_change = differs(item.row, row_values)
        aliases: list[Values] = [(alias, fold(alias)) for alias in item.data.aliases]
        if stored.get(item.id or 0, []) != aliases:
            realias.append((item, aliases))
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    persist(session, Source, items, values, changed)  # renames land before alias rows move
    ALIASES.replace(session, {persisted_id(item): new for item, new in realias}, stored)
    queue_changes(session, "sources", items)


def save_documents(session: Session, items: Sequence[Item[Document, DocumentCreate]]) -> None:
    check_refs(session, Document, items)
    require_existing(session, Source, items, "source_id", lambda d: [d.source_id], "source")
    urls: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.data.url is None:
            continue
        if item.data.url in urls:
            raise RecordError(index, "url", f"url {item.data.url!r} is given twice", conflict=True)
        urls[item.data.url] = index
    if urls:
        for url, row_id in session.execute(
            sa.select(col(Document.url), col(Document.id)).where(any_of(col(Document.url), list(urls)))
        ).tuples():
            item = items[urls[str(url)]]
            if item.row is None or item.row.id != row_id:
                raise RecordError(
                    urls[str(url)], "url", f"url is already used by document {row_id}", conflict=True
                )
    values = [column_values(item.data) for item in items]
    persist(session, Document, items, values, [differs(i.row, v) for i, v in zip(items, values, strict=True)])
    queue_changes(session, "documents", items)

"""Write rules of statements and their mentions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.actors.model import Actor
from app.events.model import Event
from app.kit.rules import (
    ChildList,
    Item,
    Values,
    check_refs,
    column_values,
    differs,
    persist,
    persisted_id,
    queue_changes,
    require_existing,
)
from app.sources.model import Document
from app.statements.model import Statement, StatementMention
from app.statements.schemas import StatementCreate

MENTIONS = ChildList(StatementMention, "statement_id", ("actor_id",))


def save_statements(session: Session, items: Sequence[Item[Statement, StatementCreate]]) -> None:
    check_refs(session, Statement, items)
    require_existing(session, Actor, items, "speaker_id", lambda d: [d.speaker_id], "actor")
    require_existing(session, Actor, items, "mentions", lambda d: d.mentions, "actor")
    require_existing(
        session,
        Event,
        items,
        "event_id",
        lambda d: [d.event_id] if d.event_id is not None else [],
        "event",
    )
    require_existing(
        session,
        Document,
        items,
        "document_id",
        lambda d: [d.document_id] if d.document_id is not None else [],
        "document",
    )
    stored_ids = [item.row.id for item in items if item.row is not None]
    mentions = MENTIONS.stored(session, stored_ids)
    values, changed = [], []
    renamed: list[tuple[Item[Statement, StatementCreate], list[Values]]] = []
    for item in items:
        row_values = column_values(item.data, exclude={"mentions"})
        did_change = differs(item.row, row_values)
        new_mentions: list[Values] = [(actor_id,) for actor_id in item.data.mentions]
        if mentions.get(item.id or 0, []) != new_mentions:
            renamed.append((item, new_mentions))
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    persist(session, Statement, items, values, changed)
    MENTIONS.replace(session, {persisted_id(i): new for i, new in renamed}, mentions)
    queue_changes(session, "statements", items)

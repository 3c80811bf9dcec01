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
    _check_refs,
    _columns,
    _differs,
    _persist,
    _persisted_id,
    _record,
    _require,
)
from app.sources.model import Document
from app.statements.model import Statement, StatementMention
from app.statements.schemas import StatementCreate

MENTIONS = ChildList(StatementMention, "statement_id", ("actor_id",))


def save_statements(session: Session, items: Sequence[Item[Statement, StatementCreate]]) -> None:
    _check_refs(session, Statement, items)
    _require(session, Actor, items, "speaker_id", lambda d: [d.speaker_id], "actor")
    _require(session, Actor, items, "mentions", lambda d: d.mentions, "actor")
    _require(
        session,
        Event,
        items,
        "event_id",
        lambda d: [d.event_id] if d.event_id is not None else [],
        "event",
    )
    _require(
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
        row_values = _columns(item.data, exclude={"mentions"})
        did_change = _differs(item.row, row_values)
        new_mentions: list[Values] = [(actor_id,) for actor_id in item.data.mentions]
        if mentions.get(item.id or 0, []) != new_mentions:
            renamed.append((item, new_mentions))
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    _persist(session, Statement, items, values, changed)
    MENTIONS.replace(session, {_persisted_id(i): new for i, new in renamed}, mentions)
    _record(session, "statements", items)

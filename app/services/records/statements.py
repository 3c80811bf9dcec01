"""Write rules of statements and their mentions."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.base import any_of
from app.db.bulk import bulk_insert
from app.models import (
    Actor,
    Document,
    Event,
    Statement,
    StatementMention,
)
from app.schemas.resources import (
    StatementCreate,
)
from app.services.records.base import (
    Item,
    _check_refs,
    _columns,
    _differs,
    _persist,
    _record,
    _require,
)

# --- statements --------------------------------------------------------------------------------


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
    mentions: dict[int, list[int]] = {}
    if stored_ids:
        for statement_id, actor_id in session.execute(
            sa.select(col(StatementMention.statement_id), col(StatementMention.actor_id))
            .where(any_of(col(StatementMention.statement_id), stored_ids))
            .order_by(col(StatementMention.statement_id), col(StatementMention.position))
        ):
            mentions.setdefault(statement_id, []).append(actor_id)
    values, changed = [], []
    remention: list[Item[Statement, StatementCreate]] = []
    for item in items:
        row_values = _columns(item.data, exclude={"mentions"})
        did_change = _differs(item.row, row_values)
        if mentions.get(item.id or 0, []) != item.data.mentions:
            remention.append(item)
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    _persist(session, Statement, items, values, changed)
    stale = [i.id for i in remention if i.id in mentions]
    if stale:
        session.execute(sa.delete(StatementMention).where(any_of(col(StatementMention.statement_id), stale)))
    rows = [
        {"statement_id": i.id, "actor_id": actor_id, "position": n}
        for i in remention
        for n, actor_id in enumerate(i.data.mentions)
    ]
    if rows:
        bulk_insert(session, StatementMention.__table__, rows)  # type: ignore[attr-defined]
    _record(session, "statements", items)

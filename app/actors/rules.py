"""Write rules of actors: unique names and aliases, parents without cycles."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.model import Actor, ActorAlias
from app.actors.read import alias_holders, aliases_of, name_holders
from app.actors.schemas import ActorCreate
from app.core.text import fold
from app.db.base import any_of
from app.db.bulk import bulk_insert
from app.kit.rules import (
    Item,
    RecordError,
    check_aliases,
    check_refs,
    check_unique_names,
    column_values,
    differs,
    persist,
    queue_changes,
    require_existing,
)


def save_actors(session: Session, items: Sequence[Item[Actor, ActorCreate]]) -> None:
    check_refs(session, Actor, items)
    check_unique_names(session, Actor, items, "name")
    check_aliases(session, items, name_holders, alias_holders, "actor")
    require_existing(
        session,
        Actor,
        items,
        "parent_id",
        lambda d: [d.parent_id] if d.parent_id is not None else [],
        "actor",
    )
    _check_no_cycles(session, items)
    current_aliases = aliases_of(session, [i.row.id for i in items if i.row is not None])
    values, changed = [], []
    alias_changes: list[tuple[Item[Actor, ActorCreate], list[str]]] = []
    for item in items:
        row_values = column_values(item.data, exclude={"aliases"}, name_key=fold(item.data.name))
        did_change = differs(item.row, row_values)
        old_aliases = current_aliases.get(item.id, []) if item.id is not None else []
        if old_aliases != item.data.aliases:
            alias_changes.append((item, old_aliases))
            did_change = True
        values.append(row_values)
        changed.append(did_change)
    persist(session, Actor, items, values, changed)  # renames land before alias rows move
    stale = [item.id for item, old in alias_changes if old]
    if stale:
        session.execute(sa.delete(ActorAlias).where(any_of(col(ActorAlias.actor_id), stale)))
    aliases = [
        {"actor_id": item.id, "alias": alias, "alias_key": fold(alias), "position": position}
        for item, _ in alias_changes
        for position, alias in enumerate(item.data.aliases)
    ]
    if aliases:
        bulk_insert(session, ActorAlias.__table__, aliases)  # type: ignore[attr-defined]
    queue_changes(session, "actors", items)


def _check_no_cycles(session: Session, items: Sequence[Item[Actor, ActorCreate]]) -> None:
    """Walk up from each new parent; meeting the actor itself would close a loop."""
    parents = {item.row.id: item.data.parent_id for item in items if item.row is not None}
    for index, item in enumerate(items):
        if item.row is None or item.data.parent_id is None:
            continue
        if item.data.parent_id == item.row.id:
            raise RecordError(index, "parent_id", "an actor cannot be its own parent", conflict=True)
        if item.data.parent_id == item.row.parent_id and item.row.id not in parents.values():
            continue
        seen: set[int] = set()
        cursor: int | None = item.data.parent_id
        while cursor is not None and cursor not in seen:
            if cursor == item.row.id:
                raise RecordError(
                    index,
                    "parent_id",
                    f"parent {item.data.parent_id} is below actor {item.row.id}: that would make a cycle",
                    conflict=True,
                )
            seen.add(cursor)
            cursor = (
                parents[cursor]
                if cursor in parents
                else session.scalar(sa.select(col(Actor.parent_id)).where(col(Actor.id) == cursor))
            )

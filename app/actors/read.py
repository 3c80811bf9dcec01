"""How actors are read: their aliases, and for a single read their parent and children."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.model import Actor, ActorAlias
from app.actors.schemas import ActorDetail, ActorOut
from app.db.base import any_of, in_param, table_of
from app.kit.pagination import (
    text_key,
)
from app.kit.read import Lookups, ReadForm, Row, distinct_ids, fetch, grouped

ACTOR = table_of(Actor)
ALIAS = table_of(ActorAlias)


ALIASES_OF = (
    sa.select(ALIAS.c.actor_id, ALIAS.c.alias)
    .where(in_param(ALIAS.c.actor_id))
    .order_by(ALIAS.c.actor_id, ALIAS.c.position, ALIAS.c.id)
)


ACTOR_NAMES = sa.select(ACTOR.c.id, ACTOR.c.name).where(in_param(ACTOR.c.id))


CHILDREN_OF = (
    sa.select(ACTOR.c.parent_id, ACTOR.c.id, ACTOR.c.name)
    .where(in_param(ACTOR.c.parent_id))
    .order_by(ACTOR.c.parent_id, ACTOR.c.name_key, ACTOR.c.id)
)


def actor_names(session: Session, lookups: Lookups, ids: Iterable[int]) -> dict[int, str]:
    """`{actor id: name}` holding at least the ids given."""
    return lookups.get(session, ACTOR_NAMES, ids, lambda row: str(row[1]))


def name_holders(session: Session, keys: Sequence[str]) -> list[tuple[str, int, str | None]]:
    """`(key, actor id, ref)` of the actors whose name has one of these keys (see `fold`)."""
    stmt = sa.select(ACTOR.c.name_key, ACTOR.c.id, ACTOR.c.ref).where(any_of(ACTOR.c.name_key, list(keys)))
    return list(session.execute(stmt).tuples()) if keys else []


def alias_holders(session: Session, keys: Sequence[str]) -> list[tuple[str, int, str | None]]:
    """`(key, actor id, ref)` of the actors with an alias of one of these keys."""
    stmt = (
        sa.select(ALIAS.c.alias_key, ACTOR.c.id, ACTOR.c.ref)
        .join(ACTOR, ACTOR.c.id == ALIAS.c.actor_id)
        .where(any_of(ALIAS.c.alias_key, list(keys)))
    )
    return list(session.execute(stmt).tuples()) if keys else []


def aliases_of(session: Session, actor_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each actor's aliases, in their stored order."""
    aliases: dict[int, list[str]] = defaultdict(list)
    for actor_id, alias in fetch(session, ALIASES_OF, distinct_ids(actor_ids)):
        aliases[actor_id].append(alias)
    return aliases


def _embed_aliases(session: Session, rows: list[Row], _: Lookups) -> None:
    aliases = aliases_of(session, [row["id"] for row in rows])
    for row in rows:
        row["aliases"] = aliases.get(row["id"], [])


def _embed_actor_family(session: Session, rows: list[Row], lookups: Lookups) -> None:
    """The single read of an actor: aliases, its parent and its children as `{id, name}`."""
    _embed_aliases(session, rows, lookups)
    parent_ids = [row["parent_id"] for row in rows if row["parent_id"] is not None]
    parents = actor_names(session, lookups, parent_ids)
    children = grouped(session, CHILDREN_OF, [row["id"] for row in rows])
    for row in rows:
        parent_id = row["parent_id"]
        row["parent"] = None if parent_id is None else {"id": parent_id, "name": parents[parent_id]}
        row["children"] = [{"id": c[1], "name": c[2]} for c in children.get(row["id"], [])]


ACTORS = ReadForm("actors", ActorOut, ACTOR, _embed_aliases)


ACTOR_DETAIL = ReadForm("actors", ActorDetail, ACTOR, _embed_actor_family)


ACTOR_ORDER = text_key(col(Actor.name_key), col(Actor.id))

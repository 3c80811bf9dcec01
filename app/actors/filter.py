"""The actor filter, and the actor scope events and statements filter by.

Actor names and ids are resolved (a 422 when one identifies no actor) the first time a filter is
applied, and the answer is kept on the filter, so there is no setup step to forget.
"""

from __future__ import annotations

from typing import Any, Self

import sqlalchemy as sa
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    model_validator,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.model import Actor, ActorAlias
from app.core.enums import (
    ActorKind,
)
from app.core.errors import ValidationFailed
from app.db.base import contains_ci
from app.kit.filters import BaseFilter, Text, ids_named, refs_in
from app.kit.schemas import CountryCode, Id


class ActorScopeFilter(BaseModel):
    """Actor filters shared by events and statements; names are resolved to ids first."""

    actor_id: list[Id] = Field(default_factory=list, description="Actor ids (repeatable).")
    actor: list[Text] = Field(
        default_factory=list,
        description="Actor names or aliases, case-insensitive (repeatable).",
        examples=[["Belarus"]],
    )
    include_descendants: bool = Field(
        default=True, description="Also match every actor below these in the parent tree."
    )
    _actor_ids: list[int] | None = PrivateAttr(default=None)  # see `_resolved_actor_ids`

    @property
    def has_actor_filter(self) -> bool:
        return bool(self.actor_id or self.actor)

    @model_validator(mode="after")
    def role_needs_actor(self) -> Self:
        """`role` (each filter has its own roles) narrows the actor filter; alone it means nothing."""
        if getattr(self, "role", None) and not self.has_actor_filter:
            raise ValueError("role requires actor or actor_id")
        return self


def _resolved_actor_ids(session: Session, scope: ActorScopeFilter) -> list[int]:
    """The ids `actor_id`/`actor` name, looked up once per filter; an id or name that identifies
    no actor is a 422."""
    if scope._actor_ids is not None:
        return scope._actor_ids
    ids: set[int] = set()
    if scope.actor_id:
        found = set(session.scalars(sa.select(col(Actor.id)).where(col(Actor.id).in_(scope.actor_id))))
        missing = [i for i in scope.actor_id if i not in found]
        if missing:
            raise ValidationFailed(f"actor_id {missing[0]} identifies no actor", loc=["query", "actor_id"])
        ids |= {i for i in found if i is not None}
    if scope.actor:
        ids |= ids_named(
            session,
            scope.actor,
            by_name=(col(Actor.name_key), col(Actor.id)),
            by_alias=(col(ActorAlias.alias_key), col(ActorAlias.actor_id)),
            what="actor",
        )
    scope._actor_ids = sorted(ids)
    return scope._actor_ids


def actor_scope_ids(session: Session, scope: ActorScopeFilter) -> sa.Select[int | None]:
    """The actors the filter names, and with `include_descendants` everything below them."""
    ids = _resolved_actor_ids(session, scope)
    if not scope.include_descendants:
        return sa.select(col(Actor.id)).where(col(Actor.id).in_(ids))
    tree = sa.select(col(Actor.id)).where(col(Actor.id).in_(ids)).cte("actor_scope", recursive=True)
    below = sa.select(col(Actor.id)).join(tree, col(Actor.parent_id) == tree.c.id)
    tree = tree.union(below)
    return sa.select(tree.c.id)


class ActorFilter(BaseFilter):
    q: Text | None = Field(
        default=None,
        max_length=500,
        description="Case-insensitive substring of the name or any alias.",
    )
    kind: list[ActorKind] = Field(
        default_factory=list, description="Actor kinds (repeatable).", examples=[["state"]]
    )
    country: list[CountryCode] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes, any case (repeatable)."
    )
    parent_id: list[Id] = Field(
        default_factory=list, description="Direct children of these actors (repeatable)."
    )


def apply_actor_filter(session: Session, stmt: Select[Any], f: ActorFilter) -> Select[Any]:
    if f.ref:
        stmt = stmt.where(refs_in(col(Actor.ref), f.ref))
    if f.q:
        alias_match = (
            sa.select(col(ActorAlias.id))
            .where(col(ActorAlias.actor_id) == col(Actor.id), contains_ci(col(ActorAlias.alias), f.q))
            .exists()
        )
        stmt = stmt.where(sa.or_(contains_ci(col(Actor.name), f.q), alias_match))
    if f.kind:
        stmt = stmt.where(col(Actor.kind).in_([k.value for k in f.kind]))
    if f.country:
        stmt = stmt.where(col(Actor.country).in_(f.country))
    if f.parent_id:
        stmt = stmt.where(col(Actor.parent_id).in_(f.parent_id))
    return stmt

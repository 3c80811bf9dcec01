"""Actors, their aliases and the parent tree."""

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from app.core.enums import ActorKind, sql_in
from app.core.text import NAME_MAX
from app.db.base import NO_ID_REUSE, check
from app.kit.rows import Referenced, ResourceRow
from app.kit.schemas import COUNTRY, CountryCode, FreeText, Id, Name


class ActorFields(Referenced):
    """An actor's own columns, declared once (see `kit.rows`); aliases are rows of
    `actor_alias`."""

    name: Name = Field(
        description="1–500 characters; unique among actors, case-insensitively, and no other actor's alias."
    )
    kind: ActorKind = Field(
        sa_type=AutoString(length=40), index=True, description="What sort of actor it is."
    )
    country: CountryCode | None = Field(
        default=None,
        sa_type=AutoString(length=2),
        index=True,
        description=f"The actor's country: {COUNTRY}; null if none.",
    )
    parent_id: Id | None = Field(
        default=None,
        foreign_key="actor.id",
        index=True,
        description="Id of the actor this one belongs to (Belarusian Ministry of Defence → Belarus); "
        "never a cycle. Null for an actor at the top.",
    )
    description: FreeText | None = Field(default=None, description="Free-text notes, or null.")


class Actor(ActorFields, ResourceRow, table=True):
    __tablename__ = "actor"
    __table_args__ = (
        check(sql_in("kind", ActorKind), "kind"),
        check("length(name) >= 1", "name_not_empty"),
        check("parent_id IS NULL OR parent_id <> id", "not_own_parent"),
        sa.Index("ix_actor_name_key_id", "name_key", "id"),
        NO_ID_REUSE,
    )

    name_key: str = Field(max_length=NAME_MAX, unique=True)


class ActorAlias(SQLModel, table=True):
    """One alias of one actor; `alias_key` makes it unique case-insensitively."""

    __tablename__ = "actor_alias"
    __table_args__ = (check("length(alias) >= 1", "alias_not_empty"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("actor.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    alias: str = Field(max_length=NAME_MAX)
    alias_key: str = Field(max_length=NAME_MAX, unique=True)
    position: int = 0

"""Input and output shapes of actors (see `sources/schemas.py` for how they derive)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.actors.model import ActorFields
from app.kit.schemas import (
    Name,
    Shown,
    Strict,
    partial,
    read_model,
)


class ActorCreate(ActorFields, Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ref": "actor:belarus-mod",
                    "name": "Belarusian Ministry of Defence",
                    "kind": "government_body",
                    "country": "BY",
                    "parent_id": 1,
                    "aliases": ["Belarusian Ministry of Defense"],
                }
            ]
        }
    )

    aliases: list[Name] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def distinct_aliases(self) -> Self:
        """Repeats (in any case) and the actor's own name add nothing: keep the first spelling."""
        seen = {self.name.casefold()}
        kept = []
        for alias in self.aliases:
            if alias.casefold() not in seen:
                seen.add(alias.casefold())
                kept.append(alias)
        self.aliases = kept
        return self


ActorUpdate = partial(ActorCreate)


class ActorBrief(BaseModel):
    id: int
    name: str


ActorOut = read_model("ActorOut", ActorFields, aliases=Shown(list[str], after="parent_id"))


ActorDetail = read_model(
    "ActorDetail",
    ActorFields,
    base=ActorOut,
    parent=Shown(ActorBrief | None),
    children=Shown(list[ActorBrief]),
)

"""Input and output shapes of actors (see `sources/schemas.py` for how they derive)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.actors.model import ActorFields
from app.kit.schemas import (
    Name,
    Shown,
    Strict,
    distinct_aliases,
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

    aliases: list[Name] = Field(
        default_factory=list,
        max_length=200,
        description="Other names of the actor, each identifying only this actor (case-insensitive) and "
        "none another actor's name; repeats and the actor's own name are dropped.",
    )

    @model_validator(mode="after")
    def distinct_aliases(self) -> Self:
        self.aliases = distinct_aliases(self.name, self.aliases)
        return self


ActorUpdate = partial(ActorCreate)


class ActorBrief(BaseModel):
    id: int = Field(description="The actor's id.")
    name: str = Field(description="The actor's name.")


ActorOut = read_model(
    "ActorOut",
    ActorFields,
    aliases=Shown(list[str], "Other names of the actor, in the order given.", after="parent_id"),
)


ActorDetail = read_model(
    "ActorDetail",
    ActorFields,
    base=ActorOut,
    parent=Shown(ActorBrief | None, "The actor this one belongs to, or null."),
    children=Shown(list[ActorBrief], "The actors whose parent this one is, by name (case-insensitive)."),
)

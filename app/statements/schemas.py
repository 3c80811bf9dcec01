"""Input and output shapes of statements."""

from __future__ import annotations

from typing import Self

from pydantic import ConfigDict, Field, model_validator

from app.actors.schemas import ActorBrief
from app.core.enums import (
    Reliability,
)
from app.core.errors import FieldError
from app.kit.schemas import (
    Id,
    Shown,
    Strict,
    check_ordered,
    partial,
    read_model,
)
from app.statements.model import StatementFields


class StatementCreate(StatementFields, Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ref": "stmt:latvia-mod-zapad-2025-personnel",
                    "speaker_id": 18,
                    "event_id": 1,
                    "document_id": 3,
                    "stated_on": "2025-08-14",
                    "kind": "assessment",
                    "text": "Between 100,000 and 150,000 Belarusian and Russian soldiers will be involved.",
                    "credibility": 3,
                    "measure": "personnel",
                    "value_low": 100000,
                    "value_high": 150000,
                    "unit": "persons",
                }
            ]
        }
    )

    mentions: list[Id] = Field(
        default_factory=list,
        max_length=1000,
        description="Ids of the actors the statement is about; repeats are dropped.",
    )

    @model_validator(mode="after")
    def consistent(self) -> Self:
        check_ordered(self, ("value_low", "value_best", "value_high"))
        given = any(v is not None for v in (self.value_low, self.value_best, self.value_high))
        if given and self.measure is None:
            raise FieldError("measure", "a claimed value requires `measure`")
        self.mentions = list(dict.fromkeys(self.mentions))
        return self


StatementUpdate = partial(StatementCreate)


StatementOut = read_model(
    "StatementOut",
    StatementFields,
    speaker=Shown(ActorBrief, "The actor who said it.", after="speaker_id"),
    reliability=Shown(
        Reliability | None, "Reliability grade of the document's source, or null.", after="document_id"
    ),
    mentions=Shown(list[ActorBrief], "The actors the statement is about, in the order given.", after="unit"),
)

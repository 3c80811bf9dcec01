"""Input and output shapes of events, their actor links and citations."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import (
    ActorRole,
    RelationType,
    Reliability,
)
from app.core.errors import FieldError
from app.events.model import CitationFields, EventFields
from app.kit.schemas import (
    Id,
    Shown,
    Strict,
    check_ordered,
    partial,
    read_model,
)


class EventActorIn(Strict):
    actor_id: Id = Field(description="Id of the actor taking part.")
    role: ActorRole = Field(
        description="Its part: `side_a` (initiating or first side), `side_b` (opposing side), "
        "`participant`, `supporter` or `host`."
    )


class CitationIn(CitationFields, Strict):
    pass


RELATION = (
    "How this event stands to the other: `part_of` (an episode of it; never a cycle), `follows`, "
    "`precedes`, `responds_to` or `related`."
)


class RelationIn(Strict):
    type: RelationType = Field(description=RELATION)
    event_id: Id = Field(description="Id of the other event; not this one.")


class EventCreate(EventFields, Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ref": "event:zapad-2025",
                    "title": "Zapad-2025 joint Belarusian-Russian military exercise",
                    "type": "military_exercise",
                    "start_date": "2025-09-12",
                    "end_date": "2025-09-16",
                    "country": "BY",
                    "actors": [{"actor_id": 1, "role": "host"}, {"actor_id": 2, "role": "participant"}],
                    "citations": [
                        {
                            "document_id": 1,
                            "credibility": 2,
                            "excerpt": "These exercises will be held in Belarus.",
                        }
                    ],
                    "relations": [{"type": "follows", "event_id": 2}],
                }
            ]
        }
    )

    end_date: date | None = Field(default=None, description="Defaults to `start_date`.")  # type: ignore[assignment]
    actors: list[EventActorIn] = Field(
        default_factory=list,
        max_length=1000,
        description="The actors taking part and their roles (one actor may have several roles, each "
        "once). Sent on PATCH, it replaces the whole list.",
    )
    citations: list[CitationIn] = Field(
        default_factory=list,
        max_length=1000,
        description="The documents that report the event, each graded for credibility. Sent on PATCH, "
        "it replaces the whole list.",
    )
    relations: list[RelationIn] = Field(
        default_factory=list,
        max_length=200,
        description="How this event stands to other events (each type and event once; `part_of` "
        "never makes a cycle). Sent on PATCH, it replaces the whole list.",
    )

    @model_validator(mode="after")
    def consistent(self) -> Self:
        if self.end_date is None:
            self.end_date = self.start_date
        if self.end_date < self.start_date:
            raise FieldError("end_date", "end_date must not be before start_date")
        if (self.latitude is None) != (self.longitude is None):
            missing = "latitude" if self.latitude is None else "longitude"
            raise FieldError(missing, "latitude and longitude must be given together")
        check_ordered(self, ("fatalities_low", "fatalities_best", "fatalities_high"))
        pairs = [(link.actor_id, link.role) for link in self.actors]
        if len(set(pairs)) != len(pairs):
            raise FieldError("actors", "actors lists the same actor in the same role twice")
        relations = [(relation.type, relation.event_id) for relation in self.relations]
        if len(set(relations)) != len(relations):
            raise FieldError("relations", "relations lists the same type and event twice")
        return self


EventUpdate = partial(EventCreate)


class EventActorOut(BaseModel):
    actor_id: int = Field(description="Id of the actor taking part.")
    role: ActorRole = Field(description="Its part in the event.")
    name: str = Field(description="The actor's name.")


class RelationOut(BaseModel):
    type: RelationType = Field(description=RELATION)
    event_id: int = Field(description="Id of the other event.")


CitationOut = read_model(
    "CitationOut",
    CitationFields,
    base=BaseModel,
    source_id=Shown(int, "Id of the document's source."),
    source_name=Shown(str, "Name of the document's source."),
    reliability=Shown(
        Reliability, "Grade of the document's source, A (completely reliable) … F (cannot be judged)."
    ),
    url=Shown(str | None, "The document's URL, or null."),
)


EventOut = read_model(
    "EventOut",
    EventFields,
    source_count=Shown(int, "Distinct sources among the citations."),
    best_reliability=Shown(Reliability | None, "Best reliability grade among the cited sources."),
    actors=Shown(list[EventActorOut], "The actors taking part, with their roles, in the order given."),
    citations=Shown(
        list[CitationOut],  # type: ignore[valid-type]  # a model built at run time
        "The documents that report the event, with their sources, in the order given.",
    ),
    relations=Shown(list[RelationOut], "How this event stands to other events, in the order given."),
)

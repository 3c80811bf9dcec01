"""Input (`*Create`, `*Update`) and output (`*Out`) shapes of the five resources.

A resource's columns are declared once, in its `*Fields` model next to the table; here each
`*Create` adds what only input has (the rows it owns, cross-field rules), each `*Update` is
derived from its `*Create` (`partial`: the same fields and constraints, every one optional) and
each `*Out` from the `*Fields` (`read_model`: the stored types, all required, plus what the read
form embeds). The `*Create` models carry every rule a single record must satisfy; the dataset
loader, `POST` and `PATCH` (on the merged row) all validate through them.
"""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import (
    ActorRole,
    Reliability,
)
from app.models.actor import ActorFields
from app.models.event import CitationFields, EventFields
from app.models.source import DocumentFields, SourceFields
from app.models.statement import StatementFields
from app.schemas.common import (
    FieldError,
    Id,
    Name,
    Shown,
    Strict,
    partial,
    read_model,
)


def check_ordered(model: BaseModel, names: tuple[str, str, str]) -> None:
    """low ≤ best ≤ high wherever two of them are given."""
    values = [(name, getattr(model, name)) for name in names]
    given = [(name, value) for name, value in values if value is not None]
    for i, (lower_name, lower) in enumerate(given):
        for upper_name, upper in given[i + 1 :]:
            if lower > upper:
                raise FieldError(upper_name, f"{lower_name} ({lower}) must not exceed {upper_name} ({upper})")


# --- sources -----------------------------------------------------------------------------------


class SourceCreate(SourceFields, Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ref": "src:forbes",
                    "name": "Forbes",
                    "kind": "news_outlet",
                    "country": "US",
                    "url": "https://www.forbes.com",
                    "reliability": "B",
                }
            ]
        }
    )


SourceUpdate = partial(SourceCreate)
SourceOut = read_model("SourceOut", SourceFields)


class SourceBrief(BaseModel):
    id: int
    name: str
    reliability: Reliability


# --- documents ---------------------------------------------------------------------------------


class DocumentCreate(DocumentFields, Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ref": "doc:forbes-2025-08-14-zapad",
                    "source_id": 1,
                    "title": "Belarus Announces Joint Military Exercise With Russia In September",
                    "url": "https://www.forbes.com/sites/marktemnycky/2025/08/14/belarus-announces-joint-military-exercise-with-russia-in-september/",
                    "published_on": "2025-08-14",
                    "language": "en",
                }
            ]
        }
    )


DocumentUpdate = partial(DocumentCreate)
DocumentOut = read_model("DocumentOut", DocumentFields, source=Shown(SourceBrief, after="source_id"))


# --- actors ------------------------------------------------------------------------------------


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


# --- events ------------------------------------------------------------------------------------


class EventActorIn(Strict):
    actor_id: Id
    role: ActorRole


class CitationIn(CitationFields, Strict):
    pass


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
                }
            ]
        }
    )

    end_date: date | None = Field(default=None, description="Defaults to `start_date`.")  # type: ignore[assignment]
    actors: list[EventActorIn] = Field(default_factory=list, max_length=1000)
    citations: list[CitationIn] = Field(default_factory=list, max_length=1000)

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
        return self


EventUpdate = partial(EventCreate)


class EventActorOut(BaseModel):
    actor_id: int
    role: ActorRole
    name: str


CitationOut = read_model(
    "CitationOut",
    CitationFields,
    base=BaseModel,
    source_id=Shown(int),
    source_name=Shown(str),
    reliability=Shown(Reliability),
    url=Shown(str | None),
)
EventOut = read_model(
    "EventOut",
    EventFields,
    source_count=Shown(int, "Distinct sources among the citations."),
    best_reliability=Shown(Reliability | None, "Best reliability grade among the cited sources."),
    actors=Shown(list[EventActorOut]),
    citations=Shown(list[CitationOut]),  # type: ignore[valid-type]  # a model built at run time
)


# --- statements --------------------------------------------------------------------------------


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

    mentions: list[Id] = Field(default_factory=list, max_length=1000)

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
    speaker=Shown(ActorBrief, after="speaker_id"),
    reliability=Shown(
        Reliability | None, "Reliability grade of the document's source, or null.", after="document_id"
    ),
    mentions=Shown(list[ActorBrief], after="unit"),
)

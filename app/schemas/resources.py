"""Input (`*Create`, `*Update`) and output (`*Out`) shapes of the five resources.

The `*Create` models carry every rule a single record must satisfy; the dataset loader, `POST`
and `PATCH` (on the merged row) all validate through them, so there is one set of rules. Each
`*Update` is derived from its `*Create` (`partial`): the same fields and constraints, every one
optional, so a field is declared once for both.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.enums import (
    ActorKind,
    ActorRole,
    DatePrecision,
    EventType,
    GeoPrecision,
    Reliability,
    SourceKind,
    StatementKind,
)
from app.schemas.common import (
    CountryCode,
    Credibility,
    FieldError,
    Grade,
    Id,
    Name,
    Ref,
    RequiredText,
    ResourceOut,
    Strict,
    partial,
)

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Figure = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Language = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", max_length=35, examples=["en"])
]
Url = Annotated[str, Field(min_length=1, max_length=2000, examples=["https://www.forbes.com/"])]
ShortText = Annotated[str, Field(min_length=1, max_length=100)]


def check_ordered(model: BaseModel, names: tuple[str, str, str]) -> None:
    """low ≤ best ≤ high wherever two of them are given."""
    values = [(name, getattr(model, name)) for name in names]
    given = [(name, value) for name, value in values if value is not None]
    for i, (lower_name, lower) in enumerate(given):
        for upper_name, upper in given[i + 1 :]:
            if lower > upper:
                raise FieldError(upper_name, f"{lower_name} ({lower}) must not exceed {upper_name} ({upper})")


# --- sources -----------------------------------------------------------------------------------


class SourceCreate(Strict):
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

    ref: Ref | None = None
    name: Name
    kind: SourceKind
    country: CountryCode | None = None
    url: Url | None = None
    reliability: Grade = Reliability.F
    description: str | None = None


SourceUpdate = partial(SourceCreate)


class SourceOut(ResourceOut):
    name: str
    kind: SourceKind
    country: str | None
    url: str | None
    reliability: Reliability
    description: str | None


class SourceBrief(BaseModel):
    id: int
    name: str
    reliability: Reliability


# --- documents ---------------------------------------------------------------------------------


class DocumentCreate(Strict):
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

    ref: Ref | None = None
    source_id: Id
    title: RequiredText
    url: Url | None = None
    published_on: date | None = None
    language: Language | None = None


DocumentUpdate = partial(DocumentCreate)


class DocumentOut(ResourceOut):
    source_id: int
    source: SourceBrief
    title: str
    url: str | None
    published_on: date | None
    language: str | None


# --- actors ------------------------------------------------------------------------------------


class ActorCreate(Strict):
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

    ref: Ref | None = None
    name: Name
    kind: ActorKind
    country: CountryCode | None = None
    parent_id: Id | None = None
    aliases: list[Name] = Field(default_factory=list, max_length=200)
    description: str | None = None

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


class ActorOut(ResourceOut):
    name: str
    kind: ActorKind
    country: str | None
    parent_id: int | None
    aliases: list[str]
    description: str | None


class ActorDetail(ActorOut):
    parent: ActorBrief | None
    children: list[ActorBrief]


# --- events ------------------------------------------------------------------------------------


class EventActorIn(Strict):
    actor_id: Id
    role: ActorRole


class CitationIn(Strict):
    document_id: Id
    credibility: Credibility = 6
    excerpt: str | None = None


class EventCreate(Strict):
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

    ref: Ref | None = None
    title: RequiredText
    type: EventType
    start_date: date
    end_date: date | None = Field(default=None, description="Defaults to `start_date`.")
    date_precision: DatePrecision = DatePrecision.day
    country: CountryCode | None = None
    admin1: str | None = None
    location: str | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    geo_precision: GeoPrecision | None = None
    description: str | None = None
    fatalities_low: Count | None = None
    fatalities_best: Count | None = None
    fatalities_high: Count | None = None
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


class CitationOut(BaseModel):
    document_id: int
    credibility: int
    excerpt: str | None
    source_id: int
    source_name: str
    reliability: Reliability
    url: str | None


class EventOut(ResourceOut):
    title: str
    type: EventType
    start_date: date
    end_date: date
    date_precision: DatePrecision
    country: str | None
    admin1: str | None
    location: str | None
    latitude: float | None
    longitude: float | None
    geo_precision: GeoPrecision | None
    description: str | None
    fatalities_low: int | None
    fatalities_best: int | None
    fatalities_high: int | None
    source_count: int = Field(description="Distinct sources among the citations.")
    best_reliability: Reliability | None = Field(
        description="Best reliability grade among the cited sources."
    )
    actors: list[EventActorOut]
    citations: list[CitationOut]


# --- statements --------------------------------------------------------------------------------


class StatementCreate(Strict):
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

    ref: Ref | None = None
    speaker_id: Id
    event_id: Id | None = None
    document_id: Id | None = None
    stated_on: date
    kind: StatementKind = StatementKind.other
    text: RequiredText
    is_quote: bool = False
    credibility: Credibility = 6
    mentions: list[Id] = Field(default_factory=list, max_length=1000)
    measure: ShortText | None = None
    value_low: Figure | None = None
    value_best: Figure | None = None
    value_high: Figure | None = None
    unit: ShortText | None = None

    @model_validator(mode="after")
    def consistent(self) -> Self:
        check_ordered(self, ("value_low", "value_best", "value_high"))
        given = any(v is not None for v in (self.value_low, self.value_best, self.value_high))
        if given and self.measure is None:
            raise FieldError("measure", "a claimed value requires `measure`")
        self.mentions = list(dict.fromkeys(self.mentions))
        return self


StatementUpdate = partial(StatementCreate)


class StatementOut(ResourceOut):
    stated_on: date
    kind: StatementKind
    speaker_id: int
    speaker: ActorBrief
    event_id: int | None
    document_id: int | None
    reliability: Reliability | None = Field(
        description="Reliability grade of the document's source, or null."
    )
    credibility: int
    is_quote: bool
    measure: str | None
    value_low: float | None
    value_best: float | None
    value_high: float | None
    unit: str | None
    mentions: list[ActorBrief]
    text: str

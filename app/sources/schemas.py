"""Input (`*Create`, `*Update`) and output (`*Out`) shapes of sources and documents.

A resource's columns are declared once, in its `*Fields` model next to the table; each
`*Create` adds what only input has (the rows it owns, cross-field rules), each `*Update` is
derived from its `*Create` (`partial`: the same fields and constraints, every one optional) and
each `*Out` from the `*Fields` (`read_model`: the stored types, all required, plus what the read
form embeds). The `*Create` models carry every rule a single record must satisfy; the dataset
loader, `POST` and `PATCH` (on the merged row) all validate through them.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import (
    Reliability,
)
from app.kit.schemas import (
    Name,
    Shown,
    Strict,
    distinct_aliases,
    partial,
    read_model,
)
from app.sources.model import DocumentFields, SourceFields


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
                    "aliases": ["Forbes Magazine"],
                }
            ]
        }
    )

    aliases: list[Name] = Field(
        default_factory=list,
        max_length=200,
        description="Other names the source is cited under (`Reuters News` for Reuters), each "
        "identifying only this source (case-insensitive) and none another source's name; repeats "
        "and the source's own name are dropped.",
    )

    @model_validator(mode="after")
    def distinct_aliases(self) -> Self:
        self.aliases = distinct_aliases(self.name, self.aliases)
        return self


SourceUpdate = partial(SourceCreate)


SourceOut = read_model(
    "SourceOut",
    SourceFields,
    aliases=Shown(list[str], "Other names of the source, in the order given.", after="name"),
)


class SourceBrief(BaseModel):
    id: int = Field(description="The source's id.")
    name: str = Field(description="The source's name.")
    reliability: Reliability = Field(
        description="The source's grade, A (completely reliable) … F (cannot be judged)."
    )


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


DocumentOut = read_model(
    "DocumentOut",
    DocumentFields,
    source=Shown(SourceBrief, "The source that published it.", after="source_id"),
)

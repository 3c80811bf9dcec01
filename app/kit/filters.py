"""What every filter model shares: refs, date ranges, text parameters that cannot hold NUL.

Each resource has one filter model and one `apply_*_filter(session, select, filter)` in its own
`filter.py`. The filter functions add only WHERE clauses; lists, exports, timelines, facets and
counts all start from the statement they return, so every view of "the matching rows" agrees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Self

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    model_validator,
)
from sqlalchemy.orm import Session

from app.core.errors import ValidationFailed
from app.core.text import fold
from app.db.base import any_of


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL; such a parameter is malformed, not a database error."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    """Only `YYYY-MM-DD`: Pydantic alone would also take `0` (a timestamp) or a midnight datetime."""
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


RefList = Annotated[list[Text], Field(default_factory=list, description="Stable refs (repeatable).")]


class BaseFilter(BaseModel):
    ref: RefList

    def fingerprint(self) -> dict[str, object]:
        """The filter as plain JSON, for binding cursors to the query they came from."""
        return self.model_dump(mode="json", exclude_defaults=True)


class DateRange(BaseModel):
    date_from: IsoDate | None = Field(default=None, description="Inclusive lower bound.")
    date_to: IsoDate | None = Field(default=None, description="Inclusive upper bound.")

    @model_validator(mode="after")
    def ordered(self) -> Self:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        return self


def ids_named(
    session: Session,
    names: Sequence[str],
    *,
    by_name: tuple[Any, Any],  # (key column, id column): mapped attributes of any model
    by_alias: tuple[Any, Any],
    what: str,
) -> set[int]:
    """The ids of the rows `names` name, by folded name or else by alias: one query for the
    names and one for what they missed, however many there are. A name that identifies nothing is
    a 422 naming it (and the `what=` parameter it came in)."""
    keys = [fold(name.strip()) for name in names]
    name_key, name_owner = by_name
    named = session.execute(sa.select(name_key, name_owner).where(any_of(name_key, keys)))
    found: dict[str, int] = {key: owner for key, owner in named}
    missed = [key for key in keys if key not in found]
    if missed:
        alias_key, alias_owner = by_alias
        for key, owner in session.execute(sa.select(alias_key, alias_owner).where(any_of(alias_key, missed))):
            found.setdefault(key, owner)
    for name, key in zip(names, keys, strict=True):
        if key not in found:
            raise ValidationFailed(f"{what} {name!r} identifies no {what}", loc=["query", what])
    return set(found.values())


def refs_in(column: sa.SQLColumnExpression[str | None], refs: Sequence[str]) -> sa.ColumnElement[bool]:
    return column.in_([ref.strip() for ref in refs])

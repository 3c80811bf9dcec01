"""The checks every input model makes before pydantic's own: JSON values of the type the
OpenAPI names (pydantic's lax mode would convert them), and text a database can store, unless
the caller says it has checked the text already (the dataset loader checks whole records)."""

from __future__ import annotations

import enum
from datetime import date

import pytest
from pydantic import ValidationError

from app.kit.schemas import TEXT_CHECKED, Strict


class Sample(Strict):
    count: int | None = None
    share: float | None = None
    flag: bool | None = None
    day: date | None = None
    name: str | None = None
    nested: list[Sample] = []


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", 3),
        ("count", Level.HIGH),  # a subclass of int is a number, as it always was
        ("share", 0.5),
        ("share", 2),
        ("flag", False),
        ("day", "2025-09-12"),
        ("day", date(2025, 9, 12)),  # PATCH validates the stored row merged with the changes
    ],
)
def test_values_of_the_named_type_pass(field: str, value: object) -> None:
    Sample.model_validate({field: value})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", True, "must be a number, not true"),
        ("share", "0.5", 'must be a number, not "0.5"'),
        ("flag", 1, "must be true or false, not 1"),
        ("day", 0, "must be a date string (YYYY-MM-DD), not 0"),
        ("nested", [{"count": False}], "must be a number, not false"),
    ],
)
def test_values_of_another_type_are_refused_not_converted(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Sample.model_validate({field: value})


@pytest.mark.parametrize("body", [{"name": "a\x00b"}, {"nested": [{"name": "a\ud800b"}]}])
def test_unstorable_text_is_refused_unless_the_caller_checked_it(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="must not contain"):
        Sample.model_validate(body)
    Sample.model_validate(body, context={TEXT_CHECKED: True})
    with pytest.raises(ValidationError, match="must not contain"):
        Sample.model_validate(body, context={TEXT_CHECKED: False})

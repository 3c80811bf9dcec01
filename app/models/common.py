"""Columns every resource shares: id, ref, timestamps."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.base import UTCDateTime, utcnow

REF_MAX = 200
NAME_MAX = 500


class ResourceRow(SQLModel):
    """`id`, the optional stable `ref`, and the timestamps of section 1 of the contract."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, max_length=REF_MAX, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def check(expression: str, name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(expression, name=name)


# SQLite would otherwise hand the id of a deleted last row to the next insert, and a change-feed
# tombstone would then share its id with a new row.
NO_ID_REUSE = {"sqlite_autoincrement": True}

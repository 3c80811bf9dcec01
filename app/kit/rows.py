"""Columns every resource shares: id, ref, timestamps.

Each resource declares its own columns once, in a `*Fields` model (pydantic, with SQLModel's
`Field` for what the column needs beyond its type): the table, the `*Create` input (and so the
derived `*Update`) and the `*Out` read form (`kit.schemas.read_model`) all derive from it.
"""

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import AutoString, Field, SQLModel

from app.core.text import REF_MAX
from app.db.base import UTCDateTime, utcnow
from app.kit.schemas import REF, Ref


class Referenced(BaseModel):
    """The optional stable `ref` every resource has: the first of its fields, in and out."""

    ref: Ref | None = Field(default=None, sa_type=AutoString(length=REF_MAX), unique=True, description=REF)


class ResourceRow(SQLModel):
    """`id` and the timestamps of section 1 of the contract, which only the service writes."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

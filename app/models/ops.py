"""Operational tables: API keys and the change feed."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.enums import KeyScope, sql_in
from app.db.base import UTCDateTime, utcnow
from app.models.common import NO_ID_REUSE, check


class ApiKey(SQLModel, table=True):
    """A named key; only its SHA-256 hash is stored."""

    __tablename__ = "api_key"
    __table_args__ = (check(sql_in("scope", KeyScope), "scope"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    scope: str = Field(max_length=10)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Change(SQLModel, table=True):
    """One committed write to one row, in commit order (the change feed)."""

    __tablename__ = "change"
    __table_args__ = (check("op IN ('upsert', 'delete')", "op"), NO_ID_REUSE)

    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    resource: str = Field(max_length=20)
    row_id: int
    ref: str | None = Field(default=None, max_length=200)
    op: str = Field(max_length=10)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

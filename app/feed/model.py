"""The change feed's table."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.text import KEY_NAME_MAX, REF_MAX
from app.db.base import NO_ID_REUSE, UTCDateTime, check, utcnow


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
    ref: str | None = Field(default=None, max_length=REF_MAX)
    op: str = Field(max_length=10)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # who made it: the API key's name, or `cli:<command>`; null for changes older than 0005
    key_name: str | None = Field(default=None, max_length=KEY_NAME_MAX)

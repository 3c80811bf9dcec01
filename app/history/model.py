"""The versions table and the instant history starts at."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.text import KEY_NAME_MAX
from app.db.base import UTCDateTime, check


class Version(SQLModel, table=True):
    """One version of one resource row. `valid_to` is null for a row's last version; a
    `delete` version is the last one and keeps the data the row had when it was deleted.
    `data` is the row's single read form as encoded JSON, or null for the versions migration
    0007 recorded for rows that existed before it (their read form is rebuilt from the
    mirrors when asked for)."""

    __tablename__ = "history"
    __table_args__ = (
        check("operation IN ('create', 'update', 'delete')", "operation"),
        sa.UniqueConstraint("resource", "row_id", "version", name="uq_history_resource_row_id_version"),
        # the open version of rows, closed by the next write
        sa.Index("ix_history_resource_row_id_valid_to", "resource", "row_id", "valid_to"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource: str = Field(max_length=20)
    row_id: int
    version: int
    valid_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    operation: str = Field(max_length=10)
    key_name: str | None = Field(default=None, max_length=KEY_NAME_MAX)
    data: str | None = Field(default=None, sa_type=sa.Text())


class HistoryStart(SQLModel, table=True):
    """When history began: the instant migration 0007 ran. Nothing is known of the rows before
    it, so a read `as_of` an earlier instant is refused rather than answered empty."""

    __tablename__ = "history_start"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)

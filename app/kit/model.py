"""Tables of the kit itself, not of any resource."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.base import UTCDateTime


class SharedAnswer(SQLModel, table=True):
    """An expensive answer (a timeline, facet counts) computed by one worker, for the others
    (`app.kit.answers.SharedAnswers`): each worker keeps its answers in its own memory, and
    without this every worker computed each aggregate once per data version itself.

    One row per question (path and query), holding its newest answer and the data version it
    was computed from. Never a source of truth. On PostgreSQL the table is UNLOGGED (migration
    0012): a cache needs no WAL record, and a crash merely empties it. SQLite does not use it.
    """

    __tablename__ = "shared_answer"

    question: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))  # sha256, hex
    version: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    etag: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    next_cursor: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    body: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    stored_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # the oldest are forgotten

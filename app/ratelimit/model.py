"""The rate limits' counters when they are kept in the database."""

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class RateLimitWindow(SQLModel, table=True):
    """How many requests (or failed authentications) one bucket made in one fixed window.

    The window comes first in the key, so the rows of windows gone by are one range of the
    primary key to delete. On PostgreSQL the table is UNLOGGED (migration 0006): counters that
    live a minute are not worth a WAL record per request, and a crash merely forgets them.
    """

    __tablename__ = "rate_limit_window"

    window_start: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    bucket: str = Field(primary_key=True, max_length=100)
    hits: int = Field(default=0)

"""API keys."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.enums import KeyScope, sql_in
from app.core.text import KEY_NAME_MAX
from app.db.base import NO_ID_REUSE, UTCDateTime, check, utcnow


class ApiKey(SQLModel, table=True):
    """A named key; only its SHA-256 hash is stored."""

    __tablename__ = "api_key"
    __table_args__ = (check(sql_in("scope", KeyScope), "scope"), NO_ID_REUSE)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=KEY_NAME_MAX, unique=True)
    scope: str = Field(max_length=10)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

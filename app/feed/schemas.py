"""What /v1/changes answers (documentation: the route encodes its rows itself)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ChangeOut(BaseModel):
    seq: int = Field(description="Position in the feed, increasing in commit order; poll with `after=<seq>`.")
    resource: Literal["sources", "documents", "actors", "events", "statements"] = Field(
        description="The resource's plural path name."
    )
    id: int = Field(description="The row's id (never reused, so a tombstone names one row only).")
    ref: str | None = Field(description="The row's ref; kept in tombstones.")
    op: Literal["upsert", "delete"] = Field(
        description="`upsert`: created or changed; `delete`: a tombstone."
    )
    changed_at: datetime = Field(description="When the writing transaction recorded it (RFC 3339, UTC).")
    key: str | None = Field(
        default=None,
        description="Who made it: the name of the API key, `cli:load`, `cli:demo` or `cli:import`; null "
        "for changes recorded before the service kept it. Present only for a request with a "
        "`write` key (key names can be sensitive).",
    )


class ChangesPage(BaseModel):
    items: list[ChangeOut] = Field(description="The changes after `after`, in `seq` order.")
    next_after: int = Field(description="The last `seq` returned, or `after` itself when nothing is new.")

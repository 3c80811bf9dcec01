"""The change feed: every committed write appends its changes in the writing transaction.

Rows are collected on the session while the transaction runs and inserted just before commit.
On PostgreSQL the insert first takes a transaction-scoped advisory lock, held until commit, so
change sequence numbers are assigned in commit order: a reader that has seen `seq = n` can never
later meet a newly committed change with `seq < n`. (Without it, two transactions could draw
sequence numbers 5 and 6 and commit 6 first; a poller reading `seq > 5` after 6 commits would
miss 5 forever.) SQLite serialises writers itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.base import utcnow
from app.db.bulk import bulk_insert
from app.db.session import AUTHOR
from app.feed.model import Change

PENDING = "pending_changes"
FEED_LOCK_KEY = 0x6665_6564  # "feed": one application-wide advisory lock id
NOTIFY_CHANNEL = "conflict_events_changes"

# The changes of a transaction: (resource, row id) -> (ref, op, created), in the order they were
# queued. `created`: the row was inserted by this transaction, so it has no history yet.
Pending = dict[tuple[str, int], tuple[str | None, str, bool]]
# Written with the changes, in the same transaction, with the same instant and author: the
# record history (`app.history.writer` registers itself here).
CommitHook = Callable[[Session, Pending, datetime, str | None], None]
COMMIT_HOOKS: list[CommitHook] = []


class HistoryNotInstalled(RuntimeError):
    """A write would commit without its history: the process never imported the writer."""


def record_change(
    session: Session, resource: str, row_id: int, ref: str | None, op: str, *, created: bool = False
) -> None:
    """Queue one change; duplicates within a transaction collapse to the last op per row. It is
    recorded with the session's author (`app.db.session.AUTHOR`): the key's name, or the
    command's `cli:…`. `created` marks a row this transaction inserted (it stays marked through
    later changes in the transaction): its history has nothing to close."""
    pending: Pending = session.info.setdefault(PENDING, {})
    _, _, was_created = pending.pop((resource, row_id), (None, op, False))
    pending[(resource, row_id)] = (ref, op, created or was_created)


def _flush_changes(session: Session) -> None:
    pending: Pending = session.info.pop(PENDING, {})
    if not pending:
        return
    if not COMMIT_HOOKS:
        raise HistoryNotInstalled("import app.history.writer before writing: every write keeps its history")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK_KEY})
        # delivered at commit (never for a rollback): wakes long-polls and streams (app.feed.notify)
        session.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    now, author = utcnow(), session.info.get(AUTHOR)
    for hook in COMMIT_HOOKS:
        hook(session, pending, now, author)
    bulk_insert(
        session,
        Change.__table__,  # type: ignore[attr-defined]
        [
            {
                "resource": resource,
                "row_id": row_id,
                "ref": ref,
                "op": op,
                "changed_at": now,
                "key_name": author,
            }
            for (resource, row_id), (ref, op, _) in pending.items()
        ],
    )


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _flush_changes(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def latest_seq(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.max(col(Change.seq)), 0))) or 0)


def changes_after(session: Session, after: int, limit: int) -> list[Any]:
    return list(
        session.scalars(
            sa.select(Change).where(col(Change.seq) > after).order_by(col(Change.seq)).limit(limit)
        )
    )

"""The change feed under concurrent writers (PostgreSQL): a poller following `after=<last seq>`
sees every committed change exactly once.

Sequence numbers are drawn when a transaction inserts its changes, but become visible when it
commits; two writers can commit in the opposite order. The feed holds a transaction-scoped
advisory lock from the change insert to the commit, so seq order equals commit order. To make a
violation likely if that lock were missing, every commit here is delayed by a random few
milliseconds after the changes are inserted.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import col

from app.db import session as db_session
from app.feed.changes import changes_after
from app.feed.model import Change
from app.kit import crud
from app.sources.routes import SOURCE_SPEC
from app.sources.schemas import SourceCreate

WRITERS = 6
TRANSACTIONS_PER_WRITER = 60
DEADLINE_SECONDS = 60


@pytest.fixture
def pg_engine(engine: sa.Engine, database_url: str) -> sa.Engine:
    if not database_url.startswith("postgresql"):
        pytest.skip("the commit-order guarantee is about PostgreSQL; SQLite serialises writers")
    return engine


def test_poller_sees_every_committed_change_once(pg_engine: sa.Engine) -> None:
    def slow_commit(_: Any) -> None:
        time.sleep(random.uniform(0, 0.004))

    event.listen(pg_engine, "commit", slow_commit)
    committed: list[tuple[str, int, str]] = []
    committed_lock = threading.Lock()
    errors: list[BaseException] = []
    writers_done = threading.Event()
    seen: list[Any] = []

    def writer(number: int) -> None:
        try:
            for n in range(TRANSACTIONS_PER_WRITER):
                with db_session.transaction(pg_engine) as session:
                    row = crud.create(
                        session,
                        SOURCE_SPEC,
                        SourceCreate(ref=f"w{number}:{n}", name=f"Writer {number} source {n}", kind="ngo"),
                    )
                    row_id = row.id
                ops = [("sources", row_id, "upsert")]
                if n % 3 == 0:
                    with db_session.transaction(pg_engine) as session:
                        crud.update(
                            session,
                            SOURCE_SPEC,
                            crud.get_row(session, SOURCE_SPEC, row_id, lock=True),
                            {"reliability": "B"},
                        )
                    ops.append(("sources", row_id, "upsert"))
                if n % 5 == 0:
                    with db_session.transaction(pg_engine) as session:
                        crud.delete(
                            session, SOURCE_SPEC, crud.get_row(session, SOURCE_SPEC, row_id, lock=True)
                        )
                    ops.append(("sources", row_id, "delete"))
                with committed_lock:
                    committed.extend(ops)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def poller() -> None:
        after = 0
        factory = db_session.session_factory(pg_engine)
        try:
            while True:
                finished = writers_done.is_set()
                with factory() as session:
                    rows = changes_after(session, after, 200)
                for row in rows:
                    assert row.seq > after
                    seen.append((row.seq, row.resource, row.row_id, row.op))
                    after = row.seq
                if finished and not rows:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    poll = threading.Thread(target=poller)
    started = time.monotonic()
    try:
        poll.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE_SECONDS)
        writers_done.set()
        poll.join(DEADLINE_SECONDS)
    finally:
        writers_done.set()
        event.remove(pg_engine, "commit", slow_commit)
    assert not errors, errors
    assert time.monotonic() - started < DEADLINE_SECONDS

    with pg_engine.connect() as conn:
        stored = conn.execute(
            sa.select(col(Change.seq), col(Change.resource), col(Change.row_id), col(Change.op)).order_by(
                col(Change.seq)
            )
        )
        stored_rows = [tuple(r) for r in stored]
    seqs = [s[0] for s in seen]
    assert len(seqs) == len(set(seqs)), "a change was seen twice"
    assert seqs == sorted(seqs)
    # every committed change was seen: nothing slipped in behind the poller
    assert seen == stored_rows
    assert sorted(s[1:] for s in seen) == sorted(committed)
    expected = WRITERS * sum(1 + (n % 3 == 0) + (n % 5 == 0) for n in range(TRANSACTIONS_PER_WRITER))
    assert len(seen) == expected

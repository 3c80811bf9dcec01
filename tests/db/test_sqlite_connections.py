"""SQLite connections are set up per transaction kind: a write keeps its page cache and its
temporary files (statement journals) in memory, a read keeps SQLite's defaults."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from app.db.session import READ_CACHE, WRITE_CACHE, make_engine, session_factory

TEMP_STORE_DEFAULT, TEMP_STORE_MEMORY = 0, 2


def _settings(session: sa.orm.Session) -> tuple[int, int]:
    cache = session.execute(sa.text("PRAGMA cache_size")).scalar_one()
    temp_store = session.execute(sa.text("PRAGMA temp_store")).scalar_one()
    return cache, temp_store


def test_writes_keep_temporary_files_in_memory_and_reads_do_not(tmp_path: Path) -> None:
    """One pooled connection serves both kinds in turn, so each must set what it needs: a write
    into event, event_actor or citation (tables with triggers) opens a statement journal per
    statement, which for a row written alone is per row, and on disk that cost more than the
    insert; a read's large sort should spill to disk rather than grow the process."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}", poolclass=sa.pool.StaticPool)
    try:
        for _ in range(2):  # write → read → write → read on the same connection
            with session_factory(engine, write=True)() as session:
                assert _settings(session) == (WRITE_CACHE, TEMP_STORE_MEMORY)
            with session_factory(engine)() as session:
                assert _settings(session) == (READ_CACHE, TEMP_STORE_DEFAULT)
    finally:
        engine.dispose()

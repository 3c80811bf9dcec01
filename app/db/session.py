"""Engine factory (SQLite pragmas, PostgreSQL pool) and sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from app.core.config import get_settings

IMMEDIATE = "sqlite_begin_immediate"
# SQLite's page cache per connection, in KiB when negative. A write keeps the index pages it
# updates in memory (an import batch touches more than SQLite's default 2 MiB; about 8 % off an
# import's time); a read keeps the default, so an export's memory stays flat (with the write's
# cache on every connection, a whole-table export grew by 30 MiB more). Shrinking frees pages.
WRITE_CACHE = -32768
READ_CACHE = -2000
CACHE = "sqlite_cache_size"
# Where SQLite keeps its temporary files, by the same split. A write into a table with a
# trigger (the stored event forms' bookkeeping on event, event_actor and citation) opens a
# statement journal per statement, which for a row written alone is per row; on disk that
# cost about 35 write calls per event row when imports wrote a row per statement, more than
# the insert itself (an event row: 55 µs with it on disk, 31 in memory). A statement journal
# holds only the pages its statement changed. Reads keep the default, so a large sort spills
# to disk rather than growing the process.
WRITE_TEMP_STORE = "MEMORY"
READ_TEMP_STORE = "DEFAULT"
# Execution option: PostgreSQL sends the statement's rows in its binary format (bytea as bytes,
# not hex text twice their size; 15-25 % off reading stored export forms). Only for statements
# whose rows are taken from the driver as they are (`pagination.driver_rows_after`).
BINARY_RESULTS = "postgresql_binary_results"
# Session.info key: who writes in the session (an API key's name, `cli:load`…); the change
# feed records it with every change (app.feed.changes).
AUTHOR = "author"


SqliteValue = str | bytes | int | float | None


def _lower(value: SqliteValue) -> SqliteValue:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    """WAL, enforced foreign keys, Unicode lower-casing, and explicit BEGIN.

    pysqlite's own transaction handling starts transactions lazily and cannot take the write
    lock up front; writes use BEGIN IMMEDIATE so that read-check-write sequences (If-Match,
    uniqueness checks) are serialised instead of failing halfway.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function("py_lower", 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        pages = WRITE_CACHE if immediate else READ_CACHE
        if connection.info.get(CACHE) != pages:
            temp_store = WRITE_TEMP_STORE if immediate else READ_TEMP_STORE
            connection.exec_driver_sql(f"PRAGMA cache_size={pages}")
            connection.exec_driver_sql(f"PRAGMA temp_store={temp_store}")
            connection.info[CACHE] = pages
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for its dialect."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(sa_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    if get_settings().database_pooler == "transaction":
        # a transaction pooler hands each transaction whichever server connection is free: a
        # statement psycopg prepared on one is unknown on the next
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    engine = sa.create_engine(sa_url, **kwargs)
    _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    """`BINARY_RESULTS`: psycopg makes a cursor binary by its `format` (as its own
    `cursor(binary=True)` does); SQLAlchemy opens a cursor per statement, so it goes no further."""
    from psycopg.pq import Format

    @event.listens_for(engine, "before_cursor_execute")
    def binary_results(_: sa.Connection, cursor: Any, __: str, ___: Any, context: Any, ____: bool) -> None:
        if context is not None and context.execution_options.get(BINARY_RESULTS):
            cursor.format = Format.BINARY


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def session_factory(
    engine: Engine | None = None, *, write: bool = False, author: str | None = None
) -> sessionmaker[Session]:
    """Sessions that never expire loaded rows on commit (responses are built after commit);
    `author` is recorded with the changes their writes make."""
    return _session_factory(engine or get_engine(), write, author)


@lru_cache(maxsize=64)
def _session_factory(engine: Engine, write: bool, author: str | None) -> sessionmaker[Session]:
    """One factory per engine and mode: a `sessionmaker` defines a Session subclass, and a new
    class per request rebuilt SQLAlchemy's event dispatch for it every time."""
    bind = engine
    if write and engine.dialect.name == "sqlite":
        bind = engine.execution_options(**{IMMEDIATE: True})
    info = {AUTHOR: author} if author is not None else None
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False, info=info)


@contextmanager
def transaction(engine: Engine | None = None, *, author: str | None = None) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any error. `author` is who
    writes (see AUTHOR)."""
    with session_factory(engine, write=True)() as session:
        if author is not None:
            session.info[AUTHOR] = author
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

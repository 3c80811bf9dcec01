"""Answers of aggregate reads, list pages and single reads, kept per data version.

A timeline or a facet count reads every matching event: at a million events that is most of a
second of database time (facets several), however little the data changed since the last
dashboard asked. A list page is cheap to read but is most of what a dashboard polls: its
embedded rows (actors, citations, grades) cost five more statements and a dict per row, where a
page already answered costs a lookup; a single read likewise. An answer only changes when a
write commits, and every committed write appends to the change feed in its own transaction, so
`(feed head seq, its changed_at)` names the data an answer was computed from. Each worker keeps
the encoded answers of the questions asked at the current version, bounded in bytes (least
recently used out first); a write moves the version on and the next request computes afresh.
Each question keeps only its newest answer: versions only move on, so an older one is dead weight.

A kept answer is served before the request reaches the routes (`app.api.kept`): FastAPI's
routing, its dependencies and a session cost three times what reading the version and
sending the bytes do. The version read there is handed to the route (`DATA_VERSION` in the
request's state) when the answer has to be computed after all, so it is read once.

Why the version is read before the answer is computed: an answer computed afterwards is at
least as new as its key, never older. (With a write committing in between, the entry for the
old version holds the newer answer; no request at the newer version reads it.)

The feed head's `changed_at` is part of the version because `seq` alone can repeat: a
database emptied and reloaded (a restore, a test's truncation) counts its feed from 1 again.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.config import get_settings
from app.feed.model import Change

# Request state key: the data version the kept-answer middleware read for this request.
DATA_VERSION = "data_version"


@dataclass(frozen=True)
class Answer:
    body: bytes
    etag: str
    next_cursor: str | None = None  # a list page's, for the Link header built per request
    version: tuple[object, ...] = ()  # (feed head seq, its changed_at) it was computed from
    route: Any = None  # the route that computed it: a kept answer is counted and logged under it


class AnswerCache:
    """A bounded, thread-safe map from a question at a version to its encoded answer."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: Hashable, answer: Answer) -> None:
        """Keep `answer` unless it alone would take more than a quarter of the budget."""
        size = len(answer.body)
        if size * 4 > self.max_bytes:
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._answers[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body)


@lru_cache
def _cache_of_size(max_bytes: int) -> AnswerCache:
    return AnswerCache(max_bytes)


def answer_cache() -> AnswerCache | None:
    """This process's cache, or None when ANSWER_CACHE_BYTES is 0."""
    max_bytes = get_settings().answer_cache_bytes
    return _cache_of_size(max_bytes) if max_bytes else None


def clear_answer_caches() -> None:
    _cache_of_size.cache_clear()


# by max(): both databases answer it from the key's last entry (SQLite plans `ORDER BY … DESC
# LIMIT 1` on a rowid table as a scan, even though it stops at the first row)
LATEST_CHANGE = sa.select(col(Change.seq), col(Change.changed_at)).where(
    col(Change.seq) == sa.select(sa.func.max(col(Change.seq))).scalar_subquery()
)
_LATEST_SQL: dict[str, str] = {}  # LATEST_CHANGE compiled, per dialect
_DATABASES: weakref.WeakKeyDictionary[sa.Engine, str] = weakref.WeakKeyDictionary()


def _latest_sql(dialect: sa.Dialect) -> str:
    sql = _LATEST_SQL.get(dialect.name)
    if sql is None:
        sql = _LATEST_SQL[dialect.name] = str(LATEST_CHANGE.compile(dialect=dialect))
    return sql


def database_of(engine: sa.Engine) -> str:
    """The database's name in an answer's question (rendered once per engine)."""
    database = _DATABASES.get(engine)
    if database is None:
        database = _DATABASES[engine] = engine.url.render_as_string(hide_password=True)
    return database


def data_version(session: Session) -> tuple[object, ...]:
    """The last committed change the session sees: what an answer computed now in this
    session is computed from.

    Asked before every kept answer the middleware did not find, so it skips what a statement
    through the ORM costs (a third of a cached page's time): the SQL is compiled once per
    dialect and sent as text, and the row is the driver's. `changed_at` is compared, never
    read, so it stays as the driver gives it."""
    connection = session.connection()
    result = connection.exec_driver_sql(_latest_sql(connection.dialect))
    try:
        latest = result.cursor.fetchone()
    finally:
        result.close()
    return tuple(latest or (0, None))


def engine_data_version(engine: sa.Engine) -> tuple[object, ...]:
    """`data_version` read on a connection of its own, outside any session or transaction:
    what the kept-answer middleware compares with a kept answer's version.

    On SQLite the connection is in autocommit, so the one statement is its own snapshot and
    no BEGIN or ROLLBACK is sent; the row is the driver's, as `data_version`'s is, so the two
    compare equal."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(_latest_sql(engine.dialect))
            latest = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()
    return tuple(latest or (0, None))

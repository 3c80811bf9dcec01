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

Each worker keeps its own answers, so with several workers an aggregate was computed once per
version in each of them: the second worker's first dashboard waited the whole computation (2.2 s
for the four facets at a million events) for an answer the first already had. On PostgreSQL
an expensive answer (the routes that opt in: timelines and facets) is therefore also shared
through the database (`SharedAnswers`): a worker that has none computed looks there before
computing, and stores what it computes.

The feed head's `changed_at` is part of the version because `seq` alone can repeat: a
database emptied and reloaded (a restore, a test's truncation) counts its feed from 1 again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.config import get_settings
from app.db.base import table_of, utcnow
from app.db.session import get_engine
from app.feed.model import Change
from app.kit.model import SharedAnswer

log = logging.getLogger("conflict_events.answers")

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


# a shared answer not stored again within this long is forgotten (it is computed again if asked)
SHARED_ANSWER_LIFETIME = timedelta(hours=1)
FORGET_EVERY = 100  # stores by this process between two deletions of the forgotten


class SharedAnswers:
    """Expensive answers shared by the workers through the database (PostgreSQL only).

    Read and written on connections of their own in autocommit, outside the reading session: a
    read session is never committed, and a store must not wait for the read to end. A failure
    here is logged and the answer computed or kept as if there were no sharing."""

    def __init__(self, engine: sa.Engine) -> None:
        self.bind = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.table = table_of(SharedAnswer)
        self.stores = 0
        self.lock = threading.Lock()

    @staticmethod
    def key(question: tuple[object, ...]) -> str:
        """The question asked of this code: a release that answers it otherwise (another
        bucket rule, a fixed count) must not read what an older one stored at the same data
        version, during a rolling deploy or after one."""
        return hashlib.sha256(repr((code_identity(), question)).encode()).hexdigest()

    @staticmethod
    def version_text(version: tuple[object, ...]) -> str:
        return "|".join(map(str, version))

    def get(self, question: tuple[object, ...], version: tuple[object, ...]) -> Answer | None:
        table = self.table
        try:
            with self.bind.connect() as connection:
                row = connection.execute(
                    sa.select(table.c.etag, table.c.next_cursor, table.c.body).where(
                        table.c.question == self.key(question),
                        table.c.version == self.version_text(version),
                    )
                ).one_or_none()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("shared answers unreadable, computing: %s", exc.__class__.__name__)
            return None
        return None if row is None else Answer(bytes(row.body), row.etag, row.next_cursor)

    def put(self, question: tuple[object, ...], version: tuple[object, ...], answer: Answer) -> None:
        from sqlalchemy.dialects.postgresql import insert

        table = self.table
        values = {
            "question": self.key(question),
            "version": self.version_text(version),
            "etag": answer.etag,
            "next_cursor": answer.next_cursor,
            "body": answer.body,
            "stored_at": utcnow(),
        }
        upsert = insert(table).values(values)
        upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.question],
            set_={name: upsert.excluded[name] for name in values if name != "question"},
        )
        with self.lock:
            self.stores += 1
            forget = self.stores % FORGET_EVERY == 1
        try:
            with self.bind.connect() as connection:
                connection.execute(upsert)
                if forget:
                    cutoff = utcnow() - SHARED_ANSWER_LIFETIME
                    connection.execute(sa.delete(table).where(table.c.stored_at < cutoff))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("shared answer not stored: %s", exc.__class__.__name__)


@lru_cache(maxsize=1)
def code_identity() -> str:
    """A hash of the service's own source files (`app/**/*.py`), read once per process."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


_SHARED: weakref.WeakKeyDictionary[sa.Engine, SharedAnswers] = weakref.WeakKeyDictionary()


def shared_answers(engine: sa.Engine) -> SharedAnswers | None:
    """The engine's shared answers; None on SQLite (its workers share one host and one write
    lock, which a read should not queue for) and on a read replica (which can neither read an
    unlogged table nor write)."""
    if engine.dialect.name != "postgresql" or engine is not get_engine():
        return None
    shared = _SHARED.get(engine)
    if shared is None:
        shared = _SHARED[engine] = SharedAnswers(engine)
    return shared

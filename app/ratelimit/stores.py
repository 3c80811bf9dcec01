"""Where the rate limits count: Redis, the database, or this process's memory.

Every store counts in fixed windows (`window_start`, seconds since the epoch, a multiple of the
window's length) and answers one call per request with one round trip: increment some buckets,
read others, return the counts. A bucket is a short string (`k:<key hash>`, `a:<address>`,
`f:<address>`), the window is part of its identity, and a window's counts are dropped once it
has passed.

A shared store that fails (Redis or the database unreachable) does not fail the request:
`FailoverStore` counts in memory meanwhile, logs the outage once and its end once, counts
the failures in a metric, and tries the shared store again every few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio.to_thread
import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.db.base import table_of
from app.db.session import IMMEDIATE, make_engine
from app.ratelimit.model import RateLimitWindow

log = logging.getLogger("conflict_events.ratelimit")

STORE_ERRORS = Counter(
    "conflict_events_rate_limit_store_errors",
    "Calls to the shared rate-limit store that failed (the process counted in memory instead).",
    ["store"],
)


class CounterStore(Protocol):
    """Counts per bucket and window."""

    name: str
    errors: tuple[type[BaseException], ...]

    async def update(
        self, window_start: int, window_seconds: int, increment: Sequence[str], read: Sequence[str] = ()
    ) -> list[int]:
        """Add one to each bucket of `increment` and return their new counts, followed by the
        counts of the buckets of `read` (0 for a bucket not seen in this window)."""

    async def close(self) -> None: ...


class MemoryStore:
    """One process's counts, for a single worker (or while a shared store is away)."""

    name = "memory"
    errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self.window_start = 0
        self.counts: dict[str, int] = {}

    async def update(
        self, window_start: int, window_seconds: int, increment: Sequence[str], read: Sequence[str] = ()
    ) -> list[int]:
        if window_start > self.window_start:  # a new window: the last one's counts are dropped
            self.window_start = window_start
            self.counts = {}
        counts = self.counts
        found = []
        for bucket in increment:
            counts[bucket] = count = counts.get(bucket, 0) + 1
            found.append(count)
        found.extend(counts.get(bucket, 0) for bucket in read)
        return found

    async def close(self) -> None:
        self.counts = {}


class DatabaseStore:
    """Counts in the `rate_limit_window` table, shared by every process on the database.

    One statement per request, in a worker thread: an upsert that returns the new count
    (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same on PostgreSQL and SQLite) with the
    read buckets' counts as scalar subqueries of its RETURNING clause. On PostgreSQL it runs in
    autocommit on a small engine of its own without pre-ping: one round trip, and the requests'
    own pool is left alone. Each process deletes the windows gone by once, when it first counts
    in a new one.
    """

    name = "database"
    errors: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError,)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if engine.dialect.name == "sqlite":  # take the write lock up front, as every writer here
            self.bind = engine.execution_options(**{IMMEDIATE: True})
        else:
            self.bind = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.table = table_of(RateLimitWindow)
        self.insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self.statements: dict[tuple[int, int], sa.Executable] = {}
        self.cleaned_before = 0

    def _statement(self, increments: int, reads: int) -> sa.Executable:
        """Increment one bucket (or none) and read `reads` others, as one statement."""
        found = self.statements.get((increments, reads))
        if found is not None:
            return found
        table = self.table
        counts = [
            sa.select(table.c.hits)
            .where(
                table.c.window_start == sa.bindparam("window_start"),
                table.c.bucket == sa.bindparam(f"read{i}"),
            )
            .scalar_subquery()
            for i in range(reads)
        ]
        statement: sa.Executable
        if increments:
            upsert = self.insert(table).values(
                window_start=sa.bindparam("window_start"), bucket=sa.bindparam("bucket"), hits=1
            )
            statement = upsert.on_conflict_do_update(
                index_elements=[table.c.window_start, table.c.bucket], set_={"hits": table.c.hits + 1}
            ).returning(table.c.hits, *counts)
        else:
            statement = sa.select(*counts)
        self.statements[(increments, reads)] = statement
        return statement

    async def update(
        self, window_start: int, window_seconds: int, increment: Sequence[str], read: Sequence[str] = ()
    ) -> list[int]:
        return await anyio.to_thread.run_sync(self._update, window_start, increment, read)

    def _update(self, window_start: int, increment: Sequence[str], read: Sequence[str]) -> list[int]:
        reads = {f"read{i}": bucket for i, bucket in enumerate(read)}
        with self.bind.begin() as connection:
            found: list[int] = []
            for bucket in increment[:-1]:  # more than one bucket to increment: one at a time
                found.append(self._run(connection, 1, 0, {"window_start": window_start, "bucket": bucket})[0])
            last = {"bucket": increment[-1]} if increment else {}
            found += self._run(
                connection, len(last), len(read), {"window_start": window_start, **last, **reads}
            )
        if window_start > self.cleaned_before:
            self.cleaned_before = window_start
            self._forget_before(window_start)
        return found

    def _run(
        self, connection: sa.Connection, increments: int, reads: int, values: dict[str, object]
    ) -> list[int]:
        if not increments and not reads:
            return []
        row = connection.execute(self._statement(increments, reads), values).one()
        return [int(count or 0) for count in row]

    def _forget_before(self, window_start: int) -> None:
        """Delete the windows gone by, on its own: several processes may do it at once, and a
        lost race is no reason to fail a request."""
        try:
            with self.bind.begin() as connection:
                connection.execute(sa.delete(self.table).where(self.table.c.window_start < window_start))
        except sa.exc.SQLAlchemyError as exc:
            log.info("rate limits: old windows not deleted this time (%s)", type(exc).__name__)

    async def close(self) -> None:
        self.engine.dispose()


# INCR and EXPIREAT (the window's end) for each incremented key, GET for the others: one
# command, run atomically by Redis
COUNT_SCRIPT = """
local found = {}
for i = 1, tonumber(ARGV[1]) do
  found[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIREAT', KEYS[i], ARGV[2])
end
for i = tonumber(ARGV[1]) + 1, #KEYS do
  found[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
end
return found
"""


class RedisStore:
    """Counts in Redis, in one round trip per call (a Lua script, sent once and then run by its
    hash). A key lives only as long as its window, plus a second."""

    name = "redis"

    def __init__(
        self, url: str, *, prefix: str = "conflict-events:rate-limit:", timeout: float = 0.5
    ) -> None:
        from redis import exceptions
        from redis.asyncio import Redis

        self.client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.count = self.client.register_script(COUNT_SCRIPT)
        self.prefix = prefix
        self.errors: tuple[type[BaseException], ...] = (exceptions.RedisError, OSError, TimeoutError)

    async def update(
        self, window_start: int, window_seconds: int, increment: Sequence[str], read: Sequence[str] = ()
    ) -> list[int]:
        keys = [f"{self.prefix}{window_start}:{bucket}" for bucket in (*increment, *read)]
        found = await self.count(keys=keys, args=[len(increment), window_start + window_seconds + 1])
        return [int(n) for n in found]

    async def close(self) -> None:
        await self.client.aclose()


class FailoverStore:
    """A shared store, or this process's memory while the shared one fails.

    Failing open entirely would lift the limit on guessing keys whenever Redis is away; counting
    in memory keeps every limit in force per process (with N workers a client may get up to N
    times its quota) until the shared store answers again.
    """

    def __init__(
        self, shared: CounterStore, *, retry_after: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.shared = shared
        self.name = shared.name
        self.errors: tuple[type[BaseException], ...] = ()
        self.local = MemoryStore()
        self.retry_after = retry_after
        self.clock = clock
        self.down_until: float | None = None

    async def update(
        self, window_start: int, window_seconds: int, increment: Sequence[str], read: Sequence[str] = ()
    ) -> list[int]:
        if self.down_until is not None and self.clock() < self.down_until:
            return await self.local.update(window_start, window_seconds, increment, read)
        try:
            found = await self.shared.update(window_start, window_seconds, increment, read)
        except self.shared.errors as exc:
            STORE_ERRORS.labels(self.shared.name).inc()
            if self.down_until is None:
                log.warning(
                    "rate limits: the %s store failed (%s: %s); counting in this process until it answers",
                    self.shared.name,
                    type(exc).__name__,
                    exc,
                )
            self.down_until = self.clock() + self.retry_after
            return await self.local.update(window_start, window_seconds, increment, read)
        if self.down_until is not None:
            log.warning("rate limits: the %s store answers again", self.shared.name)
            self.down_until = None
        return found

    async def close(self) -> None:
        await self.shared.close()


def make_store(kind: str, *, database_url: str, redis_url: str | None) -> CounterStore:
    """The store the settings name (`Settings.rate_limit_store_kind`)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "redis":
        assert redis_url, "RATE_LIMIT_STORE=redis needs REDIS_URL"
        return FailoverStore(RedisStore(redis_url))
    # an engine of its own: no pre-ping round trip per request, and the requests' pool untouched
    postgres = sa.make_url(database_url).get_backend_name() == "postgresql"
    options = {"pool_pre_ping": False, "pool_size": 4, "max_overflow": 8} if postgres else {}
    return FailoverStore(DatabaseStore(make_engine(database_url, **options)))

"""Each store counts the same way: increments return the new counts, reads the current ones, a
new window starts from zero, and the database forgets the windows gone by. The fail-over store
counts in memory while its shared store fails, and goes back to it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from app.core.config import Settings
from app.db.session import get_engine
from app.ratelimit.stores import CounterStore, DatabaseStore, FailoverStore, MemoryStore, RedisStore

REDIS_URL = "redis://127.0.0.1:6379/0"


def window_soon() -> int:
    """A window in the near future (Redis expiries must not lie in the past)."""
    return int(time.time() // 60) * 60 + 120


async def counts_like_every_store(store: CounterStore) -> None:
    window = window_soon()
    bucket, other = f"a:{uuid.uuid4().hex}", f"f:{uuid.uuid4().hex}"
    assert await store.update(window, 60, [bucket], [other]) == [1, 0]
    assert await store.update(window, 60, [bucket, other]) == [2, 1]
    assert await store.update(window, 60, [], [bucket, other]) == [2, 1]
    assert await store.update(window + 60, 60, [bucket], [other]) == [1, 0]


@pytest.mark.anyio
async def test_the_memory_store() -> None:
    await counts_like_every_store(MemoryStore())


@pytest.mark.anyio
async def test_the_redis_store_and_its_expiry() -> None:
    store = RedisStore(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    try:
        await counts_like_every_store(store)
        window = window_soon()
        await store.update(window, 60, ["a:expiring"])
        ttl = await store.client.ttl(f"{store.prefix}{window}:a:expiring")
        assert window + 60 - time.time() < ttl <= window + 61 - time.time() + 1
    finally:
        await store.close()


@pytest.mark.anyio
async def test_the_database_store_forgets_windows_gone_by(database_url: str) -> None:
    store = DatabaseStore(get_engine())
    await counts_like_every_store(store)
    with get_engine().connect() as connection:
        windows = connection.scalars(sa.text("SELECT DISTINCT window_start FROM rate_limit_window")).all()
    assert windows == [window_soon() + 60]


class Failing:
    name = "flaky"
    errors: tuple[type[BaseException], ...] = (ConnectionError,)

    def __init__(self) -> None:
        self.up = False
        self.calls = 0
        self.memory = MemoryStore()

    async def update(
        self, window_start: int, window_seconds: int, increment: Sequence[str], read: Sequence[str] = ()
    ) -> list[int]:
        self.calls += 1
        if not self.up:
            raise ConnectionError("refused")
        return [100 + n for n in await self.memory.update(window_start, window_seconds, increment, read)]

    async def close(self) -> None:
        pass


@pytest.mark.anyio
async def test_the_failover_store_counts_in_memory_while_the_shared_one_fails() -> None:
    now = [0.0]
    shared = Failing()
    store = FailoverStore(shared, retry_after=5, clock=lambda: now[0])
    assert await store.update(60, 60, ["a:x"]) == [1]
    assert await store.update(60, 60, ["a:x"]) == [2]  # not asked again for 5 s
    assert shared.calls == 1
    now[0] = 6
    shared.up = True
    assert await store.update(60, 60, ["a:x"]) == [101]  # the shared store again
    assert shared.calls == 2


def test_auto_picks_redis_then_postgresql_then_memory() -> None:
    postgres = "postgresql+psycopg://db/x"
    assert Settings(redis_url="redis://r", database_url=postgres).rate_limit_store_kind == "redis"
    assert Settings(database_url=postgres).rate_limit_store_kind == "database"
    assert Settings(database_url="sqlite:///x.db").rate_limit_store_kind == "memory"
    assert Settings(rate_limit_store="database").rate_limit_store_kind == "database"
    with pytest.raises(ValueError, match="REDIS_URL"):
        Settings(rate_limit_store="redis", redis_url=None)

"""Waking the feed's waiters when a change commits: PostgreSQL LISTEN/NOTIFY, polling on SQLite.

Every writing transaction that appends changes also runs `pg_notify(CHANNEL, '')`
(`app.feed.changes`); PostgreSQL delivers it at commit, and never for a rolled-back one. Each
process keeps one LISTEN connection (psycopg's async connection, on the event loop that first
waits) and wakes every waiter of the process at once; a waiter then reads the feed itself. The
notification carries nothing a waiter relies on: it is only a hint to look now. Waiters also
look every few seconds without one, so a lost connection, a pooler in between (where LISTEN
hears nothing) or a replica that has not replayed the commit yet delays an answer, never loses
it. On SQLite there is nothing to listen to: waiters look every `FEED_POLL_INTERVAL` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import psycopg
import sqlalchemy as sa

from app.core.config import get_settings
from app.feed.changes import NOTIFY_CHANNEL as CHANNEL

# with a working LISTEN, waiters still look this often (a safety net, not the mechanism)
LISTENING_RECHECK = 5.0
# after a notification a replica may not have replayed the commit yet: look again this soon
AFTER_NOTIFY_RECHECK = 0.05
AFTER_NOTIFY_WINDOW = 2.0

log = logging.getLogger("conflict_events.feed")
T = TypeVar("T")


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://…`) as the libpq URL psycopg connects to."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeSignal:
    """One process's wake-up for feed waiters; `wait` returns when a commit was announced or
    `timeout` seconds passed, whichever is first."""

    def __init__(self, listen_url: str | None) -> None:
        self.listen_url = listen_url
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[None] | None = None
        self.woken = asyncio.Event()
        self.listening = False
        self.last_notified = 0.0

    def recheck_interval(self) -> float:
        if time.monotonic() - self.last_notified < AFTER_NOTIFY_WINDOW:
            return AFTER_NOTIFY_RECHECK
        return LISTENING_RECHECK if self.listening else get_settings().feed_poll_interval

    def arm(self) -> asyncio.Event:
        """The event the next announcement sets: take it *before* looking at the feed, so a
        commit between the look and the wait still wakes the waiter."""
        self._ensure_listener()
        return self.woken

    def _ensure_listener(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            # A new loop (each test client has one) gets an event of its own, on SQLite too:
            # an asyncio.Event belongs to the first loop that waits on it.
            self.loop, self.woken, self.listening, self.task = loop, asyncio.Event(), False, None
        if self.listen_url is not None and (self.task is None or self.task.done()):
            self.listening = False
            self.task = loop.create_task(self._listen(self.listen_url))

    def _wake(self) -> None:
        self.last_notified = time.monotonic()
        woken, self.woken = self.woken, asyncio.Event()
        woken.set()

    async def _listen(self, url: str) -> None:
        """LISTEN for ever, reconnecting after a second when the connection is lost."""
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True)
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    self._wake()  # anything committed while not listening is looked for now
                    async for _ in connection.notifies():
                        self._wake()
            except psycopg.Error as exc:
                if self.listening:
                    log.warning("the change feed's LISTEN connection failed: %s", exc)
            self.listening = False
            await asyncio.sleep(1.0)


_signal: ChangeSignal | None = None


def change_signal() -> ChangeSignal:
    global _signal
    listen_url = get_settings().listen_url
    if _signal is None or _signal.listen_url != listen_url:
        _signal = ChangeSignal(listen_url)
    return _signal


async def wait_for(fetch: Callable[[], Awaitable[Sequence[T]]], seconds: float) -> Sequence[T]:
    """`fetch()` now, and again whenever a change may have committed, until it finds something
    or `seconds` pass; the last (possibly empty) answer."""
    signal = change_signal()
    deadline = time.monotonic() + seconds
    while True:
        woken = signal.arm()
        rows = await fetch()
        remaining = deadline - time.monotonic()
        if rows or remaining <= 0:
            return rows
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), min(remaining, signal.recheck_interval()))

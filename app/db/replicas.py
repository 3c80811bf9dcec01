"""Read replicas: which database serves a read, and how far behind the primary each replica is.

Replicas are PostgreSQL streaming replicas of the primary (`DATABASE_READ_URL`). Each process
checks them every `REPLICA_CHECK_INTERVAL` seconds in a thread of its own: the primary's WAL
position (`pg_current_wal_lsn()`) is sampled, and a replica's lag is the age of the oldest
sample its replay (`pg_last_wal_replay_lsn()`) has not reached yet. So "lag 3 s" means "is missing WAL the
primary had written 3 seconds ago", measured on WAL positions alone (to within one interval),
not on the time of the last replayed commit, which says nothing when the primary is idle.

A read goes to a replica that answered the last check and lags at most `MAX_REPLICA_LAG`
seconds; with none, to the primary. A read carrying a consistency token (the WAL position of a
write's commit) goes to such a replica only once it has replayed that far (asked live when the
last check is not enough), else to the primary. A replica whose connection fails during a read
is marked down at once, so the next reads go elsewhere without waiting for the next check.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.core.config import get_settings
from app.db.session import get_engine, make_engine

log = logging.getLogger("conflict_events.replicas")

LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")
CONNECT_TIMEOUT = 2  # seconds: a check or a read must not hang on a replica that is away


def parse_lsn(text: str) -> int | None:
    """A WAL position as PostgreSQL writes it (`16/B374D848`) as one number; None if malformed."""
    if not LSN.match(text):
        return None
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def database_name(url: str) -> str:
    """host:port/database: names a database in /readyz and /metrics without its credentials."""
    parsed = sa.make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass
class Replica:
    name: str
    engine: Engine
    up: bool = False
    replay_lsn: int | None = None
    lag: float | None = None  # seconds; None until measured
    error: str | None = None
    checked_at: float | None = None

    def state(self, max_lag: float) -> str:
        if not self.up:
            return "down" if self.checked_at is not None else "unknown"
        return "lagging" if self.lag is None or self.lag > max_lag else "up"


@dataclass
class ReadRouter:
    """The replicas of one process, their last check, and the choice of a database per read."""

    replicas: list[Replica]
    max_lag: float
    interval: float
    # (monotonic time, primary WAL position) samples, oldest first
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    started: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def primary(self) -> Engine:
        return get_engine()

    def start(self) -> None:
        with self.lock:
            if self.started or not self.replicas:
                return
            self.started = True
        threading.Thread(target=self._run, name="replica-checks", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        for replica in self.replicas:
            replica.engine.dispose()

    def _run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            self.check()
            self.stopped.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def check(self) -> None:
        """Sample the primary's WAL position, then each replica's replay position and lag."""
        now = time.monotonic()
        try:
            with self.primary.connect() as connection:
                text = connection.scalar(sa.text("SELECT pg_current_wal_lsn()::text"))
            position = parse_lsn(str(text))
            if position is not None:
                self.samples.append((now, position))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("replica checks: the primary is unreachable (%s)", type(exc).__name__)
        horizon = now - (self.max_lag + 5 * self.interval)
        while len(self.samples) > 1 and self.samples[1][0] < horizon:
            self.samples.popleft()
        for replica in self.replicas:
            self._check_replica(replica, time.monotonic())

    def _check_replica(self, replica: Replica, now: float) -> None:
        try:
            with replica.engine.connect() as connection:
                text = connection.scalar(sa.text("SELECT pg_last_wal_replay_lsn()::text"))
        except sa.exc.SQLAlchemyError as exc:
            if replica.up:
                log.warning("replica %s is down (%s)", replica.name, type(exc).__name__)
            replica.up, replica.error, replica.checked_at = False, type(exc).__name__, now
            return
        # NULL: not in recovery (promoted, or not a replica at all): as current as a primary
        replay = parse_lsn(str(text)) if text is not None else None
        replica.replay_lsn = replay
        replica.lag = 0.0 if text is None else self._lag(replay, now)
        if not replica.up:
            log.info("replica %s is up", replica.name)
        replica.up, replica.error, replica.checked_at = True, None, now

    def _lag(self, replay: int | None, now: float) -> float | None:
        """Seconds since the primary was first seen at a WAL position the replica has not
        replayed (0 when it has replayed every sample): a lower bound, exact to one interval."""
        if replay is None or not self.samples:
            return None
        behind = [at for at, position in self.samples if position > replay]
        return max(0.0, now - behind[0]) if behind else 0.0

    def engine_for_read(self, min_lsn: int | None = None) -> Engine:
        """A replica that is up, within the lag, and (with a token) replayed far enough; else
        the primary. May ask a replica live, so call it where blocking is allowed."""
        self.start()
        usable = [r for r in self.replicas if r.state(self.max_lag) == "up"]
        if min_lsn is not None:
            fresh = [r for r in usable if r.replay_lsn is None or r.replay_lsn >= min_lsn]
            if not fresh and usable:
                candidate = random.choice(usable)
                if self._replayed(candidate, min_lsn):
                    fresh = [candidate]
            usable = fresh
        return random.choice(usable).engine if usable else self.primary

    def needs_live_check(self, min_lsn: int) -> bool:
        usable = [r for r in self.replicas if r.state(self.max_lag) == "up"]
        return bool(usable) and not any(r.replay_lsn is None or r.replay_lsn >= min_lsn for r in usable)

    def _replayed(self, replica: Replica, min_lsn: int) -> bool:
        try:
            with replica.engine.connect() as connection:
                text = connection.scalar(sa.text("SELECT pg_last_wal_replay_lsn()::text"))
        except sa.exc.SQLAlchemyError:
            replica.up = False
            return False
        if text is None:
            return True
        replay = parse_lsn(str(text))
        if replay is not None:
            replica.replay_lsn = max(replica.replay_lsn or 0, replay)
        return replay is not None and replay >= min_lsn

    def report(self) -> list[dict[str, object]]:
        """Each replica's state and lag, for /readyz."""
        return [
            {
                "name": r.name,
                "state": r.state(self.max_lag),
                "lag_seconds": None if r.lag is None else round(r.lag, 3),
                **({"error": r.error} if r.error else {}),
            }
            for r in self.replicas
        ]


def _mark_down_on_disconnect(engine: Engine, replica: Replica) -> None:
    @event.listens_for(engine, "handle_error")
    def on_error(context: sa.engine.ExceptionContext) -> None:
        if context.is_disconnect or isinstance(context.original_exception, sa.exc.OperationalError):
            replica.up = False


_router: tuple[object, ReadRouter] | None = None


def get_router() -> ReadRouter:
    """This process's router over DATABASE_READ_URL (no replicas: every read on the primary);
    made again when the settings are read again (tests change them)."""
    global _router
    settings = get_settings()
    if _router is not None and _router[0] is settings:
        return _router[1]
    if _router is not None:
        _router[1].stop()
    replicas = []
    for url in settings.read_url_list:
        replica = Replica(
            name=database_name(url),
            engine=make_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT}),
        )
        _mark_down_on_disconnect(replica.engine, replica)
        replicas.append(replica)
    router = ReadRouter(
        replicas=replicas, max_lag=settings.max_replica_lag, interval=settings.replica_check_interval
    )
    _router = (settings, router)
    return router


def reset_router() -> None:
    """Forget this process's router, stopping its checks."""
    global _router
    if _router is not None:
        _router[1].stop()
    _router = None


def current_wal_position() -> str:
    """The primary's WAL position now: taken after a commit, at or past its commit record."""
    with get_engine().connect() as connection:
        return str(connection.scalar(sa.text("SELECT pg_current_wal_lsn()::text")))

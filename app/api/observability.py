"""What operators see: Prometheus metrics at /metrics and one log line per request.

Metrics use the standard client library (`prometheus_client`): request counts and latency by
route template (`/v1/events/{event_id}`, never the raw path, so the series stay few), method and
status; the database pool; the head of the change feed. With several worker processes, set
`PROMETHEUS_MULTIPROC_DIR` to an empty folder and every worker's samples are summed.

The request log line carries the request id, method, route, status, duration and the name of
the key that was checked (never the key); `LOG_FORMAT=json` writes it as one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.replicas import get_router
from app.db.session import get_engine

log = logging.getLogger("conflict_events.access")

REQUESTS = Counter(
    "conflict_events_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "conflict_events_request_duration_seconds",
    "Time from receiving a request to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UNMATCHED = "unmatched"  # requests no route took (404s of unknown paths): one series for all


class DatabaseCollector(Collector):
    """Read at scrape time: the pool of this process and the change feed's last seq."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = get_engine()
        pool = engine.pool
        in_use = GaugeMetricFamily(
            "conflict_events_db_pool_checked_out", "Database connections in use by this process."
        )
        in_use.add_metric([], float(getattr(pool, "checkedout", lambda: 0)()))
        yield in_use
        size = GaugeMetricFamily("conflict_events_db_pool_size", "Connections the pool keeps open.")
        size.add_metric([], float(getattr(pool, "size", lambda: 0)()))
        yield size
        yield from replica_metrics()
        head = GaugeMetricFamily(
            "conflict_events_change_feed_head", "The last seq of the change feed (0 when empty)."
        )
        try:
            with engine.connect() as connection:
                seq = connection.scalar(sa.text("SELECT max(seq) FROM change")) or 0
        except sa.exc.SQLAlchemyError:
            return  # the database is away: /readyz says so; the other samples still count
        head.add_metric([], float(seq))
        yield head


def replica_metrics() -> Iterator[GaugeMetricFamily]:
    """Each read replica's state and lag as this process last checked them (none without
    DATABASE_READ_URL)."""
    router = get_router()
    if not router.replicas:
        return
    router.start()
    up = GaugeMetricFamily(
        "conflict_events_db_replica_up",
        "1 when the read replica serves reads (answered its last check, within MAX_REPLICA_LAG).",
        labels=["database"],
    )
    lag = GaugeMetricFamily(
        "conflict_events_db_replica_lag_seconds",
        "How far the read replica's replay is behind the primary, in seconds (absent when unknown).",
        labels=["database"],
    )
    for replica in router.replicas:
        up.add_metric([replica.name], 1.0 if replica.state(router.max_lag) == "up" else 0.0)
        if replica.lag is not None and replica.up:
            lag.add_metric([replica.name], replica.lag)
    yield up
    yield lag


REGISTRY.register(DatabaseCollector())

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(DatabaseCollector())
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class ObservabilityMiddleware:
    """Counts, times and logs every HTTP request once, after its response has been sent."""

    def __init__(self, app: ASGIApp, *, json_logs: bool) -> None:
        self.app = app
        self.json_logs = json_logs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                state = scope.get("state", {})
                self._log(state.get("request_id"), method, template, status, elapsed, state.get("key_name"))

    def _log(
        self,
        request_id: str | None,
        method: str,
        route: str,
        status: int,
        elapsed: float,
        key_name: str | None,
    ) -> None:
        milliseconds = round(elapsed * 1000, 2)
        if self.json_logs:
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": milliseconds,
                "key": key_name,
            }
            log.info(json.dumps(line, ensure_ascii=False))
        else:
            key = f" key={key_name}" if key_name else ""
            log.info("%s %s %s %.2fms id=%s%s", method, route, status, milliseconds, request_id, key)


def configure_logging(json_logs: bool) -> None:
    """The service's own log lines on stderr, once, as plain text or one JSON object per line."""
    logger = logging.getLogger("conflict_events")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(message)s" if json_logs else "%(levelname)s %(name)s %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

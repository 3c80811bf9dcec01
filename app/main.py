"""create_app(): routers, error handlers and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware

from app.actors import routes as actors
from app.api import health, observability
from app.api.compression import CompressionMiddleware
from app.api.docs import install_docs
from app.api.kept import KeptAnswerMiddleware
from app.api.middleware import (
    BodyLimitMiddleware,
    BodyTimeoutMiddleware,
    ConsistencyTokenMiddleware,
    HeadMiddleware,
    HostMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from app.api.observability import ObservabilityMiddleware
from app.api.ratelimit import RateLimitMiddleware
from app.core.config import get_settings
from app.core.errors import install_error_handlers
from app.datasets import routes as datasets
from app.events import dashboards
from app.events import routes as events
from app.events.read import STORED_EVENTS
from app.explorer.routes import install_explorer
from app.feed import routes as feed
from app.history import routes as history
from app.kit.openapi import install_openapi, operation_id
from app.kit.stored import Refresher
from app.ratelimit.stores import make_store
from app.sources import routes as sources
from app.statements import routes as statements

DESCRIPTION = """
Structured, sourced data about armed conflict: **actors**, **sources** and their **documents**,
**events** and **statements**. Every fact keeps its provenance; filters work on source
reliability (A–F) and information credibility (1–6), the NATO Admiralty code; contradicting
claims stay visible.

Errors are `application/problem+json` (RFC 9457). Lists use keyset pagination: follow
`next_cursor` (or the `Link: rel="next"` header) until it is null.
"""


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """While the process serves: the refresher of the stored event forms (app.kit.stored)."""
    settings = get_settings()
    refresher = None
    if settings.stored_forms_interval > 0:
        refresher = Refresher(
            STORED_EVENTS, settings.database_url, settings.stored_forms_interval, settings.stored_forms_delay
        )
        refresher.start()
    try:
        yield
    finally:
        if refresher is not None:
            await anyio.to_thread.run_sync(refresher.stop)


def create_app() -> FastAPI:
    settings = get_settings()
    # Swagger UI's and ReDoc's files from the package's own copies: /docs works with no network;
    # the pages themselves, with their Content-Security-Policy, come from app.api.docs
    app = FastAPIOffline(
        docs_url=None,
        redoc_url=None,
        title="Conflict Events API",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "events", "description": "Things that happened or are scheduled."},
            {"name": "statements", "description": "Who said what, with claimed figures."},
            {"name": "actors", "description": "States, bodies, forces, groups and people."},
            {"name": "sources and documents", "description": "Provenance."},
            {"name": "dashboards", "description": "Timelines, facets, claims and exports."},
            {"name": "bulk and sync", "description": "Dataset loading and the change feed."},
            {"name": "operations", "description": "Liveness and readiness."},
        ],
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    install_openapi(app)
    install_docs(app)
    install_explorer(app)
    install_error_handlers(app)
    # dashboards and exports first, so that `/v1/events/timeline` is not read as an event id
    for router in (
        health.router,
        observability.router,
        dashboards.router,
        statements.exports,
        events.router,
        statements.router,
        actors.router,
        sources.router,
        datasets.router,
        feed.router,
        history.router,
    ):
        app.include_router(router)
    # innermost: a kept answer skips routing, but not the metrics, limits, HEAD or compression
    app.add_middleware(KeptAnswerMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyTimeoutMiddleware, timeout=settings.body_timeout)
    app.add_middleware(HeadMiddleware)
    app.add_middleware(CompressionMiddleware, **settings.compression_options)
    if settings.rate_limited:
        # inside CORS, so that a browser may read a 429 and its Retry-After; inside the request
        # id and the metrics, so that a 429 carries an id and is counted and logged
        app.add_middleware(
            RateLimitMiddleware,
            store=make_store(
                settings.rate_limit_store_kind,
                database_url=settings.database_url,
                redis_url=settings.redis_url,
            ),
            requests_per_window=settings.rate_limit_per_minute,
            auth_failures_per_window=settings.auth_failures_per_minute,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "X-Request-ID",
            "X-Consistency-Token",
        ],
        expose_headers=[
            "ETag",
            "Link",
            "Location",
            "X-Request-ID",
            "Content-Disposition",
            "WWW-Authenticate",
            "Retry-After",
            "RateLimit",
            "RateLimit-Policy",
            "X-Consistency-Token",
        ],
        max_age=600,
    )
    if settings.read_url_list:
        app.add_middleware(ConsistencyTokenMiddleware)
    app.add_middleware(HostMiddleware, allowed_hosts=settings.allowed_host_list)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    # outermost: counts and logs every answer, the ones the middleware inside gives too
    app.add_middleware(ObservabilityMiddleware, json_logs=settings.log_format == "json")
    observability.configure_logging(settings.log_format == "json")
    return app


app = create_app()

"""Kept answers served before routing: a repeated read costs the data version and the bytes.

A list page, a single read or an aggregate answered once at the current data version is kept
(`app.kit.answers`). Asked again, the route would only look it up, yet FastAPI first matches
the path against every route, solves the dependencies (the key check, a session, `as_of`),
and the session opens a transaction to read the version: on SQLite three times the cost of
the lookup itself. This middleware, the innermost, reads the version on a connection of its
own and sends the kept bytes with the headers the route would send (ETag, Cache-Control, the
Link of a list page, a 304 for a matching If-None-Match). Everything outside it — metrics and
the request log (under the route that computed the answer), request ids, rate limits, CORS,
HEAD and compression — applies as to any answer.

It steps aside, and the route answers, whenever the route could answer differently from the
kept bytes: reads need a key (the route checks it), read replicas are configured or the request
carries a consistency token (the route picks the database per request, and checks the token),
or nothing is kept for the question at this version. Only
questions already kept are looked up, so other requests never pay for the version read. When
the route computes the answer after all, it is handed the version read here.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.config import get_settings
from app.db.replicas import get_router
from app.kit.answers import DATA_VERSION, answer_cache, database_of, engine_data_version
from app.kit.deps import CONSISTENCY_HEADER
from app.kit.responses import kept_response, question_of

CONSISTENCY_TOKEN = CONSISTENCY_HEADER.lower().encode()


def _has_consistency_token(scope: Scope) -> bool:
    """The route checks a token's form even without replicas (400 when malformed)."""
    return any(name == CONSISTENCY_TOKEN for name, _ in scope["headers"])


class KeptAnswerMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = answer_cache()
        if scope["type"] != "http" or scope["method"] != "GET" or cache is None:
            await self.app(scope, receive, send)
            return
        router = get_router()
        if router.replicas or get_settings().reads_require_key or _has_consistency_token(scope):
            await self.app(scope, receive, send)
            return
        engine = router.primary
        answer = cache.get(question_of(database_of(engine), scope))
        if answer is None:
            await self.app(scope, receive, send)
            return
        try:
            if engine.dialect.name == "sqlite":  # an in-process call: no thread hop
                version = engine_data_version(engine)
            else:
                version = await run_in_threadpool(engine_data_version, engine)
        except Exception:  # the route meets the same failure and answers it as it should (503)
            await self.app(scope, receive, send)
            return
        if answer.version != version:
            scope.setdefault("state", {})[DATA_VERSION] = version
            await self.app(scope, receive, send)
            return
        if answer.route is not None:
            scope["route"] = answer.route
        await kept_response(Request(scope, receive), answer)(scope, receive, send)

"""Dependencies: database sessions and access checks, as `Annotated` aliases."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.keys import require_read, require_write
from app.core.config import get_settings
from app.core.errors import BadRequest
from app.db.replicas import current_wal_position, get_router, parse_lsn
from app.db.session import session_factory, transaction
from app.history.asof import check_as_of, parse_as_of, use_as_of
from app.kit.pagination import cursor_as_of

CONSISTENCY_HEADER = "X-Consistency-Token"


def _min_lsn(request: Request) -> int | None:
    token = request.headers.get(CONSISTENCY_HEADER)
    if token is None:
        return None
    position = parse_lsn(token.strip())
    if position is None:
        raise BadRequest(
            f"{CONSISTENCY_HEADER} must be a WAL position such as 0/16B3748, as a write's answer gives it"
        )
    return position


async def read_engine(request: Request) -> Engine:
    """The database a read goes to: a replica that is current enough, else the primary (see
    app.db.replicas). Blocks only when a token needs a replica asked live."""
    router = get_router()
    min_lsn = _min_lsn(request)
    if not router.replicas:
        return router.primary
    if min_lsn is not None and router.needs_live_check(min_lsn):
        return await run_in_threadpool(router.engine_for_read, min_lsn)
    return router.engine_for_read(min_lsn)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A read session, on the database `read_engine` chose; reads never write, so there is
    nothing to commit.

    Async so that FastAPI does not hop to a worker thread to open it and again to close it
    (only the route itself runs in one): opening does no I/O, and closing returns the
    connection, which on SQLite is an in-process call and elsewhere goes to a worker thread."""
    session = session_factory(await read_engine(request))()
    try:
        yield session
    finally:
        if session.get_bind().dialect.name == "sqlite" or not session.in_transaction():
            session.close()  # nothing to hand back (see `quick_read`): no I/O, no thread
        else:
            await run_in_threadpool(session.close)


AsOfParam = Annotated[
    str | None,
    Query(
        description="Answer from the state at this instant (RFC 3339 with its offset, e.g. "
        "`2026-12-02T14:00:00Z`): filters apply to the rows as they were, rows created later are "
        "absent and rows deleted later present. Not in the future, not before history began "
        "(both 422). Omitted: the current state (a cursor made with `as_of` keeps its instant).",
        json_schema_extra={"format": "date-time"},
        examples=["2026-12-02T14:00:00Z"],
    ),
]


async def get_as_of_session(request: Request, as_of: AsOfParam = None) -> AsyncIterator[Session]:
    """A read session that answers as of `as_of`, or as of the instant the `cursor` was made
    for, or (neither) from the current state like `get_session`; on the database `read_engine`
    chose, as `get_session` is (history and its mirrors replicate like every table)."""
    instant = parse_as_of(as_of) if as_of is not None else cursor_as_of(request.query_params.get("cursor"))
    session = session_factory(await read_engine(request))()
    sqlite = session.get_bind().dialect.name == "sqlite"
    try:
        if instant is not None:
            use_as_of(session, instant)
            if sqlite:
                check_as_of(session, instant)
            else:
                await run_in_threadpool(check_as_of, session, instant)
        yield session
    finally:
        if sqlite or not session.in_transaction():  # nothing to hand back: no I/O, no thread
            session.close()
        else:
            await run_in_threadpool(session.close)


def get_write_session(request: Request) -> Iterator[Session]:
    """One request, one transaction: commit when the handler returns, roll back if it raises.
    The changes it makes are recorded with the name of the key that `WriteAccess` checked (a
    route's own dependencies are solved before its parameters)."""
    with transaction(author=getattr(request.state, "key_name", None)) as session:
        yield session
    if get_settings().read_url_list:
        # after the commit: the primary's WAL position is then at or past the commit record
        request.state.consistency_token = current_wal_position()


# FastAPI's bearer scheme documents the key (securitySchemes, Swagger UI's Authorize button);
# the key itself is read by `auth.keys`, whose 401 and 403 bodies the contract fixes.
bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


async def reader(request: Request, _: Credentials) -> None:
    """Async for the same reason; a key is only looked up (in a worker thread) when reads need one."""
    if get_settings().reads_require_key:
        await run_in_threadpool(require_read, request)


def writer(request: Request, _: Credentials) -> None:
    require_write(request)


P = ParamSpec("P")


def quick_read(endpoint: Callable[P, Response]) -> Callable[P, Awaitable[Response]]:
    """A read whose work is bounded (one page or one row): on SQLite it runs on the event loop,
    elsewhere in a worker thread as FastAPI runs any sync route.

    SQLite is an in-process library, so the thread hop buys such a read nothing and costs
    more than the read itself: on this project's machine a worker-thread round trip added
    0.2-1 ms of CPU and latency to a request whose query takes 0.3 ms. Aggregates, exports and
    writes, whose time grows with the data, stay in threads so they never hold up the loop.
    `functools.wraps` keeps the signature, so the route's parameters and OpenAPI are unchanged."""

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> Response:
        session = kwargs["session"]
        assert isinstance(session, Session)
        if session.get_bind().dialect.name == "sqlite":
            return endpoint(*args, **kwargs)
        return await run_in_threadpool(_answer_and_close, session, endpoint, *args, **kwargs)

    return run


def _answer_and_close(
    session: Session, endpoint: Callable[P, Response], /, *args: P.args, **kwargs: P.kwargs
) -> Response:
    """The read, then its session's connection handed back in the same worker thread: the
    dependency that opened the session then closes it on the loop with no second hop."""
    try:
        return endpoint(*args, **kwargs)
    finally:
        session.close()


R = TypeVar("R")


async def run_read(session: Session, function: Callable[..., R], *args: object) -> R:
    """`function(*args)` as `quick_read` runs a route: on the event loop on SQLite, in a worker
    thread elsewhere."""
    if session.get_bind().dialect.name == "sqlite":
        return function(*args)
    return await run_in_threadpool(function, *args)


SessionDep = Annotated[Session, Depends(get_session)]
# the reads that take `as_of`: lists, single reads, exports, timeline, facets and claims
AsOfSessionDep = Annotated[Session, Depends(get_as_of_session)]
# scope="function": commit before the response is sent, so a failed commit is never answered 2xx.
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
ReadAccess = Depends(reader)
WriteAccess = Depends(writer)

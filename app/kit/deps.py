"""Dependencies: database sessions and access checks, as `Annotated` aliases."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, ParamSpec

from fastapi import Depends, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.keys import require_read, require_write
from app.core.config import get_settings
from app.db.session import session_factory, transaction


async def get_session() -> AsyncIterator[Session]:
    """A read session; reads never write, so there is nothing to commit.

    Async so that FastAPI does not hop to a worker thread to open it and again to close it
    (only the route itself runs in one): opening does no I/O, and closing returns the
    connection, which on SQLite is an in-process call and elsewhere goes to a worker thread."""
    session = session_factory()()
    try:
        yield session
    finally:
        if session.get_bind().dialect.name == "sqlite":
            session.close()
        else:
            await run_in_threadpool(session.close)


def get_write_session(request: Request) -> Iterator[Session]:
    """One request, one transaction: commit when the handler returns, roll back if it raises.
    The changes it makes are recorded with the name of the key that `WriteAccess` checked (a
    route's own dependencies are solved before its parameters)."""
    with transaction(author=getattr(request.state, "key_name", None)) as session:
        yield session


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
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


SessionDep = Annotated[Session, Depends(get_session)]
# scope="function": commit before the response is sent, so a failed commit is never answered 2xx.
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
ReadAccess = Depends(reader)
WriteAccess = Depends(writer)

"""Dependencies: database sessions and access checks, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.db.session import session_factory
from app.services.auth import require_read, require_write


def get_session() -> Iterator[Session]:
    """A read session; reads never write, so there is nothing to commit."""
    with session_factory()() as session:
        yield session


def get_write_session() -> Iterator[Session]:
    """One request, one transaction: commit when the handler returns, roll back if it raises."""
    with session_factory(write=True)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def reader(request: Request) -> None:
    require_read(request)


def writer(request: Request) -> None:
    require_write(request)


SessionDep = Annotated[Session, Depends(get_session)]
# scope="function": commit before the response is sent, so a failed commit is never answered 2xx.
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
ReadAccess = Depends(reader)
WriteAccess = Depends(writer)

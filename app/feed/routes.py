"""/v1/changes: the change feed, polled, long-polled (`wait=`) or streamed (Server-Sent Events)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.auth.keys import sent_key_scope
from app.core.config import get_settings
from app.core.enums import KeyScope
from app.core.errors import BadRequest
from app.db.session import session_factory
from app.feed.changes import changes_after
from app.feed.model import Change
from app.feed.notify import wait_for
from app.feed.schemas import ChangesPage
from app.kit.deps import ReadAccess, SessionDep, read_engine, run_read
from app.kit.items import READ_ERRORS
from app.kit.responses import is_head, json_response
from app.kit.schemas import rfc3339

router = APIRouter(prefix="/v1", tags=["bulk and sync"])

SEQ_MAX = 2**62
STREAM_BATCH = 1000
# a comment line this often keeps proxies and load balancers from closing an idle stream
KEEPALIVE_SECONDS = 15.0
# how long a client waits before reconnecting after the stream ends (the SSE `retry:` field)
RECONNECT_MS = 1000

After = Annotated[int, Query(ge=0, le=SEQ_MAX, description="Last seq seen (0 at first).")]


def change_item(row: Change, show_key: bool) -> dict[str, object]:
    item: dict[str, object] = {
        "seq": row.seq,
        "resource": row.resource,
        "id": row.row_id,
        "ref": row.ref,
        "op": row.op,
        "changed_at": rfc3339(row.changed_at),
    }
    if show_key:
        item["key"] = row.key_name
    return item


def _changes_then_close(session: Session, after: int, limit: int) -> list[Change]:
    """One look at the feed; the connection goes back to the pool at once, so a waiting
    request holds none."""
    try:
        return changes_after(session, after, limit)
    finally:
        session.close()


@router.get(
    "/changes",
    name="list_changes",
    response_model=ChangesPage,
    responses=READ_ERRORS,
    dependencies=[ReadAccess],
)
async def changes(
    request: Request,
    session: SessionDep,
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Changes per answer, 1–1000.")] = 100,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=60,
            description="Seconds to wait, when nothing is new after `after`, for a change to "
            "commit (long-poll, at most 60): the answer comes as soon as one does, or empty "
            "when the time is up.",
        ),
    ] = 0,
) -> Response:
    """Committed writes in commit order; poll with `after=<next_after>`. With a `write` key each
    change also names the key (or command) that made it, as `key`."""
    show_key = sent_key_scope(request) == KeyScope.write

    async def look() -> Sequence[Change]:
        return await run_read(session, _changes_then_close, session, after, limit)

    seconds = min(wait, get_settings().feed_wait_max)
    rows = await wait_for(look, seconds) if seconds > 0 else await look()
    items = [change_item(row, show_key) for row in rows]
    next_after = rows[-1].seq if rows else after
    # the answer differs with the key sent; no-cache already makes caches ask every time
    headers = {"Vary": "Authorization"}
    return json_response(request, {"items": items, "next_after": next_after}, headers=headers, cache=False)


def _resume_point(after: int, last_event_id: str | None) -> int:
    if last_event_id is None:
        return after
    text = last_event_id.strip()
    if not text.isdigit() or int(text) > SEQ_MAX:
        raise BadRequest("Last-Event-ID must be a seq of the change feed (a whole number ≥ 0)")
    return int(text)


def sse_event(seq: int, item: dict[str, object]) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (seq, orjson.dumps(item))


STREAM_DOC = (
    "`text/event-stream`: one event per change, its `id` the change's `seq` and its `data` the "
    "change as `/v1/changes` shows it; a comment line every 15 s while nothing happens. The "
    "stream ends after a while (the client reconnects); a reconnecting client sends "
    "`Last-Event-ID` and the stream resumes after it, so nothing is lost or repeated."
)

# One event of the stream, its fields as the SSE format names them (the schema describes each
# event, not the whole body, as OpenAPI 3.2's `itemSchema` does and schemathesis reads it).
SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The change's `seq`."},
        "event": {"type": "string", "description": "Always `message`."},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The change as one item of `/v1/changes` shows it, as JSON.",
        },
        "retry": {"type": "integer", "description": "Milliseconds to wait before reconnecting."},
    },
}


@router.get(
    "/changes/stream",
    name="stream_changes",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}, "description": STREAM_DOC},
        **READ_ERRORS,
    },
    dependencies=[ReadAccess],
)
async def stream_changes(
    request: Request,
    after: After = 0,
    last_event_id: Annotated[
        str | None,
        Header(
            description="The `id` of the last event received: the stream resumes after it (over `after`)."
        ),
    ] = None,
) -> StreamingResponse:
    """The change feed as Server-Sent Events, from `after` (or `Last-Event-ID`) on, as changes
    commit."""
    start = _resume_point(after, last_event_id)
    show_key = sent_key_scope(request) == KeyScope.write
    headers = {"Cache-Control": "no-store", "Vary": "Authorization", "X-Accel-Buffering": "no"}
    if is_head(request):
        return StreamingResponse(iter(()), media_type="text/event-stream", headers=headers)
    deadline = time.monotonic() + get_settings().feed_stream_max

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: %d\n\n" % RECONNECT_MS
        last = start
        while (remaining := deadline - time.monotonic()) > 0:
            # each look may go to another database (replica or primary): every one of them
            # holds a prefix of the feed in seq order, so `seq > last` never skips a change
            session = session_factory(await read_engine(request))()

            async def look(session: Session = session, last: int = last) -> Sequence[Change]:
                return await run_read(session, _changes_then_close, session, last, STREAM_BATCH)

            rows = await wait_for(look, min(remaining, KEEPALIVE_SECONDS))
            if not rows:
                yield b": keep-alive\n\n"
                continue
            yield b"".join(sse_event(row.seq or 0, change_item(row, show_key)) for row in rows)
            last = rows[-1].seq or last

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

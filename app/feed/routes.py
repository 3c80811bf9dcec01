"""/v1/changes: the change feed."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.auth.keys import sent_key_scope
from app.core.enums import KeyScope
from app.feed.changes import changes_after
from app.feed.schemas import ChangesPage
from app.kit.deps import ReadAccess, SessionDep, quick_read
from app.kit.items import READ_ERRORS
from app.kit.responses import json_response
from app.kit.schemas import rfc3339

router = APIRouter(prefix="/v1", tags=["bulk and sync"])


@router.get(
    "/changes",
    name="list_changes",
    response_model=ChangesPage,
    responses=READ_ERRORS,
    dependencies=[ReadAccess],
)
@quick_read
def changes(
    request: Request,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Last seq seen (0 at first).")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Changes per answer, 1–1000.")] = 100,
) -> Response:
    """Committed writes in commit order; poll with `after=<next_after>`. With a `write` key each
    change also names the key (or command) that made it, as `key`."""
    show_key = sent_key_scope(request) == KeyScope.write
    rows = changes_after(session, after, limit)
    items = []
    for row in rows:
        item = {
            "seq": row.seq,
            "resource": row.resource,
            "id": row.row_id,
            "ref": row.ref,
            "op": row.op,
            "changed_at": rfc3339(row.changed_at),
        }
        if show_key:
            item["key"] = row.key_name
        items.append(item)
    next_after = rows[-1].seq if rows else after
    # the answer differs with the key sent; no-cache already makes caches ask every time
    headers = {"Vary": "Authorization"}
    return json_response(request, {"items": items, "next_after": next_after}, headers=headers, cache=False)

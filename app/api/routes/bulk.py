"""/v1/load (a dataset file over HTTP) and /v1/changes (the change feed)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from app.api.deps import ReadAccess, SessionDep, WriteAccess, WriteSessionDep, quick_read
from app.api.responses import json_response
from app.api.routes.common import READ_ERRORS, WRITE_ERRORS
from app.schemas.common import rfc3339
from app.services.changes import changes_after
from app.services.loader import load_dataset

router = APIRouter(prefix="/v1", tags=["bulk and sync"])

COUNTS_EXAMPLE = {"created": 1, "updated": 0, "unchanged": 0}


@router.post(
    "/load",
    responses={
        **WRITE_ERRORS,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        r: COUNTS_EXAMPLE for r in ("sources", "documents", "actors", "events", "statements")
                    }
                }
            }
        },
    },
    dependencies=[WriteAccess],
)
def load(
    request: Request,
    session: WriteSessionDep,
    dataset: Annotated[
        dict[str, Any],
        Body(
            description="A dataset file: arrays `sources`, `documents`, `actors`, `events`, "
            "`statements`, references by ref.",
            examples=[{"sources": [{"ref": "src:example", "name": "Example", "kind": "other"}]}],
        ),
    ],
) -> Response:
    """Upsert a dataset file by ref in one transaction (exactly as `conflict-events load`)."""
    report = load_dataset(session, dataset)
    return json_response(request, report)


@router.get("/changes", responses=READ_ERRORS, dependencies=[ReadAccess])
@quick_read
def changes(
    request: Request,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Last seq seen (0 at first).")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Changes per answer, 1–1000.")] = 100,
) -> Response:
    """Committed writes in commit order; poll with `after=<next_after>`."""
    rows = changes_after(session, after, limit)
    items = [
        {
            "seq": row.seq,
            "resource": row.resource,
            "id": row.row_id,
            "ref": row.ref,
            "op": row.op,
            "changed_at": rfc3339(row.changed_at),
        }
        for row in rows
    ]
    next_after = rows[-1].seq if rows else after
    return json_response(request, {"items": items, "next_after": next_after}, cache=False)

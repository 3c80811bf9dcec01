"""/v1/load: a dataset file over HTTP."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from app.datasets.loader import load_dataset
from app.kit.deps import WriteAccess, WriteSessionDep
from app.kit.items import WRITE_ERRORS
from app.kit.responses import json_response

router = APIRouter(prefix="/v1", tags=["bulk and sync"])


COUNTS_EXAMPLE = {"created": 1, "updated": 0, "unchanged": 0}


@router.post(
    "/load",
    name="load_dataset",
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

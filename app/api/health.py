"""/healthz and /readyz."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.errors import problem
from app.db.migrations import schema_state
from app.db.session import get_engine

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> JSONResponse:
    """The process is up; touches no database."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
def readyz() -> JSONResponse:
    """The database is reachable and migrated to the latest revision."""
    problem_text = schema_state(get_engine())
    if problem_text:
        return problem(503, problem_text, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})

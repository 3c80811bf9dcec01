"""/healthz and /readyz."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.errors import problem
from app.db.migrations import schema_state
from app.db.replicas import get_router
from app.db.session import get_engine

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> JSONResponse:
    """The process is up; touches no database."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
def readyz() -> JSONResponse:
    """The database is reachable and migrated to the latest revision. With read replicas, each
    one's state (`up`, `lagging`, `down`, `unknown` before its first check) and lag in seconds:
    a replica that is not `up` only means its reads go to the primary, so it never makes the
    service unready."""
    problem_text = schema_state(get_engine())
    if problem_text:
        return problem(503, problem_text, headers={"Cache-Control": "no-store"})
    body: dict[str, object] = {"status": "ready"}
    router = get_router()
    if router.replicas:
        router.start()
        body["replicas"] = router.report()
    return JSONResponse(body, headers={"Cache-Control": "no-store"})

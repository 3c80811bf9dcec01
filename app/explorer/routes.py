"""/explore, its static files, and `/` redirecting to it.

The page is a static HTML file: everything it shows comes from the public `/v1` endpoints,
fetched by its own ES modules. The HTML is rendered once per `root_path` only to put that prefix
in front of its asset and API addresses (a service mounted under `/conflicts` serves
`/conflicts/explore`). It has no inline script and no inline style, so its policy allows
nothing but the service's own files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.kit.responses import service_url

STATIC = Path(__file__).parent / "static"
PAGE = "/explore"
ASSETS = "/explore/static"
ROOT_MARK = "{{root}}"
POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)


@lru_cache(maxsize=8)
def render_page(root: str) -> bytes:
    """The page with `root` (the server's root path, or '') before every address it names."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return html.replace(ROOT_MARK, root).encode()


def install_explorer(app: FastAPI) -> None:
    """Register `/explore`, its files under `/explore/static`, and the redirect from `/`."""

    @app.get(PAGE, include_in_schema=False)
    async def explore(request: Request) -> HTMLResponse:
        body = render_page(request.scope.get("root_path", "").rstrip("/"))
        return HTMLResponse(body, headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse(service_url(request.scope, PAGE, query), status_code=307)

    files = StaticFiles(directory=STATIC)

    # a route rather than a mount, so that metrics and the request log name its template and
    # a missing file is a problem+json 404 like any other
    @app.get(ASSETS + "/{path:path}", include_in_schema=False)
    async def asset(path: str, request: Request) -> Response:
        return await files.get_response(path, request.scope)

"""/docs (Swagger UI) and /redoc from the package's own copies, each with a strict
Content-Security-Policy.

The pages are FastAPI's own templates (fastapi-offline serves the scripts and styles they
load). Swagger UI's page starts the UI with an inline script, so the policy allows exactly that
script by its SHA-256 and no other inline script: the hash is taken from the page as rendered
here, from the server's configuration (title, the OpenAPI URL, `root_path`), never from
anything a request carries. Swagger UI and ReDoc set inline styles as they render, so styles
keep `'unsafe-inline'`; scripts do not.

The OAuth2 redirect page fastapi-offline would add is left out: the API's only scheme is a
bearer key, which Swagger UI's Authorize button takes without a redirect.

ReDoc's bundle always shows a "Redocly" logo loaded from cdn.redoc.ly: the one thing the pages
would fetch from the internet, and the one thing the policy would refuse. It is served here
with that address emptied, so the logo is not shown (ReDoc hides it when it fails to load) and
the page makes no request the policy refuses.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache, lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

STATIC = "/static-offline-docs"  # where fastapi-offline serves Swagger UI's and ReDoc's files
REDOC_JS = "/docs-static/redoc.standalone.js"
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
# An inline script: a <script> element without a src attribute, and its text.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
POLICY = (
    "default-src 'none'",
    "script-src 'self'{hashes}",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


def script_hashes(html: str) -> list[str]:
    """CSP source expressions for the inline scripts of a page (CSP3 §8.4: the hash of the
    element's text, exactly as written)."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in INLINE_SCRIPT.findall(html)
    ]


def page_policy(html: str) -> str:
    hashes = "".join(" " + source for source in script_hashes(html))
    return "; ".join(POLICY).format(hashes=hashes)


@cache
def redoc_bundle() -> bytes:
    bundle = (Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_LOGO, b"")


def install_docs(app: FastAPI) -> None:
    """Register /docs and /redoc (create the app with docs_url=None and redoc_url=None)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @lru_cache(maxsize=8)
    def render(page: str, root: str) -> tuple[bytes, str]:
        if page == "swagger":
            html = get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=app.title + " - Swagger UI",
                swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
                swagger_favicon_url=f"{root}{STATIC}/favicon.png",
                oauth2_redirect_url=None,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        else:
            html = get_redoc_html(
                openapi_url=root + openapi_url,
                title=app.title + " - ReDoc",
                redoc_js_url=root + REDOC_JS,
                redoc_favicon_url=f"{root}{STATIC}/favicon.png",
                with_google_fonts=False,
            )
        body = bytes(html.body)
        return body, page_policy(body.decode())

    def respond(page: str, request: Request) -> HTMLResponse:
        body, policy = render(page, request.scope.get("root_path", "").rstrip("/"))
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return respond("swagger", request)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return respond("redoc", request)

    @app.get(REDOC_JS, include_in_schema=False)
    async def redoc_script() -> Response:
        return Response(
            redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
        )

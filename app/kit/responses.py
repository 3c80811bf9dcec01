"""JSON answers with ETags, conditional GETs, Cache-Control, the pagination Link header and the
service's own URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.types import Scope

from app.core.config import get_settings
from app.feed.changes import latest_seq
from app.kit.answers import DATA_VERSION, Answer, answer_cache, data_version, database_of, shared_answers
from app.kit.read import Row, encode

JSON = "application/json"
HEAD_REQUEST = "head_request"  # set in the scope's state by HeadMiddleware


def dump(payload: object) -> bytes:
    """JSON of read forms (plain dicts of column values) or of a pydantic model."""
    if isinstance(payload, BaseModel):
        return payload.model_dump_json().encode()
    return encode(payload)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def version_etag(session: Session, request: Request) -> str:
    """An ETag for an answer too big to hash: the data version (the change feed's last seq)
    and the query. Any committed write moves the version on."""
    return etag_of(f"{latest_seq(session)}|{request.url.path}|{request.url.query}".encode())


def is_head(request: Request) -> bool:
    """HEAD reaches the routes as GET (see `HeadMiddleware`); an expensive body can be skipped."""
    return bool(request.scope.get("state", {}).get(HEAD_REQUEST))


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match uses (and `*`)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def cache_headers() -> dict[str, str]:
    settings = get_settings()
    visibility = "private" if settings.reads_require_key else "public"
    return {"Cache-Control": f"{visibility}, max-age={settings.cache_max_age}"}


def json_response(
    request: Request,
    payload: object,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cache: bool = True,
    media_type: str = JSON,
) -> Response:
    """The answer with its ETag; a GET whose ETag the client already holds gets a bare 304."""
    body = dump(payload)
    return body_response(
        request,
        body,
        etag_of(body),
        status_code=status_code,
        headers=headers,
        cache=cache,
        media_type=media_type,
    )


def question_of(database: str, scope: Scope) -> tuple[str, str, bytes]:
    """What a kept answer is kept under: the database, the path and the query as sent."""
    return (database, scope["path"], scope["query_string"])


def kept_answer(
    request: Request, session: Session, make: Callable[[], Answer], *, shared: bool = False
) -> Answer:
    """The answer `make` builds, built once per question (path and query) and data version in
    this process (see `app.kit.answers`); every time when the cache is off. `shared`: an
    expensive answer, looked for among the other workers' before it is computed, and stored
    for them after (PostgreSQL)."""
    cache = answer_cache()
    if cache is None:
        return make()
    version = request.scope.get("state", {}).get(DATA_VERSION) or data_version(session)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    question = question_of(database_of(engine), request.scope)
    answer = cache.get(question)
    if answer is None or answer.version != version:
        others = shared_answers(engine) if shared else None
        found = others.get(question, version) if others else None
        answer = replace(found or make(), version=version, route=request.scope.get("route"))
        if others and found is None and len(answer.body) * 4 <= cache.max_bytes:
            others.put(question, version, answer)
        cache.put(question, answer)
    return answer


def kept_response(request: Request, answer: Answer) -> Response:
    """A kept answer as sent, from the route or from `app.api.kept`: the Link header of a list
    page is built per request, since it follows the request's root path."""
    headers = {"Link": next_link(request, answer.next_cursor)} if answer.next_cursor else None
    return body_response(request, answer.body, answer.etag, headers=headers)


def cached_json_response(
    request: Request, session: Session, compute: Callable[[], object], *, shared: bool = False
) -> Response:
    """`json_response` of what `compute` returns, kept per question and data version; for
    aggregates and single reads (a list page keeps its cursor too: `cached_page_response`).
    `shared`: see `kept_answer`."""

    def make() -> Answer:
        body = dump(compute())
        return Answer(body, etag_of(body))

    return kept_response(request, kept_answer(request, session, make, shared=shared))


def body_response(
    request: Request,
    body: bytes,
    etag: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cache: bool = True,
    media_type: str = JSON,
) -> Response:
    """An encoded answer with its ETag, or the bare 304 of a GET that holds it already."""
    all_headers = {"ETag": etag, **(headers or {})}
    if request.method in ("GET", "HEAD"):
        all_headers.update(cache_headers() if cache else {"Cache-Control": "no-cache"})
        if status_code == 200 and etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=all_headers)
    return Response(body, status_code=status_code, media_type=media_type, headers=all_headers)


def app_path(scope: Scope) -> str:
    """The request's path inside the app, without the server's `root_path`."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def service_url(scope: Scope, path: str, query: str = "") -> str:
    """A URL of this service for `Link` and `Location`: absolute on PUBLIC_URL when it is set
    (its path prefix included), else a relative reference from the server's root (RFC 3986
    §4.2, which RFC 8288 and RFC 9110 allow). Never built from the `Host` header, which the
    client chooses: a cache keyed without it would otherwise hand one client's links to all.
    `path` is the path inside the app."""
    base = get_settings().public_url or scope.get("root_path", "").rstrip("/")
    url = base + quote(path, safe="/:@!$&'()*+,;=-._~%")
    if url.startswith("//"):  # would read as a host name
        url = "/%2F" + url[2:]
    return f"{url}?{query}" if query else url


def next_link(request: Request, cursor: str) -> str:
    """The same query with the next cursor (one pass over the parameters, no URL re-parsing)."""
    query = [(name, value) for name, value in request.query_params.multi_items() if name != "cursor"]
    query.append(("cursor", cursor))
    return f'<{service_url(request.scope, app_path(request.scope), urlencode(query))}>; rel="next"'


def page_response(request: Request, items: Sequence[Row], next_cursor: str | None) -> Response:
    headers = {"Link": next_link(request, next_cursor)} if next_cursor else None
    return json_response(request, {"items": items, "next_cursor": next_cursor}, headers=headers)


def cached_page_response(
    request: Request, session: Session, compute: Callable[[], tuple[Sequence[Row], str | None]]
) -> Response:
    """`page_response` of the `(items, next_cursor)` that `compute` returns, kept per question
    (filters, sort, limit, cursor, as_of) and data version; the Link header is built per
    request, since it follows the request's root path."""

    def make() -> Answer:
        items, next_cursor = compute()
        body = dump({"items": items, "next_cursor": next_cursor})
        return Answer(body, etag_of(body), next_cursor)

    return kept_response(request, kept_answer(request, session, make))

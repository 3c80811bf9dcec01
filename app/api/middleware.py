"""ASGI middleware: request ids, the Host header, the request body limit and its timeout."""

from __future__ import annotations

import asyncio
import re
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem
from app.kit.responses import HEAD_REQUEST, app_path, service_url

REQUEST_ID = "x-request-id"
SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")


def carry_back(inner: Scope, outer: Scope) -> None:
    """What the app learnt about a request it was handed as a copy of the scope — the route it
    matched, the key it checked — for the middleware outside (metrics, the request log)."""
    if "route" in inner:
        outer["route"] = inner["route"]
    if inner.get("state") is not outer.get("state") and "key_name" in inner.get("state", {}):
        outer.setdefault("state", {})["key_name"] = inner["state"]["key_name"]


NOSNIFF = (b"x-content-type-options", b"nosniff")
# For HTML that sets no policy of its own (the docs pages set theirs, app.api.docs): nothing
# may load, run or frame it.
HTML_POLICY = (
    b"default-src 'none'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
)


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every answer, so no browser reads JSON, CSV or a
    problem as HTML or script; a Content-Security-Policy on any HTML page without one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != NOSNIFF[0]]
                headers.append(NOSNIFF)
                names = {k.lower(): v for k, v in headers}
                html = names.get(b"content-type", b"").lower().startswith(b"text/html")
                if html and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", HTML_POLICY))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


CONSISTENCY_TOKEN = b"x-consistency-token"


class RequestIdMiddleware:
    """Every response carries X-Request-ID: the client's own (if sane) or a new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID.encode(), b"").decode("latin-1")
        request_id = sent if SAFE_ID.match(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID.encode()]
                headers.append((REQUEST_ID.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class ConsistencyTokenMiddleware:
    """A write's answer carries the WAL position of its commit (`X-Consistency-Token`, set on
    the request's state by `kit.deps.get_write_session`); a read that sends it back is served
    only by a database that has replayed that far. Installed when read replicas are set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_token(message: Message) -> None:
            token = scope.get("state", {}).get("consistency_token")
            if message["type"] == "http.response.start" and token:
                message["headers"] = [*message.get("headers", []), (CONSISTENCY_TOKEN, token.encode())]
            await send(message)

        await self.app(scope, receive, send_with_token)


# Answered whatever the Host: load balancers and scrapers call them by address.
HOST_EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


def host_name(header: str) -> str:
    """The host of a Host header without its port, lower-cased (`[::1]:8000` → `[::1]`)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(host: str, allowed: list[str]) -> bool:
    return any(host == entry or (entry.startswith("*.") and host.endswith(entry[1:])) for entry in allowed)


class HostMiddleware:
    """The Host header goes no further than here.

    With ALLOWED_HOSTS set, a request for any other host is a 400. And a `Location` the
    framework itself builds from the Host header (Starlette's trailing-slash redirect, which
    copies the client's Host into an absolute URL) is rewritten to the service's own URL
    (`service_url`), as the resources' `Location` and `Link` already are."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed = [host_name(entry) if not entry.startswith("*.") else entry for entry in allowed_hosts]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        refused = self.allowed and not host_allowed(host_name(host), self.allowed)
        if refused and app_path(scope) not in HOST_EXEMPT:
            shown = host if host.isprintable() and len(host) <= 100 else "that host"
            response = problem(
                400, f"this server does not serve the host {shown!r} (see ALLOWED_HOSTS)", kind="invalid-host"
            )
            await response(scope, receive, send)
            return
        origin = f"{scope.get('scheme', 'http')}://{host}".lower().encode("latin-1")

        async def send_own_location(message: Message) -> None:
            if message["type"] == "http.response.start" and host:
                message["headers"] = [
                    (name, self._rewrite(scope, value, origin) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_own_location)

    @staticmethod
    def _rewrite(scope: Scope, location: bytes, origin: bytes) -> bytes:
        own = location.lower().startswith(origin) and location[len(origin) : len(origin) + 1] in (b"/", b"")
        if not own:
            return location
        rest = location[len(origin) :].decode("latin-1") or "/"
        path, _, query = rest.partition("?")
        root = scope.get("root_path", "")
        inner = path[len(root) :] if root and path.startswith(root) else path
        return service_url(scope, inner, query).encode("latin-1")


class BodyLimitMiddleware:
    """413 for bodies over the limit, judged by Content-Length or while streaming, so an
    oversized body is refused without first being held in memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        detail = f"request body exceeds the limit of {self.max_bytes} bytes"
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = problem(413, detail)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited_receive, send)


class BodyTimeout(HTTPException):
    """The body did not arrive in time; the answer asks the server to close the connection."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"the request body did not arrive within {seconds:g} seconds",
            headers={"Connection": "close"},
        )


class BodyTimeoutMiddleware:
    """408 problem+json, and the connection closed, when a request body has not arrived whole
    `timeout` seconds after the app first asks for it.

    One deadline for the whole body, not an idle limit per chunk: a client trickling a byte a
    second would satisfy any per-chunk limit and still hold the connection (and a worker's
    memory) for as long as it likes. The clock starts at the first read, so time the app spends
    before reading (a key lookup) is not charged to the client. A proxy that buffers bodies
    (nginx does by default, see deploy/nginx.conf) hands them over at once, so behind one the
    deadline only bites when the proxy itself is slow."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False
        started = False

        async def timed_receive() -> Message:
            nonlocal deadline, complete
            if complete:  # after the body only a disconnect can come, whenever it comes
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.timeout) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except BodyTimeout as exc:  # raised where no exception handler answers it
            if started:
                raise
            response = problem(408, str(exc.detail), headers={"Connection": "close"})
            await response(scope, receive, send)


class HeadMiddleware:
    """HEAD is GET without the body (RFC 9110 §9.3.2): same status and headers, ETag included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        state = {**scope.get("state", {}), HEAD_REQUEST: True}
        inner = {**scope, "method": "GET", "state": state}
        try:
            await self.app(inner, receive, send_headers_only)
        finally:
            carry_back(inner, scope)

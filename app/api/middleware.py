"""ASGI middleware: request ids and the request body limit."""

from __future__ import annotations

import re
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem
from app.kit.responses import HEAD_REQUEST

REQUEST_ID = "x-request-id"
SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")


def carry_back(inner: Scope, outer: Scope) -> None:
    """What the app learnt about a request it was handed as a copy of the scope — the route it
    matched, the key it checked — for the middleware outside (metrics, the request log)."""
    if "route" in inner:
        outer["route"] = inner["route"]
    if inner.get("state") is not outer.get("state") and "key_name" in inner.get("state", {}):
        outer.setdefault("state", {})["key_name"] = inner["state"]["key_name"]


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

"""Response compression negotiated by `Accept-Encoding`, with one strong ETag per encoding.

A gzip-coded body is a different representation from the identity one, so RFC 9110 §8.8.3
wants a different strong validator: the compressed answer's `"abc"` becomes `"abc-gzip"`. On
the way in, `If-None-Match` and `If-Match` tags carrying the suffix are mapped back to the base
tag, so the routes keep comparing the ETags they compute and never learn about encodings.

The decision is made from the start message's headers alone, so it costs nothing to answer the
ones that are not compressed: a body with a `Content-Length` under the threshold passes through;
a streamed body (no `Content-Length`) is compressed chunk by chunk, each chunk flushed so the
client gets it at once and nothing is held back. Whole bodies use `level`; streams use
`stream_level`, which should favour speed: an export must not wait on its compressor.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware import carry_back

GZIP = "gzip"
# Codings the service can produce, most preferred first (breaks ties between equal q-values).
SUPPORTED = (GZIP,)
ALIASES = {"x-gzip": GZIP}
COMPRESSIBLE_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/javascript", "application/xml"}
)
UNLISTED_IDENTITY = 0.001
OFFLOAD_BYTES = 128 * 1024
NO_BODY_STATUSES = frozenset({204, 205, 304})
ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Negotiated:
    """The coding chosen for one request (None: identity) and whether identity is acceptable."""

    coding: str | None
    identity_acceptable: bool = True


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Codings and their q-values; entries with an unreadable q-value are ignored."""
    preferences: dict[str, float] = {}
    for part in value.split(","):
        token, *parameters = part.split(";")
        coding = token.strip().lower()
        if not coding:
            continue
        quality: float | None = 1.0
        for parameter in parameters:
            name, _, raw = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(raw.strip()), 0.0), 1.0)
                except ValueError:
                    quality = None
        if quality is not None:
            preferences.setdefault(ALIASES.get(coding, coding), quality)
    return preferences


def negotiate(header: str | None) -> Negotiated:
    """RFC 9110 §12.5.3. No header: identity (a client that does not ask gets plain bytes).
    A listed coding at q=0 is refused; `*` stands for every coding not listed; identity is
    acceptable unless refused by `identity;q=0` or by `*;q=0` without an identity entry, and
    when not listed it yields to any listed coding. Equal q-values go to compression."""
    if header is None:
        return Negotiated(None)
    preferences = parse_accept_encoding(header)
    wildcard = preferences.get("*")
    # Unlisted, identity stays acceptable but yields to any listed coding.
    identity = preferences.get("identity", wildcard if wildcard is not None else UNLISTED_IDENTITY)
    best: str | None = None
    best_quality = 0.0
    for coding in SUPPORTED:
        quality = preferences.get(coding, wildcard or 0.0)
        if quality > best_quality:
            best, best_quality = coding, quality
    if best is not None and best_quality >= identity:
        return Negotiated(best, identity > 0)
    return Negotiated(None, identity > 0)


def with_suffix(etag: str, coding: str) -> str:
    """`"abc"` -> `"abc-gzip"`; weak or malformed tags are left alone (a weak tag already
    says "semantically equivalent", which holds across encodings)."""
    if etag.startswith('"') and etag.endswith('"') and len(etag) >= 2:
        return f'{etag[:-1]}-{coding}"'
    return etag


def map_tags(header: str, codings: tuple[str, ...]) -> tuple[str, set[str]]:
    """The header with `"abc-<coding>"` tags rewritten to `"abc"` (strong tags only), and the
    base tags that were rewritten. `*` and unparsable headers are returned unchanged."""
    if header.strip() == "*":
        return header, set()
    tags: list[str] = []
    mapped: set[str] = set()
    position = 0
    text = header.strip()
    while position < len(text):
        match = ENTITY_TAG.match(text, position)
        if match is None:
            return header, set()
        weak, opaque = match.groups()
        tag = f'{weak or ""}"{opaque}"'
        if not weak:
            for coding in codings:
                if opaque.endswith(f"-{coding}"):
                    tag = f'"{opaque[: -len(coding) - 1]}"'
                    mapped.add(tag)
                    break
        tags.append(tag)
        position = match.end()
    return ", ".join(tags), mapped


def is_compressible(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in COMPRESSIBLE_TYPES
        or media.endswith("+json")
        or media.endswith("+xml")
    )


class GzipEncoder:
    """A gzip member written incrementally; `chunk` flushes so the bytes so far are decodable."""

    name = GZIP

    def __init__(self, level: int) -> None:
        self._stream = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def chunk(self, data: bytes) -> bytes:
        return self._stream.compress(data) + self._stream.flush(zlib.Z_SYNC_FLUSH)

    def last(self, data: bytes) -> bytes:
        return self._stream.compress(data) + self._stream.flush(zlib.Z_FINISH)


def encoder_for(coding: str, level: int) -> GzipEncoder:
    if coding == GZIP:
        return GzipEncoder(level)
    raise ValueError(f"unsupported coding {coding!r}")


@dataclass
class _Exchange:
    """One response on its way out: what was negotiated, and what is held until the body starts."""

    send: Send
    method: str
    negotiated: Negotiated
    mapped_if_none_match: set[str]
    min_bytes: int
    level: int
    stream_level: int
    start: Message | None = None
    encoder: GzipEncoder | None = None
    streaming: bool = False
    done: bool = False
    headers: MutableHeaders = field(default_factory=MutableHeaders)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._on_start(message)
        elif message["type"] == "http.response.body" and self.start is not None:
            await self._on_body(message)
        else:
            await self.send(message)

    async def _on_start(self, message: Message) -> None:
        status = message["status"]
        headers = MutableHeaders(scope=message)
        coding = self.negotiated.coding
        if status == 304:
            headers.add_vary_header("Accept-Encoding")
            etag = headers.get("etag")
            if coding and etag in self.mapped_if_none_match:
                headers["ETag"] = with_suffix(etag, coding)
            await self.send(message)
            return
        if (
            status < 200
            or status in NO_BODY_STATUSES
            or "content-encoding" in headers
            or not is_compressible(headers.get("content-type", ""))
        ):
            await self.send(message)
            return
        headers.add_vary_header("Accept-Encoding")
        length = headers.get("content-length")
        threshold = self.min_bytes if self.negotiated.identity_acceptable else 1
        if coding is None or (length is not None and (not length.isdigit() or int(length) < threshold)):
            await self.send(message)
            return
        if self.method == "HEAD":
            # No body to compress: say what the GET would say, minus a length we cannot know.
            self._mark_encoded(headers, coding)
            await self.send(message)
            return
        self.start, self.headers, self.streaming = message, headers, length is None

    def _mark_encoded(self, headers: MutableHeaders, coding: str) -> None:
        headers["Content-Encoding"] = coding
        if "content-length" in headers:
            del headers["content-length"]
        etag = headers.get("etag")
        if etag:
            headers["ETag"] = with_suffix(etag, coding)

    async def _on_body(self, message: Message) -> None:
        assert self.start is not None
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        coding = self.negotiated.coding
        assert coding is not None
        if self.encoder is None:
            if not body and more:
                return  # wait for the first bytes before committing to an encoding
            if not body:
                # An empty body is sent as it is: never a compressed empty body.
                await self.send(self.start)
                await self.send(message)
                return
            if not more and not self.streaming:
                # The whole body at once: compress it and give its exact length.
                encoder = encoder_for(coding, self.level)
                if len(body) >= OFFLOAD_BYTES:
                    # zlib lets go of the GIL: a big page must not stall the event loop.
                    compressed = await anyio.to_thread.run_sync(encoder.last, body)
                else:
                    compressed = encoder.last(body)
                self._mark_encoded(self.headers, coding)
                self.headers["Content-Length"] = str(len(compressed))
                await self.send(self.start)
                await self.send({"type": "http.response.body", "body": compressed, "more_body": False})
                return
            self.encoder = encoder_for(coding, self.stream_level)
            self._mark_encoded(self.headers, coding)
            await self.send(self.start)
        if more:
            if body:
                await self.send(
                    {"type": "http.response.body", "body": self.encoder.chunk(body), "more_body": True}
                )
            return
        await self.send({"type": "http.response.body", "body": self.encoder.last(body), "more_body": False})


class CompressionMiddleware:
    """gzip for compressible answers of at least `min_bytes` (streams always), when asked for."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        enabled: bool = True,
        min_bytes: int = 1024,
        level: int = 6,
        stream_level: int = 1,
    ) -> None:
        self.app = app
        self.enabled = enabled
        self.min_bytes = min_bytes
        self.level = level
        self.stream_level = stream_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        accept: list[str] = []
        headers: list[tuple[bytes, bytes]] = []
        if_none_match: list[str] = []
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept.append(value.decode("latin-1"))
            if name == b"if-none-match":
                if_none_match.append(value.decode("latin-1"))
                continue
            if name == b"if-match":
                value = map_tags(value.decode("latin-1"), SUPPORTED)[0].encode("latin-1")
            headers.append((name, value))
        negotiated = negotiate(", ".join(accept) if accept else None)
        mapped: set[str] = set()
        if if_none_match:
            # Only the negotiated coding's tags stand for what this request would be sent.
            codings = (negotiated.coding,) if negotiated.coding else ()
            rewritten, mapped = map_tags(", ".join(if_none_match), codings)
            headers.append((b"if-none-match", rewritten.encode("latin-1")))
        exchange = _Exchange(
            send=send,
            method=scope["method"],
            negotiated=negotiated,
            mapped_if_none_match=mapped,
            min_bytes=self.min_bytes,
            level=self.level,
            stream_level=self.stream_level,
        )
        inner = {**scope, "headers": headers}
        try:
            await self.app(inner, receive, exchange)
        finally:
            carry_back(inner, scope)

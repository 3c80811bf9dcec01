"""gzip negotiated by Accept-Encoding: round trips, thresholds, Vary, per-encoding ETags, streams.

httpx decodes gzip by itself, so what went over the wire is read at the ASGI level (`call`):
the messages the app sends, exactly as a server would write them.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.compression import CompressionMiddleware, map_tags, negotiate

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


class Answer:
    """A response as sent over ASGI: status, headers (lower-cased names) and body messages."""

    def __init__(self, messages: list[Message]) -> None:
        start = messages[0]
        self.status: int = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        self.chunks: list[bytes] = [m.get("body", b"") for m in messages[1:]]
        self.body = b"".join(self.chunks)


def call(app: ASGIApp, path: str, headers: dict[str, str], method: str = "GET", body: bytes = b"") -> Answer:
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("testclient", 1),
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    messages: list[Message] = []
    requested = False

    async def run() -> None:
        finished = asyncio.Event()

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()  # as a server does: a disconnect only once the answer is out
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            messages.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished.set()

        await app(scope, receive, send)

    asyncio.run(run())
    return Answer(messages)


def vary(answer: Any) -> list[str]:
    return [v.strip().lower() for v in answer.headers.get("vary", "").split(",") if v.strip()]


@pytest.fixture
def app(demo: dict[str, Any]) -> ASGIApp:
    from app.main import create_app

    return create_app()


# --- negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "coding", "identity_ok"),
    [
        (None, None, True),
        ("", None, True),
        ("gzip", "gzip", True),
        ("gzip, deflate", "gzip", True),
        ("GZIP;Q=0.8", "gzip", True),
        ("x-gzip", "gzip", True),
        ("*", "gzip", True),
        ("gzip;q=0", None, True),
        ("gzip;q=0.000", None, True),
        ("*;q=0, identity", None, True),
        ("gzip;q=0.5, identity", None, True),
        ("gzip, identity;q=0.5", "gzip", True),
        ("identity", None, True),
        ("identity;q=0, gzip", "gzip", False),
        ("*;q=0", None, False),
        ("br, zstd", None, True),
        ("gzip;q=high", None, True),
        ("gzip;q=0.4, *;q=0.9", None, True),
    ],
)
def test_negotiation_honours_q_values(header: str | None, coding: str | None, identity_ok: bool) -> None:
    negotiated = negotiate(header)
    assert negotiated.coding == coding
    assert negotiated.identity_acceptable is identity_ok


def test_suffixed_tags_are_mapped_back_to_base_tags() -> None:
    header, mapped = map_tags('"abc-gzip", W/"def-gzip", "ghi", "jkl-br"', ("gzip",))
    assert header == '"abc", W/"def-gzip", "ghi", "jkl-br"'
    assert mapped == {'"abc"'}
    assert map_tags("*", ("gzip",)) == ("*", set())
    assert map_tags("not a tag", ("gzip",)) == ("not a tag", set())
    assert map_tags('"abc-gzip"', ()) == ('"abc-gzip"', set())


# --- whole bodies ------------------------------------------------------------------------------


def test_gzip_round_trip_with_exact_length_and_suffixed_etag(app: ASGIApp) -> None:
    plain = call(app, "/v1/events?limit=50", IDENTITY)
    packed = call(app, "/v1/events?limit=50", GZIP)
    assert plain.status == packed.status == 200
    assert len(plain.body) > 1024
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) == len(packed.body) < len(plain.body)
    assert gzip.decompress(packed.body) == plain.body
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert "accept-encoding" in vary(plain) and "accept-encoding" in vary(packed)


def test_the_test_client_sees_the_same_json_compressed(client: TestClient, demo: dict[str, Any]) -> None:
    packed = client.get("/v1/events", headers=GZIP)
    plain = client.get("/v1/events", headers=IDENTITY)
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()


def test_small_bodies_are_left_alone_but_still_vary(app: ASGIApp) -> None:
    answer = call(app, "/healthz", GZIP)
    assert answer.status == 200
    assert "content-encoding" not in answer.headers
    assert answer.body == b'{"status":"ok"}'
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert "accept-encoding" in vary(answer)


def test_problem_json_errors_follow_the_same_rules(app: ASGIApp) -> None:
    missing = call(app, "/v1/events/999999", GZIP)
    assert missing.status == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "content-encoding" not in missing.headers and "accept-encoding" in vary(missing)
    assert missing.body.startswith(b"{")


def test_q_zero_is_refused_and_refused_identity_compresses_even_small_bodies(app: ASGIApp) -> None:
    refused = call(app, "/v1/events", {"Accept-Encoding": "gzip;q=0, deflate"})
    assert "content-encoding" not in refused.headers
    assert refused.body.startswith(b'{"items":')
    assert "accept-encoding" in vary(refused)
    small = call(app, "/healthz", {"Accept-Encoding": "identity;q=0, gzip"})
    assert small.headers["content-encoding"] == "gzip"
    assert gzip.decompress(small.body) == b'{"status":"ok"}'


def test_no_accept_encoding_gets_identity(app: ASGIApp) -> None:
    answer = call(app, "/v1/events", {})
    assert "content-encoding" not in answer.headers
    assert "accept-encoding" in vary(answer)


# --- streams -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "geojson"])
def test_export_is_streamed_compressed_chunk_by_chunk(app: ASGIApp, fmt: str) -> None:
    path = f"/v1/events/export?format={fmt}"
    plain = call(app, path, IDENTITY)
    packed = call(app, path, GZIP)
    assert packed.status == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-length" not in packed.headers
    assert "accept-encoding" in vary(packed)
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert len(packed.chunks) == len(plain.chunks) > 1
    # Every chunk is flushed: what has arrived so far decodes to what the app had written so far.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    written = b""
    for packed_chunk, plain_chunk in zip(packed.chunks, plain.chunks, strict=True):
        written += plain_chunk
        assert decoder.decompress(packed_chunk) == plain_chunk
    assert decoder.eof and written == plain.body
    assert gzip.decompress(packed.body) == plain.body


def test_client_stream_decompresses_to_the_uncompressed_export(
    client: TestClient, demo: dict[str, Any]
) -> None:
    plain = client.get("/v1/events/export?format=ndjson", headers=IDENTITY)
    with client.stream("GET", "/v1/events/export?format=ndjson", headers=GZIP) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content)


# --- conditional requests ------------------------------------------------------------------------


def test_conditional_get_with_the_suffixed_etag_is_a_304_carrying_it(app: ASGIApp) -> None:
    for path in ("/v1/events", "/v1/events/export?format=csv", "/v1/events/facets"):
        first = call(app, path, GZIP)
        etag = first.headers["etag"]
        assert etag.endswith('-gzip"'), path
        again = call(app, path, {**GZIP, "If-None-Match": etag})
        assert again.status == 304, path
        assert again.body == b""
        assert again.headers["etag"] == etag
        assert "content-encoding" not in again.headers
        assert "accept-encoding" in vary(again)
        # The identity representation's own tag is matched too, and answered as it was sent.
        base = etag.removesuffix('-gzip"') + '"'
        assert call(app, path, {**IDENTITY, "If-None-Match": base}).headers["etag"] == base
        # A client that no longer accepts gzip does not hold the representation it would get.
        assert call(app, path, {**IDENTITY, "If-None-Match": etag}).status == 200


def test_if_match_with_the_suffixed_etag(
    client: TestClient, auth: dict[str, str], demo: dict[str, Any]
) -> None:
    event = client.get("/v1/events", params={"limit": "1"}).json()["items"][0]
    url = f"/v1/events/{event['id']}"
    # Long enough that every read form of the event is compressed.
    made_long = client.patch(url, json={"description": "A long description. " * 100}, headers=auth)
    assert made_long.status_code == 200
    read = client.get(url, headers=GZIP)
    assert read.headers["content-encoding"] == "gzip"
    etag = read.headers["etag"]
    assert etag.endswith('-gzip"') and etag == made_long.headers["etag"]

    changed = client.patch(url, json={"title": "Renamed"}, headers={**auth, **GZIP, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    fresh = changed.headers["etag"]
    assert fresh.endswith('-gzip"') and fresh != etag
    assert client.get(url, headers=GZIP).headers["etag"] == fresh

    stale = client.patch(url, json={"title": "Again"}, headers={**auth, **GZIP, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert client.delete(url, headers={**auth, "If-Match": etag}).status_code == 412
    # The base tag and the suffixed one name the same state, whatever the request accepts.
    base = fresh.removesuffix('-gzip"') + '"'
    same = client.patch(url, json={"title": "Renamed"}, headers={**auth, **IDENTITY, "If-Match": base})
    assert same.status_code == 200 and same.headers["etag"] == base
    again = client.patch(url, json={"title": "Renamed"}, headers={**auth, **IDENTITY, "If-Match": fresh})
    assert again.status_code == 200 and "content-encoding" not in again.headers


# --- HEAD ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/export?format=ndjson", "/healthz"])
def test_head_announces_what_get_would_send_without_a_body(app: ASGIApp, path: str) -> None:
    get = call(app, path, GZIP)
    head = call(app, path, GZIP, method="HEAD")
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.headers["etag" if "etag" in get.headers else "content-type"] == get.headers.get(
        "etag", get.headers["content-type"]
    )
    assert head.headers.get("content-encoding") == get.headers.get("content-encoding")
    assert vary(head) == vary(get)
    # Content-Length is either absent or the length GET sends.
    if "content-length" in head.headers:
        assert head.headers["content-length"] == get.headers["content-length"]


# --- the middleware on its own -----------------------------------------------------------------


def fixed(status: int, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> ASGIApp:
    """An app answering one response, whatever the request."""

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    return answer


JSON_TYPE = (b"content-type", b"application/json")
BIG = b'{"x":"' + b"y" * 5000 + b'"}'


def test_existing_content_encoding_passes_untouched() -> None:
    body = gzip.compress(BIG)
    inner = fixed(
        200, [JSON_TYPE, (b"content-encoding", b"gzip"), (b"content-length", str(len(body)).encode())], [body]
    )
    answer = call(CompressionMiddleware(inner), "/", GZIP)
    assert answer.body == body
    assert answer.headers["content-encoding"] == "gzip"


def test_weak_etags_gain_no_suffix() -> None:
    headers = [JSON_TYPE, (b"etag", b'W/"weak"'), (b"content-length", str(len(BIG)).encode())]
    answer = call(CompressionMiddleware(fixed(200, headers, [BIG])), "/", GZIP)
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["etag"] == 'W/"weak"'


def test_empty_streams_and_bodiless_statuses_are_never_compressed() -> None:
    empty_stream = call(CompressionMiddleware(fixed(200, [JSON_TYPE], [b"", b""])), "/", GZIP)
    assert empty_stream.body == b"" and "content-encoding" not in empty_stream.headers
    no_content = call(CompressionMiddleware(fixed(204, [], [b""])), "/", GZIP)
    assert (
        no_content.status == 204 and no_content.body == b"" and "content-encoding" not in no_content.headers
    )


def test_incompressible_types_and_disabled_middleware_pass_through() -> None:
    png = fixed(200, [(b"content-type", b"image/png"), (b"content-length", b"5000")], [b"\x89" * 5000])
    answer = call(CompressionMiddleware(png), "/", GZIP)
    assert "content-encoding" not in answer.headers and "vary" not in answer.headers
    json_app = fixed(200, [JSON_TYPE, (b"content-length", str(len(BIG)).encode())], [BIG])
    disabled = call(CompressionMiddleware(json_app, enabled=False), "/", GZIP)
    assert disabled.body == BIG and "content-encoding" not in disabled.headers


def test_a_body_sent_in_pieces_despite_its_length_is_streamed() -> None:
    headers = [JSON_TYPE, (b"content-length", str(len(BIG)).encode()), (b"vary", b"Origin")]
    answer = call(CompressionMiddleware(fixed(200, headers, [BIG[:100], BIG[100:]])), "/", GZIP)
    assert "content-length" not in answer.headers
    assert gzip.decompress(answer.body) == BIG
    assert vary(answer) == ["origin", "accept-encoding"]


def test_gzip_levels_are_configurable(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    from app.core.config import get_settings

    monkeypatch.setenv("GZIP_LEVEL", "9")
    monkeypatch.setenv("GZIP_STREAM_LEVEL", "2")
    monkeypatch.setenv("COMPRESSION_MIN_BYTES", "10")
    get_settings.cache_clear()
    options = get_settings().compression_options
    assert options == {"enabled": True, "min_bytes": 10, "level": 9, "stream_level": 2}
    monkeypatch.setenv("GZIP_LEVEL", "0")
    get_settings.cache_clear()
    with pytest.raises(ValueError):
        get_settings()
    monkeypatch.delenv("GZIP_LEVEL")
    get_settings.cache_clear()


def test_a_big_whole_body_round_trips_with_its_exact_length() -> None:
    """Over 128 KiB the body is compressed in a worker thread; the answer is the same."""
    big = b"[" + b",".join(b'{"n":%d}' % n for n in range(40_000)) + b"]"
    headers = [JSON_TYPE, (b"content-length", str(len(big)).encode()), (b"etag", b'"big"')]
    answer = call(CompressionMiddleware(fixed(200, headers, [big])), "/", GZIP)
    assert answer.headers["content-encoding"] == "gzip"
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert answer.headers["etag"] == '"big-gzip"'
    assert gzip.decompress(answer.body) == big

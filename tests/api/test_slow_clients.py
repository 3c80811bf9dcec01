"""Issue 10, slow clients: against a real uvicorn started by `conflict-events serve`, over raw
sockets. A body that has not arrived BODY_TIMEOUT seconds after the app starts reading it is a
408 problem and the connection closes, however it trickles; idle keep-alive connections close
after TIMEOUT_KEEP_ALIVE; `serve` hands uvicorn its limits."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.servers import free_port, serve

BODY_TIMEOUT = 1.0
KEEP_ALIVE = 1


@pytest.fixture
def server(
    request: pytest.FixtureRequest, database_url: str, make_key: Callable[[str, str], str]
) -> Iterator[tuple[int, str]]:
    """`conflict-events serve` on the test database, with a short BODY_TIMEOUT; its port and a
    write key. Parametrize indirectly with the HTTP implementation (default `auto`)."""
    key = make_key("slow-tester", "write")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BODY_TIMEOUT": str(BODY_TIMEOUT),
        "TIMEOUT_KEEP_ALIVE": str(KEEP_ALIVE),
        "HTTP_IMPLEMENTATION": getattr(request, "param", "auto"),
        "H11_MAX_INCOMPLETE_EVENT_SIZE": "8192",
    }
    process = serve(env, port)
    yield port, key
    process.terminate()
    process.wait(timeout=10)


def request_head(key: str, length: int) -> bytes:
    return (
        "POST /v1/load HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, bool]:
    """Everything the server sends within `limit` seconds, and whether it closed the connection."""
    sock.settimeout(0.1)
    data, deadline = b"", time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            # the server closed with bytes of ours unread (a client still trickling its body
            # when the answer came), so its system reset the connection: closed all the same
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def assert_408_and_closed(answer: bytes, closed: bool) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    assert lines[0].startswith("http/1.1 408"), answer
    assert "content-type: application/problem+json" in lines
    assert "connection: close" in lines
    assert b'"status":408' in body and b"did not arrive within 1 seconds" in body
    assert closed, "the server kept the connection open"


@pytest.mark.parametrize("server", ["auto", "h11"], indirect=True)
def test_a_stalled_body_is_408_and_the_connection_closes(server: tuple[int, str]) -> None:
    port, key = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        sock.sendall(request_head(key, 1000) + b'{"sources": [')
        answer, closed = read_until_closed(sock, BODY_TIMEOUT + 5)
        waited = time.monotonic() - started
    assert_408_and_closed(answer, closed)
    assert BODY_TIMEOUT <= waited < BODY_TIMEOUT + 3


def test_a_trickled_body_gets_one_deadline_not_one_per_chunk(server: tuple[int, str]) -> None:
    """A byte every 0.2 s never leaves the connection idle for long, and is still cut off."""
    port, key = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request_head(key, 1000))
        started, answer = time.monotonic(), b""
        sock.settimeout(0.2)
        while time.monotonic() - started < BODY_TIMEOUT + 5 and not answer:
            try:
                sock.sendall(b" ")
                answer = sock.recv(65536)
            except TimeoutError:
                continue
        rest, closed = read_until_closed(sock, 3)
        waited = time.monotonic() - started
    assert_408_and_closed(answer + rest, closed)
    assert waited < BODY_TIMEOUT + 3


def test_a_body_in_time_is_answered_and_the_connection_kept(server: tuple[int, str]) -> None:
    port, key = server
    body = b'{"sources": [{"ref": "s:slow", "name": "Slow", "kind": "ngo"}]}'
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request_head(key, len(body)) + body[:10])
        time.sleep(BODY_TIMEOUT / 2)
        sock.sendall(body[10:])
        sock.settimeout(5)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        # then, idle, the keep-alive connection is closed after TIMEOUT_KEEP_ALIVE
        started = time.monotonic()
        rest, closed = read_until_closed(sock, KEEP_ALIVE + 4)
    assert closed and (answer + rest).count(b"HTTP/1.1 ") == 1
    assert time.monotonic() - started < KEEP_ALIVE + 3


@pytest.mark.parametrize("server", ["h11"], indirect=True)
def test_with_h11_oversized_headers_are_refused(server: tuple[int, str]) -> None:
    """H11_MAX_INCOMPLETE_EVENT_SIZE (8 KiB here) bounds what h11 holds of unfinished request
    headers — what a client sending big headers slowly makes it hold; httptools, the default,
    bounds nothing (the README says so and points at the proxy)."""
    port, _ = server
    answers = []
    for size in (4_000, 20_000):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                for _ in range(size // 1000):
                    sock.sendall(b"a" * 1000)
                    time.sleep(0.01)
                sock.sendall(b"\r\n\r\n")
                answers.append(read_until_closed(sock, 3)[0])
            except (BrokenPipeError, ConnectionResetError):  # refused before the headers ended
                answers.append(b"HTTP/1.1 400 (connection closed while sending)")
    assert answers[0].startswith(b"HTTP/1.1 200"), answers[0][:100]
    assert answers[1].startswith(b"HTTP/1.1 400"), answers[1][:100]


def test_serve_hands_uvicorn_its_limits(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    import uvicorn

    from app.cli import cli
    from app.core.config import get_settings

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    monkeypatch.setenv("LIMIT_CONCURRENCY", "64")
    get_settings.cache_clear()
    assert CliRunner().invoke(cli, ["serve", "--port", "9"]).exit_code == 0
    assert seen["limit_concurrency"] == 64
    assert seen["timeout_keep_alive"] == 5
    assert seen["h11_max_incomplete_event_size"] == 16_384
    assert seen["http"] == "auto"
    assert seen["proxy_headers"] is True and seen["port"] == 9
    get_settings.cache_clear()

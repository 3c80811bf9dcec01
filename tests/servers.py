"""Real servers for the tests that need a socket: a free port, and a wait for the server to
answer."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(process: subprocess.Popen[bytes], url: str, timeout: float = 30) -> None:
    """Return once `url` answers; fail if the server exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def serve(env: dict[str, str], port: int, *options: str, timeout: float = 30) -> subprocess.Popen[bytes]:
    """`conflict-events serve` on `port` with `env`, started and answering `/healthz` (killed
    if it does not within `timeout` seconds)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}/healthz", timeout)
    except AssertionError:
        process.kill()
        raise
    return process

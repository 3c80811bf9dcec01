"""The wheel is what operators install: built from this checkout, installed into a fresh venv and
run from an empty folder, its command migrates, creates a key, imports UCDP GED and serves, on
SQLite and on PostgreSQL. (The migrations travel inside it as `app.migrations`.)"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.factories import UCDP_SAMPLE as SAMPLE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`conflict-events` of a venv that holds the wheel and its dependencies, nothing else."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("conflict_events-*.whl")
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True)
    return venv / "bin" / "conflict-events"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that has never been migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL")
    name = f"wheel_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_installed_command_works_from_an_empty_folder(
    command: Path, fresh_url: str, tmp_path: Path
) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": fresh_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(command), *args], cwd=empty, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    run("db", "upgrade")
    key = run("keys", "create", "operator", "--scope", "write").stdout.strip().splitlines()[-1]
    assert key.startswith("ce_")
    run("import", "ucdp-ged", str(SAMPLE))

    port = _free_port()
    server = subprocess.Popen(
        [str(command), "serve", "--port", str(port)],
        cwd=empty,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/readyz")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:] if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 200
        status, body = _get(f"http://127.0.0.1:{port}/v1/events?limit=1&ref=ucdp-ged:300380")
        assert status == 200
        assert b'"ucdp-ged:300380"' in body
        # the explorer's page and every file it names travel in the wheel
        status, page = _get(f"http://127.0.0.1:{port}/explore")
        assert status == 200
        assets = re.findall(rb'(?:src|href)="(/explore/static/[^"]+)"', page)
        assert len(assets) >= 10
        for asset in [*assets, b"/explore/static/vendor/world-atlas/countries-110m.json"]:
            assert _get(f"http://127.0.0.1:{port}{asset.decode()}")[0] == 200, asset
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert list(empty.iterdir()) == []  # nothing written to the working folder

"""Expected failures of the command are one line that says what to do, and a non-zero exit;
the traceback only with `--debug`. Run as a real process, as an operator meets them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import UCDP_SAMPLE

DEMO = Path(__file__).resolve().parents[1] / "app" / "data" / "zapad-2025.json"


def run(database_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, done.stderr
    assert "Traceback" not in done.stderr and "sqlalche.me" not in done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("import", "ucdp-ged", str(UCDP_SAMPLE)),
        ("keys", "revoke", "ops"),
        ("keys", "list"),
        ("keys", "create", "ops"),
        ("load", str(DEMO)),
        ("demo",),
    ],
)
def test_an_unmigrated_database_says_to_migrate(args: tuple[str, ...], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    assert_one_line(run(url, *args, cwd=tmp_path), "has not been migrated", "run: conflict-events db upgrade")


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    done = run("postgresql+psycopg://ops:s3cret@127.0.0.1:1/events", "db", "upgrade", cwd=tmp_path)
    assert_one_line(done, "unreachable", "127.0.0.1:1", "check DATABASE_URL")
    assert "s3cret" not in done.stderr


def test_a_url_that_is_not_a_database_url(tmp_path: Path) -> None:
    assert_one_line(run("not a url", "db", "upgrade", cwd=tmp_path), "is not a database URL")


def test_a_missing_file_or_a_typo_is_a_usage_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    missing = run(url, "import", "ucdp-ged", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert_one_line(missing, "does not exist", "conflict-events import ucdp-ged --help")
    assert missing.returncode == 2
    assert_one_line(run(url, "keys", "create", "a", "--scope", "admin", cwd=tmp_path), "--scope")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    done = run(url, "--debug", "keys", "list", cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "no such table" in done.stderr


def test_no_command_shows_the_help(tmp_path: Path) -> None:
    done = run(f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert "Usage" in done.stdout and "import" in done.stdout

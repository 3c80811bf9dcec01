"""The importer's parser process: same results as parsing in-process, and every way it can fail
ends the import with a clean error (never a hang, never an orphaned process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db import session as db_session
from app.importers.ucdp_ged.parsing import UcdpFormatError, UcdpImportError
from app.importers.ucdp_ged.run import import_ucdp_ged
from tests.factories import UCDP_SAMPLE as SAMPLE

WORKTREE = Path(__file__).resolve().parents[2]


def child_pids() -> list[int]:
    pid = os.getpid()
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def has_exited(pid: int) -> bool:
    """Gone, or a zombie waiting for its (new) parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_worker_and_in_process_parsing_give_the_same_summary(database_url: str, engine: sa.Engine) -> None:
    factory = db_session.session_factory(write=True)
    in_worker = import_ucdp_ged(SAMPLE, factory, batch_size=300)
    in_process = import_ucdp_ged(SAMPLE, factory, batch_size=300, parse_in_worker=False)

    assert in_worker.rows_read == in_process.rows_read == 1000
    assert in_worker.warnings == in_process.warnings and in_worker.warnings
    assert in_worker.skipped == in_process.skipped
    assert in_worker.batches == in_process.batches == 4
    assert in_worker.counts["events"]["created"] == 1000
    assert in_process.counts["events"]["unchanged"] == 1000


def test_a_bad_header_is_a_format_error_through_the_worker(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "not-ged.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(UcdpFormatError, match="not a UCDP GED header; missing: id"):
        import_ucdp_ged(path, db_session.session_factory(write=True))


def test_a_parser_error_is_a_one_line_cli_error(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parser cannot read a directory (the CLI's own path check refuses one earlier, so the
    command's runner is called directly): one line on stderr, exit status 2, no traceback."""
    from app.cli import run_ucdp_import

    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(UcdpImportError, match="the CSV parser failed: IsADirectoryError"):
        import_ucdp_ged(folder, db_session.session_factory(write=True))

    started = time.monotonic()
    code = run_ucdp_import(folder)
    assert time.monotonic() - started < 60
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: {folder}: the CSV parser failed: IsADirectoryError"), lines
    assert "Traceback" not in captured.err + captured.out


def test_a_killed_parser_stops_the_import_cleanly_and_a_rerun_completes_it(
    database_url: str, engine: sa.Engine
) -> None:
    killed: list[int] = []

    def kill_the_parser(_: int) -> None:
        if not killed:
            for pid in child_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with pytest.raises(UcdpImportError, match=r"stopped unexpectedly \(exit code -9\)"):
        import_ucdp_ged(
            SAMPLE, db_session.session_factory(write=True), batch_size=200, progress=kill_the_parser
        )
    assert killed and all(has_exited(pid) for pid in killed)
    with engine.connect() as conn:
        events = conn.exec_driver_sql('SELECT count(*) FROM "event"').scalar_one()
    assert events % 200 == 0 and 200 <= events < 1000  # whole batches only

    again = import_ucdp_ged(SAMPLE, db_session.session_factory(write=True), batch_size=200)
    assert again.ok and again.counts["events"] == {
        "created": 1000 - events,
        "updated": 0,
        "unchanged": events,
    }


def test_the_parser_exits_when_the_importer_is_killed(database_url: str, tmp_path: Path) -> None:
    """A SIGKILLed importer cannot stop its parser: the parser notices the broken pipe."""
    script = tmp_path / "die.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal, sys
            from pathlib import Path
            from app.db.session import session_factory
            from app.importers.ucdp_ged.run import import_ucdp_ged

            def die(_):
                pid = os.getpid()
                print(Path(f"/proc/{{pid}}/task/{{pid}}/children").read_text().strip(), flush=True)
                os.kill(pid, signal.SIGKILL)

            import_ucdp_ged({str(SAMPLE)!r}, session_factory(write=True), batch_size=100, progress=die)
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(WORKTREE)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    parsers = [int(p) for p in done.stdout.split()]
    assert len(parsers) == 1, done.stdout
    deadline = time.monotonic() + 30
    while not has_exited(parsers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert has_exited(parsers[0])

"""`conflict-events import ucdp-ged` killed with SIGKILL half-way, as the command (not a function
in the test's process), on both databases: the store holds whole batches only — the first N
events of the file for a multiple N of the batch size, each with every actor link, citation,
document, source and actor an uninterrupted import gives it — the feed describes exactly the
stored rows, and a rerun ends in the same store as a clean import into a fresh database.

tests/importers/test_ucdp_ged_worker.py kills the parser process, and the importer at its first
batch to see the parser go; this kills the importer itself while it commits batches.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.conftest import FreshDatabase
from tests.faults.support import (
    WORKTREE,
    assert_feed_matches_store,
    child_env,
    count_rows,
    engine_for,
    store_by_refs,
    wait_until,
)

ROWS, BATCH = 4000, 200
KILL_AFTER_BATCHES = 4  # the import is killed once this many have committed (of 20)
GENERATOR = WORKTREE / "benchmarks" / "generate_ged.py"


@pytest.fixture(scope="module")
def ged_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 rows derived from the shipped sample (benchmarks/generate_ged.py)."""
    spec = importlib.util.spec_from_file_location("generate_ged", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[[int, Path], None] = module.generate
    path = tmp_path_factory.mktemp("ged") / "ged-4k.csv"
    generate(ROWS, path)
    return path


def import_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "app.cli", "import", "ucdp-ged", str(path), "--batch-size", str(BATCH)]


def run_import(url: str, path: Path) -> None:
    done = subprocess.run(
        import_command(path), env=child_env(url), cwd=WORKTREE, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"rows read {ROWS}, events imported {ROWS}, skipped 0" in done.stdout, done.stdout


def event_count(url: str) -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql('SELECT count(*) FROM "event"').scalar_one())
    finally:
        engine.dispose()


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def wait_for_no_other_backends(url: str) -> None:
    """On PostgreSQL a killed client's backend may still be finishing: count only once it has
    gone, so nothing it does afterwards could change what is counted."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = engine_for(url)

    def alone() -> bool:
        with engine.connect() as conn:
            others = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": parsed.database},
            ).scalar_one()
        return int(others) == 0

    try:
        wait_until(alone, 60, "the killed importer's database session to end", interval=0.1)
    finally:
        engine.dispose()


def file_event_refs(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [f"ucdp-ged:{row['id']}" for row in csv.DictReader(handle)]


def field(row: tuple[tuple[str, object], ...], name: str) -> object:
    return dict(row)[name]


def test_a_sigkilled_import_leaves_whole_batches_and_a_rerun_completes_it(
    fresh_database: FreshDatabase, ged_file: Path
) -> None:
    clean_url = fresh_database("import_clean")
    run_import(clean_url, ged_file)
    clean = store_by_refs(clean_url)

    url = fresh_database("import_killed")
    process = subprocess.Popen(
        import_command(ged_file),
        env=child_env(url),
        cwd=WORKTREE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parsers: list[int] = []
    try:
        wait_until(
            lambda: event_count(url) >= KILL_AFTER_BATCHES * BATCH or process.poll() is not None,
            120,
            f"{KILL_AFTER_BATCHES} batches to commit",
        )
        parsers = children_of(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL, "the import finished before it was killed"
        # the parser notices its reader is gone and exits by itself
        wait_until(lambda: all(gone(pid) for pid in parsers), 30, "the parser process to exit")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for pid in parsers:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
    wait_for_no_other_backends(url)

    # whole batches only: the first N events of the file, N a multiple of the batch size
    events = event_count(url)
    assert events % BATCH == 0 and KILL_AFTER_BATCHES * BATCH <= events < ROWS, events
    partial = store_by_refs(url)
    stored_events = {field(row, "ref") for row in partial["event"]}
    assert stored_events == set(file_event_refs(ged_file)[:events])
    # ... each exactly as the clean import stored it, with all of its links and citations
    for table, key in (("event", "ref"), ("event_actor", "event_id"), ("citation", "event_id")):
        expected = {row: n for row, n in clean[table].items() if field(row, key) in stored_events}
        assert dict(partial[table]) == expected, table
    # ... and what they refer to (documents, sources, actors) as the clean import has it
    for table in ("document", "source", "actor", "actor_alias"):
        assert not partial[table] - clean[table], table
    cited = {field(row, "document_id") for row in partial["citation"]}
    assert {field(row, "ref") for row in partial["document"]} >= cited
    assert_feed_matches_store(url)

    run_import(url, ged_file)
    assert store_by_refs(url) == clean
    assert count_rows(url)["event"] == ROWS
    assert_feed_matches_store(url)
    # history: one `create` per event, killed batches left none behind
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(
                sa.text("SELECT count(*), count(DISTINCT row_id) FROM history WHERE resource = 'events'")
            ).one()
            mirrored = conn.scalar(sa.text("SELECT count(*) FROM event_history"))
    finally:
        engine.dispose()
    assert tuple(versions) == (ROWS, ROWS) and mirrored == ROWS

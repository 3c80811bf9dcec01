"""What the fault tests share: the throwaway PostgreSQL cluster, a real server process, and
comparisons of a whole store by refs (ids and timestamps differ between two equal imports).

Everything here runs the service as it runs in production, in processes of its own, so that it
can be killed; every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

import app.tables  # noqa: F401  (registers every table on the metadata)
from app.auth.keys import create_key
from app.core.enums import KeyScope
from app.db.base import metadata
from app.db.session import make_engine, transaction

WORKTREE = Path(__file__).resolve().parents[2]
TEMPLATE_DB = "faults_template"
# the resources of the change feed and their tables
RESOURCE_TABLES = {
    "sources": "source",
    "documents": "document",
    "actors": "actor",
    "events": "event",
    "statements": "statement",
}
# what the service writes for itself: not part of what a dataset describes
# History records how the store got where it is (instants, ids drawn); the store is compared
# without it, and the import test checks its versions on their own.
HISTORY_TABLES = {"history", "history_start", *(f"{t.name}_history" for t in metadata.sorted_tables)}
# Not dataset tables; the stored event forms derive from the dataset (app.kit.stored) and are
# rebuilt in the background, so two stores of the same data may hold different ones.
SKIPPED_TABLES = {
    "change",
    "api_key",
    "rate_limit_window",
    "alembic_version",
    "stored_event_form",
    "pending_event_form",
    *HISTORY_TABLES,
}
VOLATILE_COLUMNS = {"created_at", "updated_at"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- the throwaway cluster -------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCluster:
    """The cluster behind FAULT_DATABASE_URL, found by its port in `pg_lsclusters`."""

    url: str
    version: str
    name: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> FaultCluster:
        parsed = sa.make_url(url)
        port = parsed.port or 5432
        assert parsed.host in ("127.0.0.1", "localhost"), f"FAULT_DATABASE_URL must be local: {url}"
        listed = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        for line in listed.splitlines():
            version, name, cluster_port, *_ = line.split()
            if int(cluster_port) == port:
                # the tests restart and kill this cluster: never the one everything else uses
                assert name != "main" and port != 5432, f"{version}/{name} is not a throwaway cluster"
                return cls(url, version, name, port)
        raise AssertionError(f"no PostgreSQL cluster listens on port {port} (run .ci/fault-cluster)")

    def ctl(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"pg_ctlcluster {' '.join(args)}: {done.stdout}{done.stderr}"

    def is_ready(self) -> bool:
        done = subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], timeout=30, check=False
        )
        return done.returncode == 0

    def ensure_running(self) -> None:
        """Whatever a failed test left: the cluster up and accepting connections."""
        if not self.is_ready():
            status = subprocess.run(
                ["pg_lsclusters", "--no-header", self.version, self.name],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout
            if "online" not in status:
                self.ctl("start")
            wait_until(self.is_ready, 60, "the fault cluster to accept connections", interval=0.2)

    def restart(self, mode: str) -> None:
        self.ctl("restart", "-m", mode)
        wait_until(self.is_ready, 60, "the fault cluster to accept connections", interval=0.1)

    def url_of(self, database: str) -> str:
        return sa.make_url(self.url).set(database=database).render_as_string(hide_password=False)

    def admin(self) -> sa.Engine:
        return sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def create_template(self) -> None:
        """A migrated database the tests' fresh databases are copied from."""
        from app.db.migrations import upgrade

        self.drop(TEMPLATE_DB)
        with self.admin().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{TEMPLATE_DB}"')
        engine = make_engine(self.url_of(TEMPLATE_DB))
        upgrade(engine)
        engine.dispose()

    def drop(self, database: str) -> None:
        with self.admin().connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def fresh(self, database: str) -> str:
        """An empty migrated database (dropped first if a run before left it)."""
        self.drop(database)
        with self.admin().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE_DB}"')
        return self.url_of(database)


def fresh_sqlite(template: Path, folder: Path, name: str) -> str:
    path = folder / f"{name}.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def engine_for(url: str) -> sa.Engine:
    """An engine for checking a store from outside the service (dispose it after use)."""
    return make_engine(url)


def write_key(url: str) -> str:
    engine = engine_for(url)
    try:
        with transaction(engine) as session:
            return create_key(session, "fault-writer", KeyScope.write)
    finally:
        engine.dispose()


# --- processes ---------------------------------------------------------------------------------


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TEST_DATABASE_URL", "FAULT_DATABASE_URL", "RATE_LIMIT_STORE", "REDIS_URL"}
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(WORKTREE),
            "RATE_LIMIT_PER_MINUTE": "0",
            "AUTH_FAILURES_PER_MINUTE": "0",
        }
    )
    env.update(extra)
    return env


class Server:
    """`python -m app.cli serve` on a free port (one worker: the process that answers is the one
    a SIGKILL kills); its output goes to a log file the assertions quote."""

    def __init__(self, database_url: str, log: Path, **env: str) -> None:
        self.env = child_env(database_url, **env)
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=self.env,
                cwd=WORKTREE,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, self.tail()
            try:
                return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, "the server to start", interval=0.1)
        return self

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "server log:\n" + "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- the store, compared by refs ------------------------------------------------------------------


def _refs(conn: sa.Connection, table: str) -> dict[int, str]:
    return dict(conn.execute(sa.text(f'SELECT id, ref FROM "{table}"')).tuples().all())


def store_by_refs(url: str) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every row of every dataset table, with ids replaced by the refs they point at and
    timestamps left out: two stores holding the same data compare equal whatever their ids."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            refs = {name: _refs(conn, name) for name in RESOURCE_TABLES.values()}
            snapshot: dict[str, Counter[tuple[Any, ...]]] = {}
            for table in metadata.sorted_tables:
                if table.name in SKIPPED_TABLES:
                    continue
                columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
                rows: Counter[tuple[Any, ...]] = Counter()
                for row in conn.execute(sa.select(*columns)):
                    values: list[tuple[str, Any]] = []
                    for column, value in zip(columns, row, strict=True):
                        if column.foreign_keys:
                            target = next(iter(column.foreign_keys)).column.table.name
                            values.append((column.name, None if value is None else refs[target][value]))
                        elif column.name == "id" and table.name in refs:
                            values.append(("ref", refs[table.name][value]))
                        elif column.name != "id":
                            values.append((column.name, value))
                    rows[tuple(values)] += 1
                snapshot[table.name] = rows
            return snapshot
    finally:
        engine.dispose()


def count_rows(url: str) -> dict[str, int]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for table in metadata.sorted_tables
                if table.name not in {"rate_limit_window", "alembic_version"}
            }
    finally:
        engine.dispose()


def feed(url: str) -> list[tuple[int, str, int, str]]:
    """The change table in seq order: (seq, resource, row id, op)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return [
                (int(seq), str(resource), int(row_id), str(op))
                for seq, resource, row_id, op in conn.execute(
                    sa.text('SELECT seq, resource, row_id, op FROM "change" ORDER BY seq')
                )
            ]
    finally:
        engine.dispose()


def live_rows(url: str) -> set[tuple[str, int]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                (resource, int(row_id))
                for resource, table in RESOURCE_TABLES.items()
                for (row_id,) in conn.execute(sa.text(f'SELECT id FROM "{table}"'))
            }
    finally:
        engine.dispose()


def mirror_of(changes: Iterable[tuple[int, str, int, str]]) -> set[tuple[str, int]]:
    """The rows a consumer that applied the feed in order believes exist."""
    last: dict[tuple[str, int], str] = {}
    for _, resource, row_id, op in changes:
        last[(resource, row_id)] = op
    return {key for key, op in last.items() if op == "upsert"}


def assert_feed_matches_store(url: str) -> None:
    """A mirror rebuilt from the whole feed holds exactly the stored rows, and no seq repeats."""
    changes = feed(url)
    seqs = [seq for seq, *_ in changes]
    assert len(seqs) == len(set(seqs))
    assert mirror_of(changes) == live_rows(url)

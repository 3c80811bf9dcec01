"""Every test runs on SQLite and, when TEST_DATABASE_URL is set, again on PostgreSQL.

Each test gets an empty, migrated database: on SQLite a copy of a freshly migrated template file,
on PostgreSQL the test database truncated back to empty. Schemas come from Alembic only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.db import replicas
from app.db import session as db_session
from app.db.base import metadata
from app.db.migrations import upgrade
from app.kit.answers import clear_answer_caches


def per_worker(url: str | None) -> str | None:
    """Under pytest-xdist (`make test` runs two workers) each worker has a database of its own on
    the same server: `test` becomes `test_gw0`, `test_gw1`, … (the replica has them too)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = sa.make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


PG_URL = per_worker(os.environ.get("TEST_DATABASE_URL"))
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def _reset_caches() -> None:
    replicas.reset_router()
    get_settings.cache_clear()
    db_session.get_engine.cache_clear()
    clear_answer_caches()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db_session.make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """Drop whatever the test database holds and migrate it once for the session."""
    assert PG_URL
    database = sa.make_url(PG_URL).database
    admin = sa.create_engine(sa.make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database})
        if exists.first() is None:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin.dispose()
    engine = db_session.make_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    engine.dispose()
    return PG_URL


def _truncate_pg(url: str) -> None:
    engine = db_session.get_engine()
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """An empty migrated database; the app's settings and engine point at it."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_migrated")
    monkeypatch.setenv("DATABASE_URL", url)
    for name in (
        "READS_REQUIRE_KEY",
        "CORS_ORIGINS",
        "CACHE_MAX_AGE",
        "MAX_BODY_BYTES",
        "LOG_FORMAT",
        "RATE_LIMIT_STORE",
        "REDIS_URL",
        "FORWARDED_ALLOW_IPS",
        "PUBLIC_URL",
        "ALLOWED_HOSTS",
        "BODY_TIMEOUT",
        "HTTP_IMPLEMENTATION",
        "LIMIT_CONCURRENCY",
        "TIMEOUT_KEEP_ALIVE",
        "H11_MAX_INCOMPLETE_EVENT_SIZE",
        "DATABASE_READ_URL",
        "MAX_REPLICA_LAG",
        "REPLICA_CHECK_INTERVAL",
        "DATABASE_LISTEN_URL",
        "FEED_WAIT_MAX",
        "FEED_STREAM_MAX",
        "FEED_POLL_INTERVAL",
        "STORED_FORMS_INTERVAL",
        "STORED_FORMS_DELAY",
    ):
        monkeypatch.delenv(name, raising=False)
    # one TestClient address makes every request of the suite: the rate-limit tests turn the
    # limits on for themselves
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("AUTH_FAILURES_PER_MINUTE", "0")
    _reset_caches()
    if request.param == "postgresql":
        _truncate_pg(url)
    yield url
    db_session.get_engine().dispose()
    _reset_caches()


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    return db_session.get_engine()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def locked_client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client on an app whose reads need a key."""
    from app.main import create_app

    monkeypatch.setenv("READS_REQUIRE_KEY", "true")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client
    get_settings.cache_clear()


@pytest.fixture
def load(database_url: str) -> Callable[[dict[str, Any]], dict[str, dict[str, int]]]:
    """Load a dataset dict through the loader, in one committed transaction."""
    from app.datasets.loader import load_dataset

    def _load(dataset: dict[str, Any]) -> dict[str, dict[str, int]]:
        with db_session.transaction() as session:
            return load_dataset(session, dataset)

    return _load


@pytest.fixture
def make_key(database_url: str) -> Callable[[str, str], str]:
    from app.auth.keys import create_key
    from app.core.enums import KeyScope

    def _make(name: str = "tester", scope: str = "write") -> str:
        with db_session.transaction() as session:
            return create_key(session, name, KeyScope(scope))

    return _make


@pytest.fixture
def auth(make_key: Callable[[str, str], str]) -> dict[str, str]:
    """Headers with a write key."""
    return {"Authorization": f"Bearer {make_key('writer', 'write')}"}


@pytest.fixture
def demo(load: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    from app.datasets.demo import demo_dataset

    dataset = demo_dataset()
    load(dataset)
    return dataset


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `pytest -n 2` a file runs whole on one worker, so its module fixtures (a built
    wheel, a browser, a live server) are made once; the fault tests, which restart one shared
    cluster, run together on one worker. (A scheduler of our own: xdist's `loadgroup` marks do
    not reach the scheduler under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/faults" if path.startswith("tests/faults/") else path

    return FileScheduling(config, log)


def pytest_report_header() -> str:
    return f"databases: {', '.join(BACKENDS)}"


# --- tests that may not skip in CI ------------------------------------------------------------

# (test file prefix, the variable that says the thing they need is there, the reason a skip
# must give to count — None: any): with the variable set, as .ci/run sets them, such a skip is a
# failure, so a green run means they ran. The browser tests count only their skips for want of
# Chromium or Playwright ("no browser:"); their other skips, such as a demo-only check on the
# UCDP data, are by design.
REQUIRED: list[tuple[str, str, str | None]] = [
    ("tests/faults/", "FAULT_DATABASE_URL", None),
    ("tests/db/test_replicas.py", "TEST_REPLICA_URL", None),
    ("tests/db/test_pgbouncer.py", "REQUIRE_PGBOUNCER", None),
    ("tests/feed/test_relay.py", "REQUIRE_BROKERS", None),
    ("tests/explorer/test_browser.py", "BROWSER_TESTS", "no browser:"),
]
_required_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if any(
        report.nodeid.startswith(prefix) and os.environ.get(variable) and (why is None or why in reason)
        for prefix, variable, why in REQUIRED
    ):
        _required_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With FAULT_DATABASE_URL set (as .ci/run sets it) a skipped fault test is a failure: the
    cluster was meant to be there, and a green run must mean the fault tests ran; likewise the
    replica, pooler, broker and browser tests with their variables (REQUIRED)."""
    if _required_skips:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"{len(_required_skips)} tests skipped whose requirement is set: {_required_skips}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

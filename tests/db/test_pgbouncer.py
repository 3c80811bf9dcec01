"""The service behind PgBouncer (the Debian package) in transaction pooling mode, in front of
the test database: prepared statements off (DATABASE_POOLER=transaction), the change feed's
transaction-scoped advisory lock keeping seqs in commit order across pooled connections, the
rate limits' database store, and the long-poll woken through DATABASE_LISTEN_URL.

PostgreSQL only; they skip, saying so, without TEST_DATABASE_URL or the pgbouncer binary, and
with REQUIRE_PGBOUNCER set (.ci/run) a skip fails the run (tests/conftest.py)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db.session import make_engine, transaction
from app.feed.changes import record_change
from tests.conftest import PG_URL, _reset_caches, _truncate_pg
from tests.faults.support import feed
from tests.servers import free_port

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)
pytestmark = pytest.mark.skipif(
    not (PG_URL and PGBOUNCER), reason="needs TEST_DATABASE_URL and pgbouncer (apt-get install pgbouncer)"
)
POOL_SIZE = 2  # fewer server connections than clients: pooled connections really are shared


@pytest.fixture(scope="module")
def bouncer() -> Iterator[str]:
    """PgBouncer on a free port, transaction pooling, in front of TEST_DATABASE_URL's server;
    the URL of the test database through it."""
    assert PG_URL and PGBOUNCER
    target = sa.make_url(PG_URL)
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    port = free_port()
    (folder / "userlist.txt").write_text(f'"{target.username or "postgres"}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={target.host or "127.0.0.1"} port={target.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""
    )
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        for path in folder.iterdir():
            os.chown(path, user.pw_uid, user.pw_gid)
        folder.chmod(0o755)
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(
                target.set(drivername="postgresql", host="127.0.0.1", port=port).render_as_string(
                    hide_password=False
                ),
                connect_timeout=2,
            ).close()
            break
        except psycopg.OperationalError:
            assert process.poll() is None, (
                f"pgbouncer exited: {process.stderr.read() if process.stderr else ''!r}"
            )
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pooled(bouncer: str, pg_migrated: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app's settings on the pooler (DATABASE_POOLER=transaction, LISTEN straight to the
    server), the test database emptied."""
    assert PG_URL
    monkeypatch.setenv("DATABASE_URL", bouncer)
    monkeypatch.setenv("DATABASE_POOLER", "transaction")
    monkeypatch.setenv("DATABASE_LISTEN_URL", PG_URL)
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("AUTH_FAILURES_PER_MINUTE", "0")
    for name in ("DATABASE_READ_URL", "REDIS_URL", "RATE_LIMIT_STORE"):
        monkeypatch.delenv(name, raising=False)
    _reset_caches()
    _truncate_pg(bouncer)
    yield bouncer
    _reset_caches()


def run_repeatedly(engine: sa.Engine, clients: int = 3, rounds: int = 8) -> list[BaseException]:
    """The same statement, more often than psycopg's prepare threshold (5), from more client
    connections at once than the pool has server connections, each execution its own
    transaction: the pooler hands each one whichever server connection is free."""
    errors: list[BaseException] = []
    connections = [engine.connect() for _ in range(clients)]
    try:
        for number in range(rounds):
            for connection in connections:
                try:
                    connection.execute(sa.text("SELECT count(*) FROM change WHERE seq > :n"), {"n": number})
                    connection.commit()
                except sa.exc.DBAPIError as error:
                    errors.append(error)
                    connection.rollback()
    finally:
        for connection in connections:
            connection.close()
    return errors


def test_prepared_statements_break_behind_the_pooler_unless_turned_off(
    pooled: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_POOLER", "none")
    _reset_caches()
    prepared = make_engine(pooled, pool_pre_ping=False)
    errors = run_repeatedly(prepared)
    prepared.dispose()
    assert errors, "psycopg's prepared statements unexpectedly survived transaction pooling"
    assert any("prepared statement" in str(error) for error in errors)

    monkeypatch.setenv("DATABASE_POOLER", "transaction")
    _reset_caches()
    unprepared = make_engine(pooled, pool_pre_ping=False)
    assert run_repeatedly(unprepared) == []
    unprepared.dispose()


def test_the_api_and_its_feed_behind_the_pooler(pooled: str) -> None:
    """Concurrent writers through the pooler: every answer right, ETags kept, and the feed's
    seqs in commit order with no change lost (the advisory lock is transaction-scoped, so a
    pooled server connection never keeps it)."""
    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        from app.auth.keys import create_key
        from app.core.enums import KeyScope

        with transaction() as session:
            auth = {"Authorization": f"Bearer {create_key(session, 'pooled', KeyScope.write)}"}
        failures: list[str] = []

        def writer(number: int) -> None:
            for serial in range(15):
                body = {"ref": f"p{number}-{serial}", "name": f"Pooled {number}-{serial}", "kind": "ngo"}
                created = client.post("/v1/sources", json=body, headers=auth)
                if created.status_code != 201:
                    failures.append(created.text)
                    return
                etag = created.headers["ETag"]
                renamed = client.patch(
                    f"/v1/sources/{created.json()['id']}",
                    json={"name": f"Pooled {number}-{serial} ✓"},
                    headers={**auth, "If-Match": etag},
                )
                if renamed.status_code != 200:
                    failures.append(renamed.text)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        changes = client.get("/v1/changes", params={"limit": 1000}).json()["items"]
        assert len(changes) == 2 * 4 * 15  # a creation and a rename per row
        seqs = [c["seq"] for c in changes]
        assert seqs == sorted(seqs) == [seq for seq, *_ in feed(PG_URL or "")]
        listed = client.get("/v1/sources", params={"limit": 100}).json()["items"]
        assert len(listed) == 60 and all(item["name"].endswith("✓") for item in listed)


def test_long_poll_behind_the_pooler_is_woken_through_the_listen_url(pooled: str) -> None:
    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:

        def write() -> None:
            time.sleep(0.5)
            with transaction() as session:
                record_change(session, "actors", 1, "pooled", "upsert")

        thread = threading.Thread(target=write)
        thread.start()
        started = time.monotonic()
        answer = client.get("/v1/changes", params={"after": 0, "wait": 20})
        elapsed = time.monotonic() - started
        thread.join()
        assert [c["ref"] for c in answer.json()["items"]] == ["pooled"]
        assert elapsed < 3, elapsed  # NOTIFY, not the 5 s recheck


def test_rate_limits_counted_in_the_database_behind_the_pooler(
    pooled: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "5")
    monkeypatch.setenv("RATE_LIMIT_STORE", "database")
    _reset_caches()
    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        statuses = [client.get("/v1/sources").status_code for _ in range(12)]
    # 12 requests span at most two windows, one of them holding 6 or more: over the limit of 5
    assert set(statuses) == {200, 429} and statuses[:5] == [200] * 5, statuses

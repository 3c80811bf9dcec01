"""Read replicas against a real streaming replica (.ci/replica-cluster: 127.0.0.1:5433): reads
go to it, a consistency token reads its own write, a lagging (replay paused) or stopped replica
is skipped, and /readyz and /metrics say so.

PostgreSQL only: they need TEST_DATABASE_URL and TEST_REPLICA_URL (the same database on the
replica); without them they skip, saying so, and with TEST_REPLICA_URL set a skip fails the run
(tests/conftest.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db import replicas
from tests.conftest import PG_URL, _reset_caches, _truncate_pg, per_worker
from tests.faults.support import FaultCluster

REPLICA_URL = per_worker(os.environ.get("TEST_REPLICA_URL"))
pytestmark = pytest.mark.skipif(
    not (PG_URL and REPLICA_URL),
    reason="needs TEST_DATABASE_URL and TEST_REPLICA_URL (a streaming replica: .ci/replica-cluster)",
)
TOKEN = "X-Consistency-Token"


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


class Replica:
    """The replica cluster, driven from outside the service."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        parsed = sa.make_url(url)
        port = parsed.port or 5432
        listed = [line.split() for line in os.popen("pg_lsclusters --no-header").read().splitlines()]
        version, name = next((v, n) for v, n, p, *_ in listed if int(p) == port)
        assert name != "main" and port != 5432, "the replica tests stop this cluster: never the primary"
        self.cluster = FaultCluster(url, version, name, port)

    def sql(self, text: str) -> Any:
        with self.engine.connect() as connection:
            return connection.scalar(sa.text(text))

    def pause(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")
        wait_until(lambda: self.sql("SELECT pg_get_wal_replay_pause_state()") == "paused", 30, "paused")

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def restartpoint(self) -> None:
        """A restartpoint close to the primary's present, so that a restart replays seconds of
        WAL: a standby restarts from its last one, and under the suite's load (a database
        created and dropped by other tests) replaying minutes of WAL outlasts pg_ctl's wait."""
        assert PG_URL
        primary = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with primary.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
            target = connection.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar()
        primary.dispose()
        wait_until(
            lambda: bool(self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")),
            60,
            "the replica to replay the primary's checkpoint",
        )
        with self.engine.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")


@pytest.fixture
def replica() -> Iterator[Replica]:
    assert REPLICA_URL
    handle = Replica(REPLICA_URL)
    handle.cluster.ensure_running()
    handle.resume()
    yield handle
    handle.cluster.ensure_running()  # whatever the test did to it
    handle.resume()
    handle.engine.dispose()


def replicated_client(monkeypatch: pytest.MonkeyPatch, max_lag: float) -> TestClient:
    assert PG_URL and REPLICA_URL
    assert sa.make_url(PG_URL).database == sa.make_url(REPLICA_URL).database, "not the same database"
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.setenv("DATABASE_READ_URL", REPLICA_URL)
    monkeypatch.setenv("MAX_REPLICA_LAG", str(max_lag))
    monkeypatch.setenv("REPLICA_CHECK_INTERVAL", "0.2")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("AUTH_FAILURES_PER_MINUTE", "0")
    _reset_caches()
    _truncate_pg(PG_URL)
    from app.main import create_app

    return TestClient(create_app(), raise_server_exceptions=False)


@pytest.fixture
def client_factory(
    pg_migrated: str, replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[float], TestClient]]:
    clients: list[TestClient] = []

    def make(max_lag: float) -> TestClient:
        client = replicated_client(monkeypatch, max_lag)
        clients.append(client)
        client.__enter__()
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    _reset_caches()


def states(client: TestClient) -> list[str]:
    return [entry["state"] for entry in client.get("/readyz").json()["replicas"]]


def replica_up(metrics: str) -> str:
    return next(line for line in metrics.splitlines() if line.startswith("conflict_events_db_replica_up{"))


def write_key() -> dict[str, str]:
    from app.auth.keys import create_key
    from app.core.enums import KeyScope
    from app.db.session import transaction

    with transaction() as session:
        return {"Authorization": f"Bearer {create_key(session, 'replica-writer', KeyScope.write)}"}


def create_source(client: TestClient, auth: dict[str, str], ref: str) -> tuple[int, str]:
    answer = client.post("/v1/sources", json={"ref": ref, "name": ref, "kind": "news_outlet"}, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], answer.headers[TOKEN]


def test_reads_go_to_the_replica_and_a_token_reads_its_own_write(
    client_factory: Callable[[float], TestClient], replica: Replica
) -> None:
    client = client_factory(60)
    auth = write_key()
    wait_until(lambda: states(client) == ["up"], 30, "the replica to be up")
    first, _ = create_source(client, auth, "before-the-pause")
    wait_until(lambda: client.get(f"/v1/sources/{first}").status_code == 200, 30, "the replica to replay")

    replica.pause()
    row_id, token = create_source(client, auth, "während-der-pause")
    assert replicas.parse_lsn(token) is not None
    # the replica answers without the token: it has not replayed the write
    assert client.get(f"/v1/sources/{row_id}").status_code == 404
    feed = client.get("/v1/changes").json()["items"]
    assert [c["ref"] for c in feed] == ["before-the-pause"]  # a prefix of the feed, no gap
    # with it, only a database that has replayed that far answers: here the primary
    mine = client.get(f"/v1/sources/{row_id}", headers={TOKEN: token})
    assert mine.status_code == 200 and mine.json()["name"] == "während-der-pause"
    listed = client.get("/v1/sources", headers={TOKEN: token}).json()["items"]
    assert {item["ref"] for item in listed} == {"before-the-pause", "während-der-pause"}
    assert [c["ref"] for c in client.get("/v1/changes", headers={TOKEN: token}).json()["items"]] == [
        "before-the-pause",
        "während-der-pause",
    ]

    replica.resume()
    wait_until(lambda: client.get(f"/v1/sources/{row_id}").status_code == 200, 30, "the replay")
    # caught up: the token's reads go to the replica again
    router = replicas.get_router()
    assert router.engine_for_read(replicas.parse_lsn(token)) is router.replicas[0].engine


def test_a_malformed_token_is_a_400(client_factory: Callable[[float], TestClient]) -> None:
    client = client_factory(60)
    answer = client.get("/v1/sources", headers={TOKEN: "yesterday"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert TOKEN in answer.json()["detail"]


def test_a_lagging_replica_is_skipped_and_reported(
    client_factory: Callable[[float], TestClient], replica: Replica
) -> None:
    client = client_factory(1)
    auth = write_key()
    wait_until(lambda: states(client) == ["up"], 30, "the replica to be up")
    replica.pause()
    row_id, _ = create_source(client, auth, "lagging")
    wait_until(lambda: states(client) == ["lagging"], 30, "the replica to count as lagging")
    entry = client.get("/readyz").json()["replicas"][0]
    assert entry["lag_seconds"] > 1
    metrics = client.get("/metrics").text
    assert 'conflict_events_db_replica_up{database="127.0.0.1:5433/' in metrics
    assert replica_up(metrics).endswith(" 0.0")
    assert "conflict_events_db_replica_lag_seconds{" in metrics
    # reads fall back to the primary, which has the write
    assert client.get(f"/v1/sources/{row_id}").status_code == 200
    replica.resume()
    wait_until(lambda: states(client) == ["up"], 30, "the replica to be up again")
    assert replica_up(client.get("/metrics").text).endswith(" 1.0")


def test_a_stopped_replica_is_skipped_and_reads_go_on(
    client_factory: Callable[[float], TestClient], replica: Replica
) -> None:
    client = client_factory(60)
    auth = write_key()
    wait_until(lambda: states(client) == ["up"], 30, "the replica to be up")
    replica.restartpoint()
    replica.cluster.ctl("stop", "-m", "fast")
    try:
        statuses = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            statuses.append(client.get("/v1/sources").status_code)
        # a read in flight when the replica went may fail (503, problem+json); the replica is
        # then marked down at once, so every later read succeeds on the primary
        assert set(statuses) <= {200, 503}
        assert statuses[-20:] == [200] * 20
        assert statuses.count(503) <= 2, statuses.count(503)
        assert states(client) == ["down"]
        row_id, _ = create_source(client, auth, "while-down")
        assert client.get(f"/v1/sources/{row_id}").status_code == 200
    finally:
        replica.cluster.ctl("start")
    wait_until(lambda: states(client) == ["up"], 60, "the replica to be up again")

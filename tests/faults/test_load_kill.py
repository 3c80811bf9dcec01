"""The server killed with SIGKILL while it writes a large `POST /v1/load` (about 8 MB, thousands
of records), on both databases: the body has arrived and the loader's transaction has begun
writing when the process dies, and afterwards nothing of the file is in the store — row counts
and the feed as before — and a restarted server loads the same file completely.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from tests import factories as f
from tests.faults.conftest import FreshDatabase
from tests.faults.support import (
    Server,
    assert_feed_matches_store,
    count_rows,
    engine_for,
    feed,
    wait_until,
    write_key,
)

SOURCES, DOCUMENTS, ACTORS, EVENTS, STATEMENTS = 100, 3000, 400, 5000, 2000
NOTE = "A paragraph of notes that makes the file as large as a real one. " * 8


def big_dataset() -> dict[str, Any]:
    records: list[f.Record] = []
    records += [f.source(f"s{i}", description=NOTE) for i in range(SOURCES)]
    records += [
        f.document(f"d{i}", f"s{i % SOURCES}", url=f"https://example.org/{i}") for i in range(DOCUMENTS)
    ]
    records += [f.actor(f"a{i}", aliases=[f"A-{i}"], description=NOTE) for i in range(ACTORS)]
    records += [
        f.event(
            f"e{i}",
            start=f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}",
            actors=[f.link(f"a{i % ACTORS}", "side_a"), f.link(f"a{(i + 7) % ACTORS}", "side_b")],
            citations=[f.cite(f"d{i % DOCUMENTS}", 2, excerpt=NOTE), f.cite(f"d{(i + 1) % DOCUMENTS}")],
            description=NOTE,
        )
        for i in range(EVENTS)
    ]
    records += [
        f.statement(f"st{i}", f"a{i % ACTORS}", event=f"e{i % EVENTS}", text=NOTE) for i in range(STATEMENTS)
    ]
    return f.dataset(*records)


@pytest.fixture(scope="module")
def body() -> bytes:
    data = orjson.dumps(big_dataset())
    assert len(data) > 5_000_000, len(data)
    return data


def seed() -> dict[str, Any]:
    """What the store holds before the large file: a few rows and their changes."""
    return f.dataset(f.source("seed-s"), f.actor("seed-a"), f.event("seed-e", actors=[f.link("seed-a")]))


def sqlite_write_lock_held(path: str) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        assert "locked" in str(error), error
        return True
    finally:
        probe.close()


def pg_backends(url: str, where: str = "true") -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity"
                        f" WHERE datname = :db AND pid <> pg_backend_pid() AND ({where})"
                    ),
                    {"db": sa.make_url(url).database},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def writing(url: str) -> bool:
    """The loader's transaction has begun writing (and holds what it wrote uncommitted)."""
    if url.startswith("sqlite"):
        return sqlite_write_lock_held(sa.make_url(url).database or "")
    return pg_backends(url, "backend_xid IS NOT NULL") > 0


def test_a_server_killed_during_a_large_load_writes_nothing_of_it(
    fresh_database: FreshDatabase, body: bytes, tmp_path: Path
) -> None:
    url = fresh_database("load_kill")
    headers = {"Authorization": f"Bearer {write_key(url)}", "Content-Type": "application/json"}
    server = Server(url, tmp_path / "server.log").start()
    answers: list[object] = []
    try:
        seeded = httpx.post(
            f"{server.base}/v1/load", content=orjson.dumps(seed()), headers=headers, timeout=30
        )
        assert seeded.status_code == 200, seeded.text
        before, feed_before = count_rows(url), feed(url)

        def send() -> None:
            try:
                answers.append(
                    httpx.post(f"{server.base}/v1/load", content=body, headers=headers, timeout=120)
                )
            except httpx.HTTPError as error:
                answers.append(error)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        wait_until(lambda: writing(url) or bool(answers), 60, "the load's transaction to write")
        time.sleep(0.5)  # well inside a transaction that runs for several seconds
        assert not answers, f"the load finished before the kill: {answers}"
        assert writing(url), "the load's transaction is no longer writing"
        server.kill()
        sender.join(timeout=30)
        assert len(answers) == 1 and isinstance(answers[0], httpx.HTTPError), answers
    finally:
        server.stop()
    if not url.startswith("sqlite"):
        wait_until(lambda: pg_backends(url) == 0, 60, "the killed server's sessions to end", interval=0.1)

    assert count_rows(url) == before
    assert feed(url) == feed_before

    with Server(url, tmp_path / "server-again.log") as again:
        loaded = httpx.post(f"{again.base}/v1/load", content=body, headers=headers, timeout=300)
        assert loaded.status_code == 200, loaded.text + again.tail()
    report = loaded.json()
    expected = {"sources": SOURCES, "documents": DOCUMENTS, "actors": ACTORS, "events": EVENTS}
    expected["statements"] = STATEMENTS
    assert {name: counts["created"] for name, counts in report.items()} == expected
    after = count_rows(url)
    for table, added in (
        ("source", SOURCES),
        ("actor", ACTORS),
        ("event", EVENTS),
        ("statement", STATEMENTS),
    ):
        assert after[table] == before[table] + added, table
    assert after["citation"] == before["citation"] + 2 * EVENTS
    assert after["event_actor"] == before["event_actor"] + 2 * EVENTS
    assert_feed_matches_store(url)

"""The fault tests' databases: SQLite files copied from the suite's migrated template, and
databases on the throwaway cluster behind FAULT_DATABASE_URL (which these tests restart).

Without FAULT_DATABASE_URL the PostgreSQL cases skip, saying so; with it set, a skip fails the
run (tests/conftest.py), so CI cannot pass while quietly not running them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.support import FaultCluster, fresh_sqlite

FAULT_URL = os.environ.get("FAULT_DATABASE_URL")
NO_CLUSTER = "FAULT_DATABASE_URL is not set: no throwaway PostgreSQL cluster (see .ci/fault-cluster)"


@pytest.fixture(scope="session")
def fault_cluster() -> Iterator[FaultCluster]:
    if not FAULT_URL:
        pytest.skip(NO_CLUSTER)
    cluster = FaultCluster.from_url(FAULT_URL)
    cluster.ensure_running()
    cluster.create_template()
    yield cluster
    cluster.ensure_running()


FreshDatabase = Callable[[str], str]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[FreshDatabase]:
    """`fresh(name)`: the URL of a new empty migrated database of this test's backend."""
    made: list[str] = []
    if request.param == "sqlite":
        yield lambda name: fresh_sqlite(sqlite_template, tmp_path, name)
        return
    cluster: FaultCluster = request.getfixturevalue("fault_cluster")

    def fresh(name: str) -> str:
        made.append(name)
        return cluster.fresh(f"faults_{name}")

    yield fresh
    cluster.ensure_running()
    for name in made:
        cluster.drop(f"faults_{name}")

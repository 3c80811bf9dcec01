"""The Alembic migrations are the schema: nothing left to autogenerate, and they run both ways."""

from __future__ import annotations

from pprint import pformat

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import app.tables  # noqa: F401 - registers every table on the metadata
from app.db import session as db_session
from app.db.base import metadata
from app.db.migrations import alembic_config, schema_state


def pending_changes(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "target_metadata": metadata,
                "compare_type": True,
                "compare_server_default": False,
                "render_as_batch": conn.dialect.name == "sqlite",
            },
        )
        return list(compare_metadata(context, metadata))


def test_autogenerate_finds_nothing_pending(engine: sa.Engine) -> None:
    diff = pending_changes(engine)
    assert diff == [], "models and migrations differ:\n" + pformat(diff)


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(database_url: str, engine: sa.Engine) -> None:
    config = alembic_config(database_url)
    expected = {table.name for table in metadata.sorted_tables}
    assert _tables(engine) == expected
    assert schema_state(engine) is None

    engine.dispose()  # no pooled connection holds the tables while they are dropped
    command.downgrade(config, "base")
    engine.dispose()
    assert _tables(engine) == set()
    assert schema_state(engine) is not None

    command.upgrade(config, "head")
    engine.dispose()
    assert _tables(engine) == expected
    assert schema_state(engine) is None
    assert pending_changes(engine) == []

    # the migrated schema works: a demo load goes through
    from app.datasets.demo import load_demo

    report = load_demo(db_session.get_engine())
    assert report["events"]["created"] > 0

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


def test_0008_upgrades_a_database_with_data_in_it(database_url: str, engine: sa.Engine) -> None:
    """Event relations and source aliases (0008) arrive on a database that already holds
    sources, documents and events: the rows stay as they were, the new tables start empty and
    work, and the downgrade takes them away again."""
    config = alembic_config(database_url)
    previous = ScriptDirectory.from_config(config).get_revision("0008").down_revision
    assert isinstance(previous, str)
    engine.dispose()
    command.downgrade(config, previous)
    engine.dispose()
    with engine.begin() as conn:
        assert "event_relation" not in sa.inspect(conn).get_table_names()
        now = "2025-01-01 00:00:00+00:00"
        conn.execute(
            sa.text(
                "INSERT INTO source (id, ref, created_at, updated_at, name, name_key, kind, reliability) "
                "VALUES (1, 'src:reuters', :now, :now, 'Reuters', 'reuters', 'news_agency', 'B')"
            ),
            {"now": now},
        )
        for event_id, title in ((1, "Zapad-2021"), (2, "Zapad-2025")):
            conn.execute(
                sa.text(
                    "INSERT INTO event (id, ref, created_at, updated_at, title, type, start_date, end_date,"
                    " date_precision) VALUES (:id, :ref, :now, :now, :title, 'military_exercise',"
                    " '2021-09-10', '2021-09-16', 'day')"
                ),
                {"id": event_id, "ref": f"ev:{event_id}", "now": now, "title": title},
            )
    command.upgrade(config, "head")
    engine.dispose()
    assert pending_changes(engine) == []

    from app.datasets.loader import load_dataset

    with db_session.transaction() as session:
        report = load_dataset(
            session,
            {
                "sources": [
                    {
                        "ref": "src:reuters",
                        "name": "Reuters",
                        "kind": "news_agency",
                        "reliability": "B",
                        "aliases": ["Reuters News"],
                    }
                ],
                "events": [
                    {
                        "ref": "ev:1",
                        "title": "Zapad-2021",
                        "type": "military_exercise",
                        "start_date": "2021-09-10",
                        "end_date": "2021-09-16",
                    },
                    {
                        "ref": "ev:2",
                        "title": "Zapad-2025",
                        "type": "military_exercise",
                        "start_date": "2021-09-10",
                        "end_date": "2021-09-16",
                        "relations": [{"type": "follows", "event": "ev:1"}],
                    },
                ],
            },
        )
    assert report["sources"]["updated"] == 1 and report["events"] == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT event_id, related_id, type FROM event_relation")).all() == [
            (2, 1, "follows")
        ]
        assert conn.execute(sa.text("SELECT alias FROM source_alias")).scalars().all() == ["Reuters News"]
        assert conn.execute(sa.text("SELECT count(*) FROM event")).scalar_one() == 2

    engine.dispose()
    command.downgrade(config, previous)
    engine.dispose()
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert not {"event_relation", "source_alias"} & tables
        assert conn.execute(sa.text("SELECT count(*) FROM event")).scalar_one() == 2
    command.upgrade(config, "head")
    engine.dispose()

"""Readiness: the database answers and its schema is at the migrations' head."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from app.db.session import get_engine


def alembic_config(database_url: str | None = None) -> Config:
    """The project's Alembic configuration, usable from any working directory."""
    from app import migrations_path

    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@lru_cache
def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def schema_state(engine: Engine) -> str | None:
    """None when ready, else what is wrong."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return "the database has not been migrated"
            current = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.SQLAlchemyError as exc:
        return f"the database is unreachable ({type(exc).__name__})"
    if current != head_revisions():
        return "the database schema is not at the latest migration"
    return None


def upgrade(engine: Engine | None = None) -> None:
    """Apply every migration (Alembic is the only source of the schema)."""
    engine = engine or get_engine()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

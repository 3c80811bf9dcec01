"""The `conflict-events` command: db upgrade, load, demo and keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.actors.model import Actor
from app.cli import cli
from app.core.config import get_settings
from app.db import session as db_session
from app.db.base import metadata
from app.db.migrations import schema_state
from app.events.model import Event
from app.feed.model import Change
from app.sources.model import Source
from app.statements.model import Statement


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def count(engine: sa.Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_db_upgrade_migrates_a_fresh_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db_session.get_engine.cache_clear()
    try:
        result = invoke("db", "upgrade")
        assert result.exit_code == 0, result.output
        engine = db_session.get_engine()
        assert schema_state(engine) is None
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        # a second run is a no-op
        assert invoke("db", "upgrade").exit_code == 0
        engine.dispose()
    finally:
        get_settings.cache_clear()
        db_session.get_engine.cache_clear()


def test_db_upgrade_on_migrated_database(database_url: str, engine: sa.Engine) -> None:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert schema_state(engine) is None


def write(tmp_path: Path, data: Any, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


DATASET = {
    "sources": [{"ref": "src:a", "name": "A", "kind": "ngo"}],
    "actors": [
        {"ref": "act:b", "name": "B", "kind": "person", "parent": "act:a"},
        {"ref": "act:a", "name": "A", "kind": "state"},
    ],
    "events": [
        {
            "ref": "ev:a",
            "title": "E",
            "type": "riot",
            "start_date": "2025-01-01",
            "actors": [{"actor": "act:a", "role": "side_a"}],
        }
    ],
}


def test_load_file(tmp_path: Path, engine: sa.Engine) -> None:
    path = write(tmp_path, DATASET)
    result = invoke("load", str(path))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert lines["actors"][lines["actors"].index("created") + 1] == "2"
    assert lines["events"][lines["events"].index("created") + 1] == "1"
    assert count(engine, Actor) == 2
    changes = count(engine, Change)
    again = invoke("load", str(path))
    assert again.exit_code == 0
    assert "unchanged" in again.stdout
    assert count(engine, Change) == changes
    assert count(engine, Actor) == 2


@pytest.mark.parametrize(
    ("mutate", "ref", "field"),
    [
        (lambda d: d["events"][0].update(type="skirmish"), "ev:a", "type"),
        (lambda d: d["actors"][0].update(parent="act:nope"), "act:b", "parent"),
        (lambda d: d["sources"][0].update(country="XX"), "src:a", "country"),
    ],
)
def test_load_invalid_file_fails_and_loads_nothing(
    tmp_path: Path, engine: sa.Engine, mutate: Any, ref: str, field: str
) -> None:
    data = json.loads(json.dumps(DATASET))
    mutate(data)
    result = invoke("load", str(write(tmp_path, data)))
    assert result.exit_code != 0
    assert ref in result.stderr and field in result.stderr
    assert "nothing was loaded" in result.stderr
    for model in (Source, Actor, Event, Change):
        assert count(engine, model) == 0


def test_load_not_json_or_missing(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{nope", encoding="utf-8")
    result = invoke("load", str(path))
    assert result.exit_code != 0
    assert "JSON" in result.stderr
    assert invoke("load", str(tmp_path / "missing.json")).exit_code != 0
    assert invoke("load", str(write(tmp_path, [1, 2]))).exit_code != 0


def test_demo_twice_is_idempotent(database_url: str, engine: sa.Engine) -> None:
    first = invoke("demo")
    assert first.exit_code == 0, first.output
    counts = {m.__name__: count(engine, m) for m in (Source, Actor, Event, Statement, Change)}
    assert counts["Event"] > 0 and counts["Statement"] > 0
    second = invoke("demo")
    assert second.exit_code == 0, second.output
    assert {m.__name__: count(engine, m) for m in (Source, Actor, Event, Statement, Change)} == counts
    for line in second.stdout.splitlines():
        if line.strip():
            words = line.split()
            assert words[words.index("created") + 1] == "0"
            assert words[words.index("updated") + 1] == "0"


def test_refresh_forms_builds_every_pending_form(database_url: str, engine: sa.Engine) -> None:
    from app.events.read import STORED_EVENTS

    assert invoke("demo").exit_code == 0
    events = count(engine, Event)
    assert count(engine, STORED_EVENTS.pending) == events  # the load left them pending
    result = invoke("db", "refresh-forms")
    assert result.exit_code == 0, result.output
    assert f"stored event forms: {events:,} rebuilt" in result.output
    assert count(engine, STORED_EVENTS.pending) == 0 and count(engine, STORED_EVENTS.table) == events


def test_keys_commands(database_url: str) -> None:
    created = invoke("keys", "create", "ops", "--scope", "write")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key and " " not in key
    listed = invoke("keys", "list")
    assert listed.exit_code == 0
    assert "ops" in listed.stdout and "write" in listed.stdout and key not in listed.stdout
    assert invoke("keys", "revoke", "ops").exit_code == 0
    assert invoke("keys", "revoke", "ops").exit_code == 0  # revoking twice is harmless
    assert invoke("keys", "revoke", "ghost").exit_code != 0
    assert invoke("keys", "create", "ops", "--scope", "read").exit_code != 0


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for name in ("db", "load", "demo", "serve", "keys"):
        assert name in result.stdout

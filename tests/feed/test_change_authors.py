"""Issue 10, audit: every change records who made it — the API key's name, or the command line
as `cli:<command>` — and /v1/changes shows it to write keys only."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col
from typer.testing import CliRunner

from app.cli import cli
from app.feed.model import Change
from tests.factories import assert_problem

Headers = dict[str, str]
MakeKey = Callable[[str, str], str]
SAMPLE = Path(__file__).parents[1] / "data" / "ucdp_ged_sample.csv"


def bearer(key: str) -> Headers:
    return {"Authorization": f"Bearer {key}"}


def authors(engine: sa.Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(col(Change.resource), col(Change.op), col(Change.key_name)).order_by(col(Change.seq))
        )
        return [(row.resource, row.op, row.key_name) for row in rows]


def test_api_writes_record_the_key_name(client: TestClient, make_key: MakeKey, engine: sa.Engine) -> None:
    alice, bob = bearer(make_key("alice", "write")), bearer(make_key("bob", "write"))
    created = client.post("/v1/sources", json={"name": "S", "kind": "ngo"}, headers=alice)
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    assert client.patch(f"/v1/sources/{source_id}", json={"description": "d"}, headers=bob).status_code == 200
    loaded = client.post(
        "/v1/load", json={"actors": [{"ref": "a", "name": "A", "kind": "state"}]}, headers=bob
    )
    assert loaded.status_code == 200, loaded.text
    assert client.delete(f"/v1/sources/{source_id}", headers=alice).status_code == 204
    assert authors(engine) == [
        ("sources", "upsert", "alice"),
        ("sources", "upsert", "bob"),
        ("actors", "upsert", "bob"),
        ("sources", "delete", "alice"),
    ]


def test_only_write_keys_see_the_key(client: TestClient, make_key: MakeKey) -> None:
    write, read = bearer(make_key("ops-writer", "write")), bearer(make_key("dashboard", "read"))
    client.post("/v1/sources", json={"name": "S", "kind": "ngo"}, headers=write)

    public = client.get("/v1/changes")
    assert public.status_code == 200
    assert "key" not in public.json()["items"][0]
    assert "ops-writer" not in public.text
    assert "key" not in client.get("/v1/changes", headers=read).json()["items"][0]

    shown = client.get("/v1/changes", headers=write)
    assert shown.json()["items"][0]["key"] == "ops-writer"
    assert shown.headers["cache-control"] == "no-cache"
    assert "Authorization" in shown.headers["vary"]
    # the answers differ, so do their ETags
    assert shown.headers["etag"] != public.headers["etag"]

    # a key that is sent counts: a wrong one is a 401, not a silent public answer
    unknown = client.get("/v1/changes", headers=bearer("ce_nope"))
    assert_problem(unknown, 401)
    assert unknown.headers["www-authenticate"].startswith("Bearer")


def test_changes_without_an_author_show_null(
    client: TestClient, make_key: MakeKey, load: Callable[[dict[str, Any]], Any]
) -> None:
    load({"sources": [{"ref": "s", "name": "S", "kind": "ngo"}]})
    items = client.get("/v1/changes", headers=bearer(make_key("w", "write"))).json()["items"]
    assert items[0]["key"] is None


def test_the_command_line_records_itself(database_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    dataset = tmp_path / "one.json"
    dataset.write_text(json.dumps({"sources": [{"ref": "s:cli", "name": "By CLI", "kind": "ngo"}]}))
    assert CliRunner().invoke(cli, ["load", str(dataset)]).exit_code == 0
    assert {author for *_, author in authors(engine)} == {"cli:load"}

    assert CliRunner().invoke(cli, ["demo"]).exit_code == 0
    assert {author for *_, author in authors(engine)} == {"cli:load", "cli:demo"}

    before = len(authors(engine))
    sample = shutil.copy(SAMPLE, tmp_path / "ged.csv")
    imported = CliRunner().invoke(cli, ["import", "ucdp-ged", str(sample), "--batch-size", "200"])
    assert imported.exit_code in (0, 1), imported.output  # 1: rows skipped, reported
    added = {author for *_, author in authors(engine)[before:]}
    assert added == {"cli:import"}


def test_key_names_cannot_pass_for_the_command_line(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "cli:load", "--scope", "write"])
    assert result.exit_code == 1
    assert "may not begin with 'cli:'" in result.stderr
    assert "ce_" not in result.stdout


@pytest.mark.parametrize("reads_require_key", [False, True])
def test_feed_with_reads_requiring_a_key(
    database_url: str, make_key: MakeKey, monkeypatch: pytest.MonkeyPatch, reads_require_key: bool
) -> None:
    """The key is looked up once per request, whether the read check already did or not."""
    from app.auth import keys
    from app.core.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("READS_REQUIRE_KEY", str(reads_require_key).lower())
    get_settings.cache_clear()
    write = bearer(make_key("w", "write"))
    calls: list[str] = []
    real = keys.live_key

    def counted(token: str) -> tuple[str, str] | None:
        calls.append(token)
        return real(token)

    monkeypatch.setattr(keys, "live_key", counted)
    with TestClient(create_app()) as client:
        client.post("/v1/sources", json={"name": "S", "kind": "ngo"}, headers=write)
        calls.clear()
        assert client.get("/v1/changes", headers=write).json()["items"][0]["key"] == "w"
    assert len(calls) == 1
    get_settings.cache_clear()

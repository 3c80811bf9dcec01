"""API keys: 401/403 on writes, optional keys on reads, and the `keys` commands."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col
from typer.testing import CliRunner

from app.auth.model import ApiKey
from app.cli import cli
from app.db import session as db_session

SOURCE = {"name": "Forbes", "kind": "news_outlet"}
MakeKey = Callable[[str, str], str]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_401(response: object) -> None:
    assert response.status_code == 401, response.text  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["www-authenticate"].startswith("Bearer")
    assert headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ce_not-a-real-key"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "ce_missing-scheme"},
    ],
)
def test_writes_without_a_valid_key_are_401(client: TestClient, headers: dict[str, str]) -> None:
    assert_401(client.post("/v1/sources", json=SOURCE, headers=headers))
    assert_401(client.patch("/v1/sources/1", json={"name": "x"}, headers=headers))
    assert_401(client.delete("/v1/sources/1", headers=headers))
    assert_401(client.post("/v1/load", json={}, headers=headers))
    assert client.get("/v1/sources").json()["items"] == []


def test_revoked_key_is_401(client: TestClient, make_key: MakeKey) -> None:
    from app.auth.keys import revoke_key

    key = make_key("soon-gone", "write")
    assert client.post("/v1/sources", json=SOURCE, headers=bearer(key)).status_code == 201
    with db_session.transaction() as session:
        revoke_key(session, "soon-gone")
    assert_401(client.post("/v1/sources", json={**SOURCE, "name": "Other"}, headers=bearer(key)))


def test_read_key_on_write_is_403(client: TestClient, make_key: MakeKey) -> None:
    key = make_key("reader", "read")
    response = client.post("/v1/sources", json=SOURCE, headers=bearer(key))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post("/v1/load", json={}, headers=bearer(key)).status_code == 403
    # and a read key reads
    assert client.get("/v1/sources", headers=bearer(key)).status_code == 200


def test_write_key_writes(client: TestClient, auth: dict[str, str]) -> None:
    assert client.post("/v1/sources", json=SOURCE, headers=auth).status_code == 201


def test_reads_are_public_by_default(client: TestClient) -> None:
    for path in ("/v1/sources", "/v1/events", "/v1/changes", "/healthz", "/readyz"):
        assert client.get(path).status_code == 200, path


READ_PATHS = (
    "/v1/sources",
    "/v1/sources/1",
    "/v1/documents",
    "/v1/actors",
    "/v1/events",
    "/v1/statements",
    "/v1/changes",
    "/v1/events/timeline?interval=month",
    "/v1/events/facets?field=type",
)


def test_reads_require_key_when_configured(locked_client: TestClient, make_key: MakeKey) -> None:
    for path in READ_PATHS:
        assert_401(locked_client.get(path))
        assert_401(locked_client.get(path, headers=bearer("ce_wrong")))
    read_key = make_key("reader", "read")
    write_key = make_key("writer", "write")
    for path in READ_PATHS:
        expected = 404 if path == "/v1/sources/1" else 200
        assert locked_client.get(path, headers=bearer(read_key)).status_code == expected, path
        assert locked_client.get(path, headers=bearer(write_key)).status_code == expected, path
    # private caching, since answers depend on the key
    response = locked_client.get("/v1/sources", headers=bearer(read_key))
    assert response.headers["cache-control"].startswith("private")


def test_health_never_needs_a_key(locked_client: TestClient) -> None:
    assert locked_client.get("/healthz").status_code == 200
    assert locked_client.get("/readyz").status_code == 200


# --- the keys commands -------------------------------------------------------------------------


def test_keys_create_list_revoke(client: TestClient, engine: sa.Engine) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "alice", "--scope", "write"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    key = lines[-1]
    assert key.strip() == key and " " not in key and len(key) >= 20
    # works at once
    assert client.post("/v1/sources", json=SOURCE, headers=bearer(key)).status_code == 201

    read = CliRunner().invoke(cli, ["keys", "create", "bob", "--scope", "read"])
    assert read.exit_code == 0
    read_key = read.stdout.strip().splitlines()[-1]
    assert (
        client.post("/v1/sources", json={**SOURCE, "name": "X"}, headers=bearer(read_key)).status_code == 403
    )

    # only the hash is stored
    with engine.connect() as conn:
        stored = conn.execute(sa.select(col(ApiKey.name), col(ApiKey.scope), col(ApiKey.key_hash))).all()
    assert {(r.name, r.scope) for r in stored} == {("alice", "write"), ("bob", "read")}
    for row in stored:
        assert key not in row.key_hash and read_key not in row.key_hash
    from app.auth.keys import hash_key

    assert hash_key(key) in {r.key_hash for r in stored}

    listing = CliRunner().invoke(cli, ["keys", "list"])
    assert listing.exit_code == 0
    assert "alice" in listing.stdout and "bob" in listing.stdout
    assert "write" in listing.stdout and "read" in listing.stdout
    assert key not in listing.stdout and read_key not in listing.stdout
    assert hash_key(key) not in listing.stdout

    # a duplicate name fails without printing a key
    dup = CliRunner().invoke(cli, ["keys", "create", "alice", "--scope", "write"])
    assert dup.exit_code != 0

    revoked = CliRunner().invoke(cli, ["keys", "revoke", "alice"])
    assert revoked.exit_code == 0
    assert_401(client.post("/v1/sources", json={**SOURCE, "name": "Y"}, headers=bearer(key)))
    listing = CliRunner().invoke(cli, ["keys", "list"])
    alice = next(line for line in listing.stdout.splitlines() if line.startswith("alice"))
    bob = next(line for line in listing.stdout.splitlines() if line.startswith("bob"))
    assert alice.rstrip().split()[-1] != "-"  # a revocation date
    assert bob.rstrip().split()[-1] == "-"

    missing = CliRunner().invoke(cli, ["keys", "revoke", "nobody"])
    assert missing.exit_code != 0


def test_keys_create_rejects_unknown_scope(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "carol", "--scope", "admin"])
    assert result.exit_code != 0

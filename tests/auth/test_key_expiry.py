"""Issue 10: `keys create --expires`; an expired key is a 401 "expired API key"; keys are still
compared by hash in constant time."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.auth.keys import create_key, parse_expiry
from app.cli import cli
from app.core.config import get_settings
from app.core.enums import KeyScope
from app.db import session as db_session
from app.db.base import utcnow
from tests.factories import assert_problem

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
SOURCE = {"name": "Forbes", "kind": "news_outlet"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", NOW + timedelta(hours=12)),
        ("90d", NOW + timedelta(days=90)),
        ("2w", NOW + timedelta(weeks=2)),
        ("2027-01-01T00:00:00Z", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-01-01T02:00:00+02:00", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_expiry_is_a_duration_or_a_timestamp(text: str, expected: datetime) -> None:
    assert parse_expiry(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "neither a duration"),
        ("90 days", "neither a duration"),
        ("10m", "neither a duration"),
        ("2027-01-01T00:00:00", "needs a UTC offset"),
        ("2020-01-01T00:00:00Z", "not in the future"),
        ("0d", "not in the future"),
        ("9999-12-31T23:59:59-00:01", "after the year 9999"),
        ("99999999999d", "neither a duration"),
    ],
)
def test_bad_expiries_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_expiry(text, now=NOW)


def make(name: str, scope: str, expires_at: datetime | None) -> dict[str, str]:
    with db_session.transaction() as session:
        key = create_key(session, name, KeyScope(scope), expires_at)
    return {"Authorization": f"Bearer {key}"}


def test_an_expired_key_is_401_expired(client: TestClient) -> None:
    live = make("live", "write", utcnow() + timedelta(days=1))
    expired = make("gone", "write", utcnow() - timedelta(seconds=1))
    assert client.post("/v1/sources", json=SOURCE, headers=live).status_code == 201
    refused = client.post("/v1/sources", json={**SOURCE, "name": "Other"}, headers=expired)
    body = assert_problem(refused, 401)
    assert body["detail"] == "expired API key"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.get("/v1/changes", headers=expired), 401)
    assert [item["name"] for item in client.get("/v1/sources").json()["items"]] == ["Forbes"]


def test_an_expired_key_cannot_read_when_reads_need_a_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.main import create_app

    monkeypatch.setenv("READS_REQUIRE_KEY", "true")
    get_settings.cache_clear()
    expired = make("gone", "read", utcnow() - timedelta(hours=1))
    live = make("live", "read", None)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        assert assert_problem(client.get("/v1/events", headers=expired), 401)["detail"] == "expired API key"
        assert client.get("/v1/events", headers=live).status_code == 200
    get_settings.cache_clear()


def test_keys_create_expires_and_keys_list_shows_it(database_url: str) -> None:
    created = CliRunner().invoke(cli, ["keys", "create", "temp", "--scope", "write", "--expires", "90d"])
    assert created.exit_code == 0, created.output
    assert "expiring 20" in created.stdout
    assert created.stdout.strip().splitlines()[-1].startswith("ce_")
    CliRunner().invoke(cli, ["keys", "create", "forever"])
    with db_session.transaction() as session:
        create_key(session, "old", KeyScope.read, utcnow() - timedelta(days=1))

    listing = CliRunner().invoke(cli, ["keys", "list"]).stdout.splitlines()
    assert "expires" in listing[0]
    lines = {line.split()[0]: line for line in listing[1:]}
    expected = (utcnow() + timedelta(days=90)).date().isoformat()
    assert expected in lines["temp"] and "(expired)" not in lines["temp"]
    assert "(expired)" in lines["old"]
    assert lines["forever"].split()[3] == "-"


def test_keys_create_with_a_bad_expiry_is_a_usage_error(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "x", "--expires", "2020-01-01T00:00:00Z"])
    assert result.exit_code == 2
    assert "not in the future" in result.stderr and "--help" in result.stderr
    assert "ce_" not in result.stdout
    listing = CliRunner().invoke(cli, ["keys", "list"]).stdout.splitlines()
    assert len(listing) == 1  # nothing was created


def test_keys_are_found_by_hash_and_compared_in_constant_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = make("w", "write", None)
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert client.post("/v1/sources", json=SOURCE, headers=headers).status_code == 201
    assert len(compared) == 1 and compared[0][0] == compared[0][1]
    assert len(compared[0][0]) == 64  # SHA-256 hex digests, never the key itself

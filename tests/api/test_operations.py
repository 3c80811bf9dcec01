"""API.md §8: /healthz, /readyz, /openapi.json, /docs, X-Request-ID, and a database that is away."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.db import session as db_session
from tests.factories import assert_problem


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/v1/events", "/v1/statements", "/v1/actors", "/v1/sources", "/v1/documents"):
        assert "get" in paths[path]
        assert f"{path}/{{{path.split('/')[-1][:-1]}_id}}" in paths
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/readyz", 200),
        ("GET", "/v1/events", 200),
        ("GET", "/v1/events/12345", 404),
        ("GET", "/v1/events?limit=0", 422),
        ("GET", "/v1/events?cursor=zz", 400),
        ("GET", "/nope", 404),
        ("GET", "/openapi.json", 200),
        ("POST", "/v1/events", 401),
    ],
)
def test_every_response_carries_a_request_id(client: TestClient, method: str, path: str, status: int) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    generated = response.headers["x-request-id"]
    assert generated
    again = client.request(method, path)
    assert again.headers["x-request-id"] != generated
    echoed = client.request(method, path, headers={"X-Request-ID": "trace-42.abc"})
    assert echoed.headers["x-request-id"] == "trace-42.abc"


def test_request_id_is_exposed_cross_origin(client: TestClient) -> None:
    response = client.get("/v1/events", headers={"Origin": "https://example.org", "X-Request-ID": "r1"})
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


# --- databases that are not ready ------------------------------------------------------------------


@pytest.fixture
def app_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], TestClient]]:
    """A client for an app on a database URL of the test's choosing (SQLite files in tmp)."""
    clients: list[TestClient] = []

    def make(url: str) -> TestClient:
        from app.main import create_app

        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        db_session.get_engine.cache_clear()
        test_client = TestClient(create_app(), raise_server_exceptions=False)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)
    db_session.get_engine().dispose()
    get_settings.cache_clear()
    db_session.get_engine.cache_clear()


def test_readyz_is_503_problem_on_an_unmigrated_database(
    app_on: Callable[[str], TestClient], tmp_path: Path
) -> None:
    client = app_on(f"sqlite:///{tmp_path / 'empty.db'}")
    assert assert_problem(client.get("/readyz"), 503)
    assert client.get("/healthz").status_code == 200


def test_unreachable_database_is_503_and_recovers(
    app_on: Callable[[str], TestClient], tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "db.sqlite"
    path.mkdir()  # a directory where the database file should be: SQLite cannot open it
    client = app_on(f"sqlite:///{path}")
    assert client.get("/healthz").status_code == 200
    for url in ("/readyz", "/v1/events", "/v1/actors/1"):
        response = client.get(url)
        assert_problem(response, 503)
        assert response.headers.get("x-request-id")
    path.rmdir()
    shutil.copyfile(sqlite_template, path)
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/events").json() == {"items": [], "next_cursor": None}


def test_postgres_unreachable_is_503(app_on: Callable[[str], TestClient]) -> None:
    client = app_on("postgresql+psycopg://nobody@127.0.0.1:9/nowhere?connect_timeout=2")
    assert_problem(client.get("/v1/events"), 503)
    assert_problem(client.get("/readyz"), 503)
    assert client.get("/healthz").status_code == 200


def test_unexpected_error_is_500_problem_with_request_id(client: TestClient) -> None:
    app = client.app

    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test-boom", boom)  # type: ignore[attr-defined]
    response = client.get("/test-boom", headers={"X-Request-ID": "boom-1"})
    body = assert_problem(response, 500)
    assert "boom" not in body["detail"]
    assert response.headers.get("x-request-id") == "boom-1"


@pytest.mark.parametrize("sent", ["has spaces", "x" * 500, "semi;colon", "ünïcode"])
def test_unsafe_request_id_is_replaced(client: TestClient, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent.encode()})
    assert response.headers["x-request-id"]
    assert response.headers["x-request-id"] != sent


def test_head_is_get_without_body(client: TestClient) -> None:
    get = client.get("/v1/events")
    head = client.head("/v1/events")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert client.head("/v1/events/999999").status_code == 404

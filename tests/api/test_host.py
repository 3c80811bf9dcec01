"""Issue 10: the Host header never reaches a `Link`, a `Location` or a body; PUBLIC_URL makes
them absolute on the service's public address; ALLOWED_HOSTS refuses other hosts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings, get_settings
from tests.factories import assert_problem

EVIL = "evil.example:666"
Headers = dict[str, str]


def make_client(monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    from app.main import create_app

    return TestClient(create_app(), raise_server_exceptions=False)


@pytest.fixture
def app_with(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def _make(**env: str) -> TestClient:
        client = make_client(monkeypatch, **env)
        clients.append(client.__enter__())
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)
    get_settings.cache_clear()


def two_sources(client: TestClient, auth: Headers, **headers: str) -> list[str]:
    """Create two sources; the Location of each."""
    return [
        client.post("/v1/sources", json={"name": name, "kind": "other"}, headers={**auth, **headers}).headers[
            "location"
        ]
        for name in ("Alpha", "Beta")
    ]


def test_evil_host_appears_in_no_header_and_no_body(client: TestClient, auth: Headers) -> None:
    headers = {"Host": EVIL}
    locations = two_sources(client, auth, **headers)
    answers = [
        client.get("/v1/sources", params={"limit": 1}, headers=headers),
        client.get("/v1/sources/", params={"limit": 1}, headers=headers, follow_redirects=False),
        client.get(locations[0] + "/", headers=headers, follow_redirects=False),
        client.get("/static-offline-docs", headers=headers, follow_redirects=False),
        client.get("/v1/changes", headers={**headers, **auth}),
        client.get("/v1/sources/999", headers=headers),
        client.get("/v1/sources", params={"limit": 0}, headers=headers),
        client.post("/v1/sources", json={"name": "x"}, headers={**auth, **headers}),
        client.get("/openapi.json", headers=headers),
        client.get("/docs", headers=headers),
        client.get("/redoc", headers=headers),
        client.get("/healthz", headers=headers),
        client.get("/readyz", headers=headers),
        client.get("/metrics", headers=headers),
    ]
    assert answers[0].headers["link"].startswith("</v1/sources?limit=1&cursor=")
    assert [answer.status_code for answer in answers[1:4]] == [307, 307, 307]
    assert answers[1].headers["location"] == "/v1/sources?limit=1"
    assert answers[2].headers["location"] == locations[0]
    assert answers[3].headers["location"] == "/static-offline-docs/"
    assert locations == ["/v1/sources/1", "/v1/sources/2"]
    for answer in answers:
        for value in [*answer.headers.values(), answer.text]:
            assert "evil.example" not in value, (answer.request.url, value[:200])


def test_links_are_relative_references_that_work(client: TestClient, auth: Headers) -> None:
    two_sources(client, auth)
    link = client.get("/v1/sources", params={"limit": 1}).headers["link"]
    target = link[1 : link.index(">")]
    assert target.startswith("/v1/sources?limit=1&cursor=") and link.endswith('>; rel="next"')
    assert [item["name"] for item in client.get(target).json()["items"]] == ["Beta"]


def test_public_url_with_a_prefix_makes_links_absolute(
    app_with: Callable[..., TestClient], auth: Headers
) -> None:
    client = app_with(PUBLIC_URL="https://api.example.org/conflicts/")
    locations = two_sources(client, auth, Host=EVIL)
    assert locations == [
        "https://api.example.org/conflicts/v1/sources/1",
        "https://api.example.org/conflicts/v1/sources/2",
    ]
    link = client.get("/v1/sources", params={"limit": 1}, headers={"Host": EVIL}).headers["link"]
    assert link.startswith("<https://api.example.org/conflicts/v1/sources?limit=1&cursor=")
    redirect = client.get("/v1/sources/", headers={"Host": EVIL}, follow_redirects=False)
    assert redirect.headers["location"] == "https://api.example.org/conflicts/v1/sources"


def test_a_root_path_is_kept_in_relative_links(database_url: str, auth: Headers) -> None:
    from app.main import create_app

    with TestClient(create_app(), root_path="/api") as client:
        created = client.post("/api/v1/sources", json={"name": "Alpha", "kind": "other"}, headers=auth)
        assert created.headers["location"] == "/api/v1/sources/1"
        client.post("/api/v1/sources", json={"name": "Beta", "kind": "other"}, headers=auth)
        link = client.get("/api/v1/sources", params={"limit": 1}).headers["link"]
        assert link.startswith("</api/v1/sources?limit=1&cursor=")


def test_allowed_hosts_refuse_other_hosts_with_a_problem(app_with: Callable[..., TestClient]) -> None:
    client = app_with(ALLOWED_HOSTS="api.example.org, *.internal.example")
    body = assert_problem(client.get("/v1/sources", headers={"Host": EVIL}), 400)
    assert "evil.example:666" in body["detail"] and "ALLOWED_HOSTS" in body["detail"]
    assert body["type"].endswith("/invalid-host")
    assert client.get("/v1/sources", headers={"Host": "api.example.org"}).status_code == 200
    assert client.get("/v1/sources", headers={"Host": "API.example.org:8443"}).status_code == 200
    assert client.get("/v1/sources", headers={"Host": "a.b.internal.example"}).status_code == 200
    assert client.get("/v1/sources", headers={"Host": "internal.example.evil"}).status_code == 400
    assert client.get("/v1/sources", headers={"Host": "xapi.example.org"}).status_code == 400
    # health checks and scrapers call by address
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, headers={"Host": "10.0.0.7:8000"}).status_code == 200, path
    unprintable = client.get("/v1/sources", headers={"Host": "a\tb"})
    assert "that host" in assert_problem(unprintable, 400)["detail"]


def test_public_url_must_be_an_absolute_http_url() -> None:
    assert Settings(public_url="https://api.example.org/x/").public_url == "https://api.example.org/x"
    assert Settings(public_url="").public_url == ""
    for bad in ("api.example.org", "ftp://api.example.org", "https://api.example.org/?a=1", "/v1"):
        with pytest.raises(ValueError, match="PUBLIC_URL"):
            Settings(public_url=bad)

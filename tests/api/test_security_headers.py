"""Issue 10: `X-Content-Type-Options: nosniff` on every answer; a strict Content-Security-Policy
on the HTML pages whose script hashes are those of the inline scripts actually served."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from app.api.docs import REDOC_JS, REDOC_LOGO

Headers = dict[str, str]
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_every_answer_says_nosniff(client: TestClient, auth: Headers) -> None:
    created = client.post("/v1/sources", json={"name": "S", "kind": "ngo"}, headers=auth)
    answers = [
        created,
        client.get("/v1/sources"),
        client.get("/v1/sources", headers={"If-None-Match": client.get("/v1/sources").headers["etag"]}),
        client.get("/v1/sources/999"),
        client.get("/v1/sources", params={"limit": 0}),
        client.post("/v1/sources", json={}),
        client.delete("/v1/sources/1", headers=auth),
        client.get("/v1/events/export", params={"format": "csv"}),
        client.get("/v1/changes"),
        client.get("/healthz"),
        client.get("/metrics"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/static-offline-docs/swagger-ui.css"),
        client.get("/nowhere"),
        client.options(
            "/v1/events", headers={"Origin": "http://x.example", "Access-Control-Request-Method": "GET"}
        ),
    ]
    assert [a.status_code for a in answers[:8]] == [201, 200, 304, 404, 422, 401, 204, 200]
    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.request.url


def test_an_unexpected_error_says_nosniff_too(database_url: str) -> None:
    from app.main import create_app

    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("root_path", ["", "/api"])
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_have_a_strict_policy_matching_their_inline_scripts(
    database_url: str, page: str, root_path: str
) -> None:
    from app.main import create_app

    with TestClient(create_app(), root_path=root_path) as client:
        response = client.get(root_path + page)
        assert response.status_code == 200
        policy = directives(response.headers["content-security-policy"])
        for asset in re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", response.text):
            assert asset.startswith(root_path + "/"), asset
            assert client.get(asset).status_code == 200, asset  # 'self' serves them
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    inline = INLINE.findall(response.text)
    expected = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline
    ]
    assert scripts == ["'self'", *expected]
    if page == "/docs":
        assert len(inline) == 1 and f"url: '{root_path}/openapi.json'" in inline[0]
    else:
        assert inline == []


def test_redoc_is_served_without_its_internet_logo(client: TestClient) -> None:
    html = client.get("/redoc").text
    assert f'src="{REDOC_JS}"' in html
    bundle = client.get(REDOC_JS)
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    assert len(bundle.content) > 100_000 and REDOC_LOGO not in bundle.content


def test_no_oauth2_redirect_page(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert "oauth2RedirectUrl" not in client.get("/docs").text

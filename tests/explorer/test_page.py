"""The explorer as the service serves it, without a browser: the redirect, the page's policy,
its files (in the package, under the size budget, with their licences) and that it asks
nothing of the service but public endpoints."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.explorer.routes import STATIC

OWN_FILES = sorted(
    path for path in STATIC.iterdir() if path.suffix in {".js", ".css"}
)  # the page's own code, not the vendored libraries
VENDORED = ("leaflet", "leaflet.markercluster", "topojson-client", "world-atlas")
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_root_redirects_to_the_explorer_keeping_the_query(client: TestClient) -> None:
    answer = client.get("/?type=riot", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/explore?type=riot"


def test_the_page_has_a_strict_policy_and_no_inline_script_or_style(client: TestClient) -> None:
    answer = client.get("/explore")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in answer.headers["content-security-policy"]
    html = answer.text
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html
    assert " style=" not in html
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_file_the_page_names_is_served(client: TestClient) -> None:
    html = client.get("/explore").text
    assets = [url for url in ASSET.findall(html) if url.startswith("/explore/static/")]
    assert len(assets) >= 10
    for url in assets:
        answer = client.get(url)
        assert answer.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert answer.headers["content-type"].startswith(kind), url


def test_a_missing_or_outside_file_is_a_problem_404(client: TestClient) -> None:
    for url in (
        "/explore/static/nothing.js",
        "/explore/static/../routes.py",
        "/explore/static/%2e%2e/routes.py",
    ):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert answer.headers["content-type"] == "application/problem+json", url


def test_the_modules_import_only_modules_that_exist() -> None:
    for path in OWN_FILES:
        for module in re.findall(r'from "\./([^"]+)"', path.read_text(encoding="utf-8")):
            assert (STATIC / module).is_file(), f"{path.name} imports {module}"


def test_a_root_path_prefixes_every_address_of_the_page(client: TestClient) -> None:
    with TestClient(client.app, root_path="/conflicts") as prefixed:
        html = prefixed.get("/explore").text
    assert 'data-root="/conflicts"' in html
    addresses = [url for url in ASSET.findall(html) if not url.startswith(("#", "data:"))]
    assert len(addresses) >= 10
    assert [url for url in addresses if not url.startswith("/conflicts/")] == []


def test_the_page_calls_only_public_endpoints(client: TestClient) -> None:
    """Every API path in the page's code is an operation of the OpenAPI document."""
    paths = client.get("/openapi.json").json()["paths"]
    templates = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$") for path in paths]
    code = "".join(path.read_text(encoding="utf-8") for path in OWN_FILES if path.suffix == ".js")
    called = {re.sub(r"\$\{[^}]+\}", "1", path) for path in re.findall(r'[`"](/v1/[^`"?]*)', code)}
    assert {
        "/v1/events",
        "/v1/events/export",
        "/v1/events/timeline",
        "/v1/actors",
        "/v1/statements",
    } <= called
    assert {"/v1/events/1/claims", "/v1/documents/1", "/v1/events/1"} <= called
    for path in called:
        assert any(template.match(path) for template in templates), path


def test_the_pages_own_code_is_under_300_kb_compressed() -> None:
    compressed = sum(len(gzip.compress(path.read_bytes())) for path in OWN_FILES)
    assert 0 < compressed < 300_000


def test_the_vendored_libraries_carry_their_licences_and_pinned_versions() -> None:
    vendor = STATIC / "vendor"
    versions = dict(line.split(" ")[:2] for line in (vendor / "VERSIONS").read_text().splitlines())
    script = (Path(__file__).resolve().parents[2] / "app" / "explorer" / "vendor.sh").read_text()
    for library in VENDORED:
        assert (vendor / library / "LICENSE").stat().st_size > 300, library
        variable = library.upper().replace("-", "_").replace("LEAFLET.", "")
        assert f"{variable}={versions[library]}\n" in script, library

"""POST /v1/load: the dataset loader over HTTP, and the request body limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings

Headers = dict[str, str]
RESOURCES = ("sources", "documents", "actors", "events", "statements")


def dataset() -> dict[str, Any]:
    return {
        "sources": [
            {"ref": "src:a", "name": "A", "kind": "ngo", "reliability": "C"},
            {"ref": "src:b", "name": "B", "kind": "government"},
        ],
        "documents": [{"ref": "doc:a", "source": "src:a", "title": "Doc", "url": "https://a.example/"}],
        "actors": [
            {"ref": "act:b", "name": "Unit", "kind": "armed_force", "parent": "act:a"},
            {"ref": "act:a", "name": "State", "kind": "state"},
        ],
        "events": [
            {
                "ref": "ev:a",
                "title": "E",
                "type": "protest",
                "start_date": "2025-03-01",
                "actors": [{"actor": "act:a", "role": "side_a"}],
                "citations": [{"document": "doc:a"}],
            }
        ],
        "statements": [
            {"ref": "st:a", "speaker": "act:b", "event": "ev:a", "stated_on": "2025-03-02", "text": "t"}
        ],
    }


def counts(created: int = 0, updated: int = 0, unchanged: int = 0) -> dict[str, int]:
    return {"created": created, "updated": updated, "unchanged": unchanged}


def everything(client: TestClient) -> dict[str, list[Any]]:
    return {r: client.get(f"/v1/{r}").json()["items"] for r in RESOURCES}


def test_load_counts_created_updated_unchanged(client: TestClient, auth: Headers) -> None:
    response = client.post("/v1/load", json=dataset(), headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "sources": counts(created=2),
        "documents": counts(created=1),
        "actors": counts(created=2),
        "events": counts(created=1),
        "statements": counts(created=1),
    }
    event = client.get("/v1/events", params={"ref": "ev:a"}).json()["items"][0]
    assert event["actors"][0]["name"] == "State"
    assert event["citations"][0]["reliability"] == "C"

    again = client.post("/v1/load", json=dataset(), headers=auth).json()
    assert again == {
        "sources": counts(unchanged=2),
        "documents": counts(unchanged=1),
        "actors": counts(unchanged=2),
        "events": counts(unchanged=1),
        "statements": counts(unchanged=1),
    }

    changed = dataset()
    changed["sources"][1]["reliability"] = "A"
    changed["documents"][0]["title"] = "Doc v2"
    changed["actors"][0]["aliases"] = ["The Unit"]
    changed["events"][0]["citations"][0]["credibility"] = 1
    changed["statements"][0]["is_quote"] = True
    changed["statements"].append({"ref": "st:b", "speaker": "act:a", "stated_on": "2025-03-03", "text": "u"})
    result = client.post("/v1/load", json=changed, headers=auth).json()
    assert result == {
        "sources": counts(updated=1, unchanged=1),
        "documents": counts(updated=1),
        "actors": counts(updated=1, unchanged=1),
        "events": counts(updated=1),
        "statements": counts(created=1, updated=1),
    }


def test_empty_file_loads_nothing(client: TestClient, auth: Headers) -> None:
    response = client.post("/v1/load", json={}, headers=auth)
    assert response.status_code == 200
    assert response.json() == {r: counts() for r in RESOURCES}


@pytest.mark.parametrize(
    ("resource", "index", "field", "value", "ref"),
    [
        ("sources", 1, "kind", "tabloid", "src:b"),
        ("documents", 0, "source", "src:missing", "doc:a"),
        ("actors", 1, "country", "QQ", "act:a"),
        ("events", 0, "start_date", "yesterday", "ev:a"),
        ("statements", 0, "speaker", "act:missing", "st:a"),
    ],
)
def test_invalid_file_is_422_and_changes_nothing(
    client: TestClient, auth: Headers, resource: str, index: int, field: str, value: Any, ref: str
) -> None:
    first = dataset()
    first["sources"].append({"ref": "src:c", "name": "C", "kind": "ngo"})
    client.post("/v1/load", json={"sources": first["sources"]}, headers=auth)
    before = everything(client)
    feed = client.get("/v1/changes").json()
    bad = dataset()
    bad[resource][index][field] = value
    response = client.post("/v1/load", json=bad, headers=auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert ref in problem["detail"] and field in problem["detail"]
    loc = problem["errors"][0]["loc"]
    assert resource in loc and ref in loc and field in loc
    assert everything(client) == before
    assert client.get("/v1/changes").json() == feed


def test_conflict_in_file_is_422_naming_ref(client: TestClient, auth: Headers) -> None:
    client.post("/v1/actors", json={"name": "Taken", "kind": "state"}, headers=auth)
    bad = dataset()
    bad["actors"][1]["aliases"] = ["taken"]
    response = client.post("/v1/load", json=bad, headers=auth)
    assert response.status_code in (409, 422)
    assert "act:a" in response.json()["detail"]
    assert client.get("/v1/sources").json()["items"] == []


def test_not_an_object_is_422(client: TestClient, auth: Headers) -> None:
    bodies: list[object] = [[1, 2], "text", {"sources": "x"}, {"colours": []}]
    for body in bodies:
        response = client.post("/v1/load", json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def small_limit_client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client on an app that accepts request bodies up to 2,000 bytes."""
    from app.main import create_app

    monkeypatch.setenv("MAX_BODY_BYTES", "2000")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client
    get_settings.cache_clear()


def big_dataset() -> bytes:
    sources = [{"ref": f"src:{n}", "name": f"Source number {n}", "kind": "ngo"} for n in range(100)]
    return json.dumps({"sources": sources}).encode()


def test_body_over_limit_is_413(small_limit_client: TestClient, auth: Headers) -> None:
    body = big_dataset()
    assert len(body) > 2000
    response = small_limit_client.post(
        "/v1/load", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 413
    assert small_limit_client.get("/v1/sources").json()["items"] == []
    # a small body still goes through
    small = {"sources": [{"ref": "s", "name": "S", "kind": "ngo"}]}
    assert small_limit_client.post("/v1/load", json=small, headers=auth).status_code == 200
    # the limit applies to every write, not only /v1/load
    response = small_limit_client.post(
        "/v1/sources", json={"name": "x", "kind": "ngo", "description": "d" * 3000}, headers=auth
    )
    assert response.status_code == 413


def test_chunked_body_over_limit_is_413(small_limit_client: TestClient, auth: Headers) -> None:
    body = big_dataset()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    response = small_limit_client.post(
        "/v1/load", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert small_limit_client.get("/v1/sources").json()["items"] == []


def test_lying_content_length_is_413(small_limit_client: TestClient, auth: Headers) -> None:
    """A Content-Length under the limit does not let a bigger body through."""
    body = big_dataset()

    def chunks() -> Iterator[bytes]:
        yield body

    response = small_limit_client.post(
        "/v1/load",
        content=chunks(),
        headers={**auth, "Content-Type": "application/json", "Content-Length": "100"},
    )
    assert response.status_code in (400, 413)
    assert small_limit_client.get("/v1/sources").json()["items"] == []

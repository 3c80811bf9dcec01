"""A NUL or a lone surrogate in any string of any write body is a 422 that names the field, on
POST, PATCH and /v1/load alike, and nothing is written (PostgreSQL would refuse the string;
SQLite would store text no client can read back)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.kit.schemas import unstorable

BAD = {"nul": "a\u0000b", "surrogate": "a\ud800b"}
# Raw JSON text, as a client sends it: `\ud800` alone is legal JSON and decodes to a lone surrogate.
RAW_SURROGATE = '{"name": "a\\ud800b", "kind": "ngo"}'


def send(client: TestClient, method: str, path: str, body: Any, auth: dict[str, str]) -> Any:
    """The body as JSON text with escapes (`\\ud800`), as clients send it: httpx's `json=`
    cannot encode a lone surrogate itself."""
    headers = {**auth, "Content-Type": "application/json"}
    return client.request(method, path, content=json.dumps(body).encode(), headers=headers)


def ids(client: TestClient, path: str) -> list[int]:
    return [row["id"] for row in client.get(path, params={"limit": 500}).json()["items"]]


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/sources", {"name": "{bad}", "kind": "ngo"}, "name"),
        ("/v1/sources", {"name": "Ok", "kind": "ngo", "description": "{bad}"}, "description"),
        ("/v1/actors", {"name": "Ok", "kind": "state", "aliases": ["fine", "{bad}"]}, "aliases.1"),
        ("/v1/events", {"title": "{bad}", "type": "other", "start_date": "2025-01-01"}, "title"),
        (
            "/v1/events",
            {"title": "Ok", "type": "other", "start_date": "2025-01-01", "location": "{bad}"},
            "location",
        ),
    ],
)
def test_posts_name_the_field_and_write_nothing(
    client: TestClient, auth: dict[str, str], kind: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = ids(client, path)
    sent = {
        k: (
            [v.replace("{bad}", BAD[kind]) for v in val]
            if isinstance(val, list)
            else val.replace("{bad}", BAD[kind])
        )
        for k, val in body.items()
    }
    response = send(client, "POST", path, sent, auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    loc = response.json()["errors"][0]["loc"]
    assert ".".join(map(str, loc[1:])) == field and loc[0] == "body"
    assert ids(client, path) == before


def test_a_raw_json_lone_surrogate_is_a_422(client: TestClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    response = client.post("/v1/sources", content=RAW_SURROGATE.encode(), headers=headers)
    assert response.status_code == 422
    assert "surrogate" in response.json()["detail"]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_patch_names_the_field(client: TestClient, auth: dict[str, str], kind: str) -> None:
    created = client.post("/v1/sources", json={"name": "Patched", "kind": "ngo"}, headers=auth).json()
    body = {"url": f"https://x.example/{BAD[kind]}"}
    response = send(client, "PATCH", f"/v1/sources/{created['id']}", body, auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "url"
    assert client.get(f"/v1/sources/{created['id']}").json()["url"] is None


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize(
    ("dataset", "where"),
    [
        ({"sources": [{"ref": "s", "name": "{bad}", "kind": "ngo"}]}, ["sources", "s", "name"]),
        (
            {
                "sources": [{"ref": "s", "name": "S", "kind": "ngo"}],
                "documents": [{"ref": "d", "source": "s{bad}", "title": "T"}],
            },
            ["documents", "d", "source"],
        ),
        ({"sources": [{"ref": "s{bad}", "name": "S", "kind": "ngo"}]}, ["sources", "ref"]),
    ],
)
def test_load_names_resource_ref_and_field_and_loads_nothing(
    client: TestClient, auth: dict[str, str], kind: str, dataset: dict[str, Any], where: list[str]
) -> None:
    body: Any = _replace(dataset, BAD[kind])
    response = send(client, "POST", "/v1/load", body, auth)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == where
    assert ids(client, "/v1/sources") == []


def _replace(value: Any, bad: str) -> Any:
    if isinstance(value, str):
        return value.replace("{bad}", bad)
    if isinstance(value, list):
        return [_replace(item, bad) for item in value]
    if isinstance(value, dict):
        return {key: _replace(item, bad) for key, item in value.items()}
    return value


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ({"text": "a\\u0000b"}, None),  # a backslash and `u0000` typed as text: storable
        ({"text": "a\\\u0000b"}, ("text", "must not contain NUL characters")),
        (
            {"nested": [{"deep": ["ok", "x\ud800"]}]},
            ("nested.0.deep.1", "must not contain lone surrogates (invalid Unicode)"),
        ),
        ({"k\u0000": 1}, ("", "must not contain NUL characters")),
        ({"big": 2**70, "name": "a\u0000"}, ("name", "must not contain NUL characters")),
        ({"big": 2**70, "when": "fine"}, None),  # orjson refuses the integer: the walk decides
        ("Zapad-2025 — Запад", None),
    ],
)
def test_unstorable_finds_the_first_bad_string_wherever_it_is(value: object, found: object) -> None:
    """The fast check in C must agree with the walk: text that only looks like an escape is
    storable, and what orjson cannot encode is still walked."""
    assert unstorable(value) == found

"""Property tests of the write bodies: any Unicode in any string field — NUL, lone surrogates,
control characters, combining marks, astral planes, whitespace only — and any JSON value in
place of a string. Whatever is sent: never a 5xx; a refusal is a 4xx problem that changes
nothing (no row, no change in the feed); an acceptance stores exactly what the answer shows,
and reading the row back gives the same answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kit.test_unstorable_text import send

# Every code point, surrogates included (hypothesis leaves them out of `st.text()` by default).
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHARACTER, max_size=40)
# What a careless or hostile client puts where a string belongs.
ANY_VALUE = st.one_of(
    ANY_TEXT,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(ANY_TEXT, max_size=3),
    st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=2),
)
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def state(client: TestClient) -> tuple[int, int]:
    """Rows of every resource, and the change feed's length."""
    rows = 0
    for path in ("/v1/sources", "/v1/documents", "/v1/actors", "/v1/events", "/v1/statements"):
        rows += len(client.get(path, params={"limit": 500}).json()["items"])
    changes = client.get("/v1/changes", params={"limit": 500}).json()["items"]
    return rows, len(changes)


def check_outcome(client: TestClient, response: Any, before: tuple[int, int], path: str) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == response.status_code
        assert state(client) == before, "a refused write changed the store"
        return
    if path != "/v1/load":
        shown = response.json()
        assert client.get(response.headers["location"]).json() == shown


BODIES: dict[str, dict[str, Any]] = {
    "/v1/sources": {"name": "Source", "kind": "ngo", "description": None, "ref": None},
    "/v1/actors": {"name": "Actor", "kind": "state", "aliases": [], "description": None},
    "/v1/events": {
        "title": "Event",
        "type": "other",
        "start_date": "2025-01-01",
        "location": None,
        "admin1": None,
        "description": None,
    },
}


def fresh(path: str, field: str, value: Any, before: tuple[int, int]) -> dict[str, Any]:
    """A body for `path` with `value` in `field`; names are unique, so a name not under test
    is made fresh from the feed's length (which grows with every accepted write)."""
    body = {**BODIES[path], field: value}
    if "name" in body and field != "name":
        body["name"] = f"{BODIES[path]['name']} {before[1]}"
    return body


@pytest.mark.parametrize("values", [ANY_TEXT, ANY_VALUE], ids=["any text", "any JSON value"])
@pytest.mark.parametrize("path", sorted(BODIES))
def test_anything_in_any_string_field(
    client: TestClient, auth: dict[str, str], path: str, values: st.SearchStrategy[Any]
) -> None:
    fields = sorted(name for name, value in BODIES[path].items() if value is None or isinstance(value, str))

    @PROPERTIES
    @given(field=st.sampled_from(fields), value=values)
    def write(field: str, value: Any) -> None:
        before = state(client)
        body = fresh(path, field, value, before)
        check_outcome(client, send(client, "POST", path, body, auth), before, path)

    write()


def test_patch_with_any_text(client: TestClient, auth: dict[str, str]) -> None:
    created = send(client, "POST", "/v1/actors", {"name": "Patched", "kind": "state"}, auth)
    assert created.status_code == 201, created.text
    location = created.headers["location"]

    @PROPERTIES
    @given(field=st.sampled_from(["name", "description", "aliases"]), text=ANY_TEXT)
    def patch(field: str, text: str) -> None:
        before_state = state(client)
        before = client.get(location).json()
        value: Any = [text] if field == "aliases" else text
        response = send(client, "PATCH", location, {field: value}, auth)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert client.get(location).json() == before, "a refused PATCH changed the row"
            assert state(client) == before_state
        else:
            assert client.get(location).json() == response.json()

    patch()


def test_a_dataset_with_one_bad_string_writes_nothing(client: TestClient, auth: dict[str, str]) -> None:
    """/v1/load is one transaction: one bad string anywhere refuses the whole file."""

    @PROPERTIES
    @given(text=ANY_TEXT, position=st.integers(min_value=0, max_value=4))
    def load(text: str, position: int) -> None:
        before = state(client)
        sources = [
            {"ref": f"prop:source:{before[1]}:{i}", "name": f"Prop source {before[1]} {i}", "kind": "ngo"}
            for i in range(5)
        ]
        sources[position]["description"] = text
        response = send(client, "POST", "/v1/load", {"sources": sources}, auth)
        check_outcome(client, response, before, "/v1/load")
        if response.status_code < 400:
            assert state(client)[0] == before[0] + 5

    load()

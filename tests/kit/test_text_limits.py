"""Free text is bounded (100,000 characters; titles and place names 1,000), at the boundary
exactly, through POST and /v1/load, and the OpenAPI says so as `maxLength` on every input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.kit.schemas import FREE_TEXT_MAX, LINE_MAX
from app.main import create_app

CASES = [
    ("/v1/sources", {"name": "S", "kind": "ngo"}, "description", FREE_TEXT_MAX),
    ("/v1/actors", {"name": "A", "kind": "state"}, "description", FREE_TEXT_MAX),
    ("/v1/events", {"type": "other", "start_date": "2025-01-01", "title": "T"}, "description", FREE_TEXT_MAX),
    ("/v1/events", {"type": "other", "start_date": "2025-01-01"}, "title", LINE_MAX),
    ("/v1/events", {"type": "other", "start_date": "2025-01-01", "title": "T"}, "location", LINE_MAX),
]


@pytest.mark.parametrize(("path", "body", "field", "limit"), CASES)
def test_the_limit_is_inclusive_and_one_more_is_a_422(
    client: TestClient, auth: dict[str, str], path: str, body: dict[str, Any], field: str, limit: int
) -> None:
    at_limit = client.post(path, json={**body, field: "x" * limit}, headers=auth)
    assert at_limit.status_code == 201, at_limit.text
    assert len(at_limit.json()[field]) == limit
    over = client.post(path, json={**body, "name": "Other", field: "x" * (limit + 1)}, headers=auth)
    assert over.status_code == 422
    assert over.json()["errors"][0]["loc"] == ["body", field]


def test_a_statement_text_and_an_excerpt_are_bounded_in_a_dataset_too(
    client: TestClient, auth: dict[str, str]
) -> None:
    dataset = {
        "sources": [{"ref": "s", "name": "S", "kind": "ngo"}],
        "documents": [{"ref": "d", "source": "s", "title": "T"}],
        "actors": [{"ref": "a", "name": "A", "kind": "state"}],
        "statements": [
            {"ref": "st", "speaker": "a", "stated_on": "2025-01-01", "text": "x" * (FREE_TEXT_MAX + 1)}
        ],
    }
    response = client.post("/v1/load", json=dataset, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["statements", "st", "text"]
    assert client.get("/v1/sources").json()["items"] == []


def test_every_input_documents_its_limits() -> None:
    schemas = create_app().openapi()["components"]["schemas"]

    def max_length(schema: dict[str, Any]) -> int | None:
        options = schema.get("anyOf", [schema])
        return next((option["maxLength"] for option in options if "maxLength" in option), None)

    for model in ("SourceCreate", "SourceUpdate", "ActorCreate", "EventCreate", "EventUpdate"):
        assert max_length(schemas[model]["properties"]["description"]) == FREE_TEXT_MAX, model
    assert max_length(schemas["StatementCreate"]["properties"]["text"]) == FREE_TEXT_MAX
    assert max_length(schemas["CitationIn"]["properties"]["excerpt"]) == FREE_TEXT_MAX
    for model, field in (("EventCreate", "title"), ("DocumentCreate", "title"), ("EventCreate", "admin1")):
        assert max_length(schemas[model]["properties"][field]) == LINE_MAX, (model, field)
    unbounded = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        if name.endswith(("Create", "Update", "In"))
        for field, prop in schema.get("properties", {}).items()
        if (prop.get("type") == "string" or {"type": "string"} in prop.get("anyOf", []))
        and "enum" not in prop
        and max_length(prop) is None
        and "format" not in prop
    ]
    assert unbounded == []

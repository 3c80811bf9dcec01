"""The OpenAPI document is the contract's machine-readable twin: nothing may go undocumented."""

from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app

SPEC: dict[str, Any] = create_app().openapi()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
]


def test_every_operation_says_what_it_does() -> None:
    undocumented = [f"{m} {p}" for m, p, op in OPERATIONS if not (op.get("description") or "").strip()]
    assert undocumented == []


def test_every_parameter_is_described() -> None:
    undocumented = [
        f"{parameter['name']} of {m} {p}"
        for m, p, op in OPERATIONS
        for parameter in op.get("parameters", [])
        if not (parameter.get("description") or parameter["schema"].get("description"))
    ]
    assert undocumented == []


def test_every_v1_operation_documents_its_problem_responses() -> None:
    for method, path, operation in OPERATIONS:
        if not path.startswith("/v1"):
            continue
        responses = operation["responses"]
        assert "422" in responses, f"{method} {path}"
        assert "application/problem+json" in responses["422"]["content"], f"{method} {path}"
        if method in ("POST", "PATCH", "DELETE"):
            assert {"401", "403", "409"} <= set(responses), f"{method} {path}"


def test_enums_are_listed() -> None:
    parameters = {p["name"]: p for p in SPEC["paths"]["/v1/events"]["get"]["parameters"]}
    type_schema = parameters["type"]["schema"]
    enum = type_schema.get("items", {}).get("enum") or SPEC["components"]["schemas"]["EventType"]["enum"]
    assert "military_exercise" in enum
    assert parameters["sort"]["schema"]["$ref"].endswith("EventSort") or parameters["sort"]["schema"].get(
        "enum"
    )


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "Conflict Events API"
    assert client.get("/docs").status_code == 200

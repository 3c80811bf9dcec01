"""The OpenAPI document is the contract's machine-readable twin: nothing may go undocumented."""

import re
from typing import Any

from fastapi.testclient import TestClient
from openapi_spec_validator import validate

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


def test_every_schema_property_is_described() -> None:
    """A property that is only a `$ref` (or `anyOf` one) counts when it says what it is itself."""
    undocumented = [
        f"{name}.{prop}"
        for name, schema in SPEC["components"]["schemas"].items()
        for prop, property_schema in schema.get("properties", {}).items()
        if not (property_schema.get("description") or "").strip()
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


def test_operation_ids_are_short_stable_names() -> None:
    ids = {f"{m} {p}": op["operationId"] for m, p, op in OPERATIONS}
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", i) and len(i) <= 24 for i in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    assert ids["GET /v1/events"] == "list_events"
    assert ids["GET /v1/events/{event_id}"] == "get_event"
    assert ids["PATCH /v1/documents/{document_id}"] == "update_document"
    assert ids["GET /v1/events/{event_id}/claims"] == "event_claims"
    assert ids["POST /v1/load"] == "load_dataset"
    assert ids["GET /v1/changes"] == "list_changes"


def test_errors_are_documented_under_the_media_type_they_are_sent_as() -> None:
    for method, path, operation in OPERATIONS:
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{status} of {method} {path}"
    assert "HTTPValidationError" not in SPEC["components"]["schemas"]


def test_the_bearer_key_is_a_security_scheme_writes_need_and_reads_may_send() -> None:
    scheme = SPEC["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path, operation in OPERATIONS:
        if not path.startswith("/v1"):
            assert "security" not in operation
        elif method == "GET":
            assert operation["security"] == [{}, {"ApiKey": []}], f"{method} {path}"
        else:
            assert operation["security"] == [{"ApiKey": []}], f"{method} {path}"


def test_timestamps_are_date_times() -> None:
    schemas = SPEC["components"]["schemas"]
    stamped = [name for name, schema in schemas.items() if "created_at" in schema.get("properties", {})]
    assert {"EventOut", "SourceOut", "StatementOut", "ActorOut", "DocumentOut", "ActorDetail"} <= set(stamped)
    for name in stamped:
        for field in ("created_at", "updated_at"):
            assert schemas[name]["properties"][field]["format"] == "date-time", f"{name}.{field}"


def test_conditional_requests_and_response_headers_are_documented() -> None:
    for method, path, operation in OPERATIONS:
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        responses = operation["responses"]
        for status, response in responses.items():
            assert "X-Request-ID" in response.get("headers", {}), f"{status} of {method} {path}"
        if not path.startswith("/v1"):
            continue
        ok = responses.get("200") or responses.get("201") or {}
        if ok:
            assert "ETag" in ok["headers"], f"{method} {path}"
        if method == "GET":
            assert "If-None-Match" in names and "304" in responses, f"{method} {path}"
            assert "Cache-Control" in ok["headers"], f"{method} {path}"
        if method in ("PATCH", "DELETE"):
            assert "If-Match" in names, f"{method} {path}"
        assert "Retry-After" in responses["503"]["headers"], f"{method} {path}"
    assert "Link" in SPEC["paths"]["/v1/events"]["get"]["responses"]["200"]["headers"]
    assert "Location" in SPEC["paths"]["/v1/events"]["post"]["responses"]["201"]["headers"]


def test_the_document_is_valid_openapi() -> None:
    validate(SPEC)


def test_docs_load_nothing_from_another_host(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        outside = re.findall(r"""(?:src|href)=["']?(?:https?:)?//[^"' >]+""", html)
        assert outside == [], page
        for asset in re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", html):
            assert client.get(asset).status_code == 200, asset
        assert "http://" not in html.replace("http://testserver", "") and "https://" not in html


def test_browsers_may_read_the_challenge_and_retry_headers(client: TestClient) -> None:
    response = client.get("/v1/events", headers={"Origin": "http://localhost:3000"})
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"www-authenticate", "retry-after", "etag", "link", "x-request-id"} <= exposed


def test_rate_limits_are_documented_on_every_v1_operation_and_not_on_the_probes() -> None:
    for method, path, operation in OPERATIONS:
        responses = operation["responses"]
        if not path.startswith("/v1"):
            assert "429" not in responses, f"{method} {path}"
            continue
        too_many = responses["429"]
        assert "application/problem+json" in too_many["content"], f"{method} {path}"
        assert {"Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-ID"} <= set(too_many["headers"])
        for status, response in responses.items():
            where = f"{status} of {method} {path}"
            assert {"RateLimit", "RateLimit-Policy"} <= set(response["headers"]), where


def test_browsers_may_read_the_rate_limit_headers(client: TestClient) -> None:
    response = client.get("/v1/events", headers={"Origin": "http://localhost:3000"})
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"ratelimit", "ratelimit-policy"} <= exposed

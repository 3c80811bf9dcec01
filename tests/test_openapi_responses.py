"""Real answers of every read route validated against the schemas the service publishes.

The read path may build its JSON without the response models; `/openapi.json` is still derived
from them, so this test is what keeps the two in step. Every GET route of the app must have a
case here (a new route without one fails `test_every_get_route_is_covered`), every answer's
media type must be one the document lists for its status, and its body must validate against
that schema (JSON Schema 2020-12, OpenAPI 3.1) with two tightenings the document leaves out:
objects are closed (`additionalProperties: false`: an undocumented field is drift too) and
formats (`date`) are checked. Exports have no schema of their own; their NDJSON lines and GeoJSON
properties are the read forms of the list items, and are validated as those.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.events.data import dataset as aggregates_dataset
from tests.test_read_snapshot import DASHBOARD_QUERIES, EXPORTS, LIST_QUERIES

DOCUMENT_URI = "urn:conflict-events:openapi"
# Routes whose 200 answer the document leaves without a schema (`{}`): listed so that a new
# undocumented route fails `test_only_known_routes_answer_without_a_schema` instead of passing
# everything through an empty schema.
UNDOCUMENTED_200 = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/events/export",
    "/v1/statements/export",
}
ITEM_ROUTES = {
    "sources": "/v1/sources/{source_id}",
    "documents": "/v1/documents/{document_id}",
    "actors": "/v1/actors/{actor_id}",
    "events": "/v1/events/{event_id}",
    "statements": "/v1/statements/{statement_id}",
}
EXTRA_LIST_QUERIES: list[tuple[str, dict[str, Any]]] = [
    # Nothing matches: empty pages, empty buckets and facets.
    ("/v1/sources", {"q": "no such source"}),
    ("/v1/documents", {"date_from": "2999-01-01"}),
    ("/v1/actors", {"q": "no such actor"}),
    ("/v1/events", {"q": "no such event"}),
    ("/v1/statements", {"measure": "no such measure"}),
    # One row per page: a next_cursor and a second page.
    ("/v1/events", {"limit": "1"}),
    ("/v1/statements", {"limit": "1"}),
]
EXTRA_DASHBOARD_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/events/timeline", {"q": "no such event"}),
    ("/v1/events/timeline", {"interval": "day", "group_by": "type", "country": "by"}),
    ("/v1/events/facets", {"q": "no such event"}),
    ("/v1/events/facets", {"field": ["country", "actor", "source", "type"], "size": "500"}),
    ("/v1/changes", {}),
    ("/v1/changes", {"after": "3", "limit": "2"}),
    ("/v1/changes", {"after": "999999"}),
    ("/v1/changes", {"after": "999999", "wait": "0.2"}),
    ("/healthz", {}),
    ("/readyz", {}),
    ("/metrics", {}),
]


# --- the validator -------------------------------------------------------------------------------


def closed(schema: Any) -> Any:
    """A copy in which every object schema with `properties` forbids other properties."""
    if isinstance(schema, dict):
        result = {key: closed(value) for key, value in schema.items()}
        if "properties" in result and "additionalProperties" not in result:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    return schema


def anchored(schema: Any) -> Any:
    """A copy of a schema from outside the document whose `#/...` refs point into it."""
    if isinstance(schema, dict):
        return {
            key: DOCUMENT_URI + value if key == "$ref" and value.startswith("#/") else anchored(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [anchored(item) for item in schema]
    return schema


class Contract:
    """The published OpenAPI document as a set of JSON Schema validators."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(closed(document), default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        """Refs like `#/components/schemas/X` resolve inside the document."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            rooted = {"$schema": "https://json-schema.org/draft/2020-12/schema", **anchored(closed(schema))}
            self._validators[key] = Draft202012Validator(
                rooted, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[key]

    def component(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def response_schema(self, route: str, status: int, media_type: str) -> dict[str, Any] | None:
        """The schema documented for this answer; None when the document gives it no schema.
        Fails when the status or media type is not documented at all."""
        responses = self.document["paths"][route]["get"]["responses"]
        assert str(status) in responses, f"GET {route}: status {status} is not documented"
        content = responses[str(status)].get("content", {})
        by_type = {key.split(";", 1)[0].strip(): value for key, value in content.items()}
        base = media_type.split(";", 1)[0].strip()
        assert base in by_type, f"GET {route}: {status} {base} is not documented (only {sorted(by_type)})"
        schema: dict[str, Any] | None = by_type[base].get("schema")
        return schema or None

    def item_schema(self, list_route: str) -> dict[str, Any]:
        """The schema of one item of a list route's page (what exports write per row)."""
        page = self.response_schema(list_route, 200, "application/json")
        assert page is not None
        name = page["$ref"].rsplit("/", 1)[-1]
        items: dict[str, Any] = self.document["components"]["schemas"][name]["properties"]["items"]["items"]
        return items


def violations(validator: Draft202012Validator, value: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    ]


# --- the cases -----------------------------------------------------------------------------------


class Reader:
    """Makes the requests, validates each answer, and records which routes were exercised."""

    def __init__(self, client: TestClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.covered: set[str] = set()
        self.checked = 0

    def get(
        self,
        route: str,
        path: str,
        params: dict[str, Any] | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = self.client.get(path, params=params, headers=headers)
        assert response.status_code == status, (
            f"{path} {params}: {response.status_code} {response.text[:300]}"
        )
        self.covered.add(route)
        media_type = response.headers["content-type"]
        schema = self.contract.response_schema(route, status, media_type)
        if schema is not None:
            self.check(schema, response.json(), f"{path} {params}")
        return response

    def check(self, schema: dict[str, Any], value: Any, where: str) -> None:
        problems = violations(self.contract.validator(schema), value)
        assert not problems, f"{where} does not match its schema:\n" + "\n".join(problems[:20])
        self.checked += 1


LD = {"Accept": "application/ld+json"}  # statements and claims as schema.org JSON-LD


def walk(reader: Reader, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every page of a list, validated; yields the items."""
    query = dict(params)
    while True:
        body = reader.get(path, path, query).json()
        yield from body["items"]
        if not body["next_cursor"]:
            return
        query = {**query, "cursor": body["next_cursor"]}


def read_everything(reader: Reader) -> None:
    for path, params in [*LIST_QUERIES, *EXTRA_LIST_QUERIES]:
        list(walk(reader, path, {**params, "limit": params.get("limit", "50")}))
    for path, params in [*DASHBOARD_QUERIES, *EXTRA_DASHBOARD_QUERIES]:
        reader.get(path, path, params)
    for resource, route in ITEM_ROUTES.items():
        for item in walk(reader, f"/v1/{resource}", {"limit": "500"}):
            reader.get(route, f"/v1/{resource}/{item['id']}")
            reader.get(f"{route}/history", f"/v1/{resource}/{item['id']}/history")
            if resource == "events":
                reader.get("/v1/events/{event_id}/claims", f"/v1/events/{item['id']}/claims")
                reader.get("/v1/events/{event_id}/claims", f"/v1/events/{item['id']}/claims", headers=LD)
                for depth in ("1", "3"):
                    reader.get(
                        "/v1/events/{event_id}/related", f"/v1/events/{item['id']}/related", {"depth": depth}
                    )
            if resource == "statements":
                reader.get(route, f"/v1/statements/{item['id']}", headers=LD)
        # Errors are answers too: a missing row and a bad id are documented problems.
        reader.get(route, f"/v1/{resource}/999999", status=404)
        reader.get(route, f"/v1/{resource}/0", status=422)
        reader.get(f"{route}/history", f"/v1/{resource}/999999/history", status=404)
        reader.get(route, f"/v1/{resource}/1", {"as_of": "not a time"}, status=422)
    reader.get("/v1/events/{event_id}/claims", "/v1/events/999999/claims", status=404)
    reader.get("/v1/events/{event_id}/related", "/v1/events/999999/related", status=404)
    reader.get("/v1/events/{event_id}/related", "/v1/events/1/related", {"depth": "4"}, status=422)
    for path in ("/v1/events", "/v1/events/timeline", "/v1/events/facets", "/v1/changes"):
        reader.get(path, path, {"limit": "0", "size": "0", "interval": "century"}, status=422)
    # the stream itself never ends by itself (tests/feed/test_push.py reads it); its refusal does
    reader.get("/v1/changes/stream", "/v1/changes/stream", {"after": "-1"}, status=422)
    for path, params in EXPORTS:
        check_export(reader, path, params)
    check_export(reader, "/v1/events/export", {"format": "geojson"})
    check_export(reader, "/v1/events/export", {"format": "ndjson", "q": "no such event"})


def check_export(reader: Reader, path: str, params: dict[str, Any]) -> None:
    """Exports are documented by media type only; their rows are the list's read forms."""
    response = reader.get(path, path, params)
    item = reader.contract.item_schema(path.removesuffix("/export"))
    where = f"{path} {params}"
    if params["format"] == "ndjson":
        for number, line in enumerate(response.text.splitlines(), 1):
            reader.check(item, json.loads(line), f"{where} line {number}")
    elif params["format"] == "geojson":
        collection = response.json()
        reader.check(FEATURE_COLLECTION, collection, where)
        properties = geojson_properties(reader.contract, item)
        for feature in collection["features"]:
            reader.check(properties, feature["properties"], f"{where} feature {feature['id']}")
            assert feature["id"] == feature["properties"]["id"]


FEATURE_COLLECTION: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "id", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": "integer"},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"const": "Point"},
                            "coordinates": {
                                "type": "array",
                                "prefixItems": [
                                    {"type": "number", "minimum": -180, "maximum": 180},
                                    {"type": "number", "minimum": -90, "maximum": 90},
                                ],
                                "minItems": 2,
                                "maxItems": 2,
                            },
                        },
                    },
                    "properties": {"type": "object"},
                },
            },
        },
    },
}


def geojson_properties(contract: Contract, item: dict[str, Any]) -> dict[str, Any]:
    """The event read form without latitude and longitude (they are the geometry)."""
    name = item["$ref"].rsplit("/", 1)[-1]
    schema = copy.deepcopy(contract.document["components"]["schemas"][name])
    for moved in ("latitude", "longitude"):
        schema["properties"].pop(moved)
        schema["required"].remove(moved)
    found: dict[str, Any] = schema
    return found


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def loaded(load: Callable[[dict[str, Any]], Any], demo: dict[str, Any]) -> None:
    load(aggregates_dataset())


@pytest.fixture
def contract(client: TestClient) -> Contract:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return Contract(response.json())


def get_routes(client: TestClient) -> set[str]:
    """The app's GET routes that the document publishes, through included routers at any depth."""
    app: Any = client.app

    def walk_routes(routes: list[Any], prefix: str) -> Iterator[str]:
        for route in routes:
            if isinstance(route, APIRoute):
                if "GET" in (route.methods or ()) and route.include_in_schema:
                    yield prefix + route.path
            elif (included := getattr(route, "original_router", None)) is not None:
                # FastAPI keeps an included router behind a wrapper with its include prefix.
                context = getattr(route, "include_context", None)
                yield from walk_routes(included.routes, prefix + getattr(context, "prefix", ""))

    return set(walk_routes(app.routes, ""))


def test_every_read_answer_matches_the_published_schemas(
    client: TestClient, contract: Contract, loaded: None
) -> None:
    reader = Reader(client, contract)
    read_everything(reader)
    assert reader.checked > 150  # the walk really validated something
    # Every GET route has a case: a new route without one fails here.
    routes = get_routes(client)
    documented = {path for path, operations in contract.document["paths"].items() if "get" in operations}
    assert routes == documented
    assert not routes - reader.covered, f"GET routes without a case here: {sorted(routes - reader.covered)}"


def test_only_known_routes_answer_without_a_schema(client: TestClient, contract: Contract) -> None:
    empty = {
        path
        for path in get_routes(client)
        if not any(
            media.get("schema")
            for media in contract.document["paths"][path]["get"]["responses"]["200"]["content"].values()
        )
    }
    assert empty == UNDOCUMENTED_200


# --- the validator can fail ----------------------------------------------------------------------


def test_wrong_types_missing_and_extra_fields_are_caught(
    client: TestClient, contract: Contract, loaded: None
) -> None:
    good = client.get("/v1/events", params={"limit": "1"}).json()
    page_schema = contract.response_schema("/v1/events", 200, "application/json")
    assert page_schema is not None
    validator = contract.validator(page_schema)
    assert violations(validator, good) == []

    wrong_type = copy.deepcopy(good)
    wrong_type["items"][0]["id"] = "1"
    missing = copy.deepcopy(good)
    del missing["items"][0]["actors"]
    extra = copy.deepcopy(good)
    extra["items"][0]["actors"].append({"actor_id": 1, "name": "X", "role": "host", "kind": "state"})
    bad_enum = copy.deepcopy(good)
    bad_enum["items"][0]["type"] = "picnic"
    bad_date = copy.deepcopy(good)
    bad_date["items"][0]["start_date"] = "2025-13-45"
    null_list = copy.deepcopy(good)
    null_list["items"][0]["citations"] = None
    assert any("'1' is not of type 'integer'" in v for v in violations(validator, wrong_type))
    assert any("'actors' is a required property" in v for v in violations(validator, missing))
    assert any("Additional properties" in v for v in violations(validator, extra))
    assert violations(validator, bad_enum)
    assert any("is not a 'date'" in v for v in violations(validator, bad_date))
    assert violations(validator, null_list)

    reader = Reader(client, contract)
    with pytest.raises(AssertionError, match="does not match its schema"):
        reader.check(page_schema, wrong_type, "a hand-made page")
    with pytest.raises(AssertionError, match="is not documented"):
        contract.response_schema("/v1/events", 200, "text/html")
    with pytest.raises(AssertionError, match="status 418 is not documented"):
        contract.response_schema("/v1/events", 418, "application/json")

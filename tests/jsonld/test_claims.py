"""Claims as schema.org JSON-LD (issue 11): `Accept: application/ld+json` on a statement and on
an event's claims, checked by expanding the answers with pyld and comparing every term with
schema.org's; JSON stays the default; negotiation, Vary, ETags and the OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld

from tests.factories import actor, assert_problem, dataset, document, event, ids_by_ref, source, statement

Load = Callable[[dict[str, Any]], Any]
LD = "application/ld+json"
SDO = "http://schema.org/"  # the vocabulary schema.org's own context maps terms to

# What schema.org's context does for these answers, served locally (the tests never go online):
# every term is a schema.org property or type.
CONTEXT = {"@context": {"@vocab": SDO}}

# schema.org properties each type may carry here (Claim and ItemList are CreativeWorks; an
# Event, a PropertyValue, a Person and an Organization are Things).
PROPERTIES = {
    "Claim": {"text", "datePublished", "author", "appearance", "about", "mentions", "identifier"},
    "CreativeWork": {"url", "name", "datePublished", "publisher"},
    "Organization": {"name", "identifier"},
    "Person": {"name", "identifier"},
    "Event": {"name", "startDate", "endDate"},
    "PropertyValue": {"name", "minValue", "value", "maxValue", "unitText"},
    "ItemList": {"about", "numberOfItems", "itemListElement"},
    "ListItem": {"position", "item"},
}


def loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}


def expand(body: dict[str, Any]) -> dict[str, Any]:
    expanded = jsonld.expand(body, {"documentLoader": loader, "base": "http://testserver/"})
    assert len(expanded) == 1
    node: dict[str, Any] = expanded[0]
    return node


def check_terms(node: dict[str, Any]) -> None:
    """Every property of every node is a schema.org property of its type, recursively."""
    [kind] = node["@type"]
    assert kind.startswith(SDO), kind
    allowed = PROPERTIES[kind.removeprefix(SDO)]
    for key, values in node.items():
        if key.startswith("@"):
            continue
        assert key.startswith(SDO) and key.removeprefix(SDO) in allowed, (kind, key)
        for value in values:
            if "@type" in value:
                check_terms(value)


def first(node: dict[str, Any], term: str) -> Any:
    value = node[SDO + term][0]
    return value.get("@value", value)


@pytest.fixture
def claims(load: Load) -> None:
    load(
        dataset(
            source("src:forbes", "Forbes", "B", url="https://www.forbes.com"),
            source("src:lv", "Latvian Ministry of Defence", "C", kind="government"),
            document(
                "doc:forbes",
                "src:forbes",
                "Belarus Announces Joint Military Exercise",
                url="https://www.forbes.com/zapad",
                published_on="2025-08-14",
            ),
            document("doc:lv", "src:lv", "Assessment"),
            actor("actor:by", "Belarus"),
            actor("actor:lv-mod", "Latvian Ministry of Defence", kind="government_body"),
            actor("actor:luk", "Aliaksandr Lukashenka", kind="person"),
            event("ev:zapad", "2025-09-12", "2025-09-16", title="Zapad-2025"),
            event("ev:empty", "2025-01-01"),
            statement(
                "stmt:lv",
                "actor:lv-mod",
                "2025-08-14",
                "Between 100,000 and 150,000 soldiers.",
                mentions=["actor:by"],
                event="ev:zapad",
                document="doc:lv",
                measure="personnel",
                value_low=100000,
                value_high=150000,
                unit="persons",
            ),
            statement(
                "stmt:by",
                "actor:by",
                "2025-08-12",
                "Only 13,000 personnel.",
                event="ev:zapad",
                document="doc:forbes",
                measure="personnel",
                value_best=13000,
                unit="persons",
            ),
            statement("stmt:luk", "actor:luk", "2025-08-14", "Utter nonsense — «не нападём».", kind="denial"),
        )
    )


def ids(client: TestClient, path: str) -> dict[str, int]:
    return ids_by_ref(client, path)


def test_a_statement_as_a_schema_org_claim(client: TestClient, claims: None) -> None:
    statement_id = ids(client, "/v1/statements")["stmt:by"]
    response = client.get(f"/v1/statements/{statement_id}", headers={"Accept": LD})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(LD)
    assert "Accept" in response.headers["vary"]
    body = response.json()
    assert body["@context"] == "https://schema.org"
    assert (body["@type"], body["@id"], body["identifier"]) == (
        "Claim",
        f"/v1/statements/{statement_id}",
        statement_id,
    )
    node = expand(body)
    check_terms(node)
    assert node["@type"] == [SDO + "Claim"]
    assert node["@id"] == f"http://testserver/v1/statements/{statement_id}"
    assert first(node, "text") == "Only 13,000 personnel."
    assert first(node, "datePublished") == "2025-08-12"
    author = node[SDO + "author"][0]
    assert author["@type"] == [SDO + "Organization"] and first(author, "name") == "Belarus"
    appearance = node[SDO + "appearance"][0]
    assert first(appearance, "url") == "https://www.forbes.com/zapad"
    assert first(appearance, "datePublished") == "2025-08-14"
    assert first(appearance[SDO + "publisher"][0], "name") == "Forbes"
    about = {value["@type"][0].removeprefix(SDO): value for value in node[SDO + "about"]}
    assert first(about["Event"], "name") == "Zapad-2025"
    figure = about["PropertyValue"]
    assert (first(figure, "name"), first(figure, "value"), first(figure, "unitText")) == (
        "personnel",
        13000,
        "persons",
    )
    assert SDO + "minValue" not in figure and SDO + "maxValue" not in figure


def test_a_range_a_person_and_no_document(client: TestClient, claims: None) -> None:
    statements = ids(client, "/v1/statements")
    ranged = expand(client.get(f"/v1/statements/{statements['stmt:lv']}", headers={"Accept": LD}).json())
    figure = next(v for v in ranged[SDO + "about"] if v["@type"] == [SDO + "PropertyValue"])
    assert (first(figure, "minValue"), first(figure, "maxValue")) == (100000, 150000)
    assert first(ranged[SDO + "appearance"][0], "name") == "Assessment"
    assert SDO + "url" not in ranged[SDO + "appearance"][0]  # the document has no URL
    assert [first(m, "name") for m in ranged[SDO + "mentions"]] == ["Belarus"]
    plain = client.get(f"/v1/statements/{statements['stmt:luk']}", headers={"Accept": LD}).json()
    node = expand(plain)
    check_terms(node)
    assert node[SDO + "author"][0]["@type"] == [SDO + "Person"]
    assert first(node, "text") == "Utter nonsense — «не нападём»."
    assert "appearance" not in plain and plain["about"] == [] and plain["mentions"] == []


def test_an_events_claims_as_a_json_ld_list(client: TestClient, claims: None) -> None:
    event_id = ids(client, "/v1/events")["ev:zapad"]
    statements = ids(client, "/v1/statements")
    response = client.get(f"/v1/events/{event_id}/claims", headers={"Accept": LD})
    assert response.status_code == 200 and response.headers["content-type"].startswith(LD)
    body = response.json()
    assert (body["@context"], body["@type"], body["numberOfItems"]) == ("https://schema.org", "ItemList", 2)
    node = expand(body)
    check_terms(node)
    assert first(node[SDO + "about"][0], "name") == "Zapad-2025"
    items = sorted(node[SDO + "itemListElement"], key=lambda item: first(item, "position"))
    # the order of the JSON answer: by measure and unit, then stated_on
    json_order = [
        c["statement_id"]
        for m in client.get(f"/v1/events/{event_id}/claims").json()["measures"]
        for c in m["claims"]
    ]
    assert json_order == [statements["stmt:by"], statements["stmt:lv"]]
    assert [first(item[SDO + "item"][0], "identifier") for item in items] == json_order
    for item in items:
        assert item[SDO + "item"][0]["@type"] == [SDO + "Claim"]
    empty = client.get(
        f"/v1/events/{ids(client, '/v1/events')['ev:empty']}/claims", headers={"Accept": LD}
    ).json()
    assert (empty["numberOfItems"], empty["itemListElement"]) == (0, [])


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        ("application/ld+json", LD),
        ("application/ld+json;q=0.9, application/json;q=0.8", LD),
        ("application/json;q=0.5, application/ld+json", LD),
        ("application/ld+json;q=0.5, application/json", "application/json"),
        ("application/ld+json;q=0.5, */*;q=0.9", "application/json"),
        ("text/html", "application/json"),  # nothing offered matches: JSON, as every route answers
        ("application/ld+json;q=0", "application/json"),
        ("application/ld+json;q=oops", "application/json"),
        ("APPLICATION/LD+JSON", LD),
    ],
)
def test_negotiation(client: TestClient, claims: None, accept: str | None, expected: str) -> None:
    statement_id = ids(client, "/v1/statements")["stmt:by"]
    event_id = ids(client, "/v1/events")["ev:zapad"]
    headers = {"Accept": accept} if accept is not None else {}
    for path in (f"/v1/statements/{statement_id}", f"/v1/events/{event_id}/claims"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == expected, (path, accept)
        assert "Accept" in response.headers["vary"]


def test_each_representation_has_its_own_etag(client: TestClient, claims: None) -> None:
    path = f"/v1/statements/{ids(client, '/v1/statements')['stmt:by']}"
    as_json = client.get(path)
    as_ld = client.get(path, headers={"Accept": LD})
    assert as_json.headers["etag"] != as_ld.headers["etag"]
    again = client.get(path, headers={"Accept": LD, "If-None-Match": as_ld.headers["etag"]})
    assert again.status_code == 304
    other = client.get(path, headers={"Accept": LD, "If-None-Match": as_json.headers["etag"]})
    assert other.status_code == 200


def test_errors_stay_problems(client: TestClient, claims: None) -> None:
    assert_problem(client.get("/v1/statements/99999", headers={"Accept": LD}), 404)
    assert_problem(client.get("/v1/events/99999/claims", headers={"Accept": LD}), 404)


def test_the_openapi_documents_both_media_types(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for path, model in (
        ("/v1/statements/{statement_id}", "ClaimLD"),
        ("/v1/events/{event_id}/claims", "EventClaimsLD"),
    ):
        ok = document["paths"][path]["get"]["responses"]["200"]
        assert set(ok["content"]) == {"application/json", LD}
        assert ok["content"][LD]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert "Vary" in ok["headers"]
        assert model in schemas
    claim = schemas["ClaimLD"]
    assert {"@context", "@type", "@id", "author", "datePublished", "text", "appearance", "about"} <= set(
        claim["properties"]
    )

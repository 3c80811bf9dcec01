"""API.md §1 and §2: `GET /v1/<resource>/{id}` and what each read form embeds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    actor,
    assert_problem,
    cite,
    dataset,
    document,
    event,
    ids_by_ref,
    link,
    source,
    statement,
)

Load = Callable[[dict[str, Any]], Any]
RESOURCES = ["sources", "documents", "actors", "events", "statements"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def world(load: Load) -> None:
    load(
        dataset(
            source("s-b", "Bravo Times", "B", country="pl", url="https://bravo.example"),
            source("s-d", "Delta Channel", "D"),
            document(
                "d-b", "s-b", "Bravo on Zapad", url="https://bravo.example/z", published_on="2025-09-12"
            ),
            document("d-d", "s-d", "Delta on Zapad", language="ru"),
            actor("by", "Belarus", aliases=["Republic of Belarus"]),
            actor("c-zeta", "zeta Regiment", parent="by", kind="armed_force"),
            actor("c-alpha", "Alpha Battalion", parent="by", kind="armed_force"),
            actor("c-beta", "BETA Command", parent="by", kind="armed_force"),
            actor("grandchild", "Gamma Company", parent="c-alpha", kind="armed_force"),
            actor("pl", "Poland"),
            event(
                "e",
                "2025-09-12",
                "2025-09-16",
                title="Zapad-2025",
                type="military_exercise",
                actors=[link("by", "side_a"), link("c-alpha", "participant")],
                citations=[cite("d-b", 2, "13,000 troops"), cite("d-d", 1)],
                fatalities_best=0,
                latitude=53.9,
                longitude=27.56,
                geo_precision="near",
                date_precision="day",
            ),
            statement(
                "st",
                "by",
                "2025-09-10",
                "Poland is preparing provocations",
                mentions=["pl", "c-beta"],
                document="d-d",
                event="e",
                is_quote=True,
                credibility=4,
                kind="accusation",
            ),
            statement("st-bare", "pl", "2025-09-11", "No document here"),
        )
    )


def _get(client: TestClient, resource: str, row_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/{resource}/{row_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("etag")
    body: dict[str, Any] = response.json()
    assert body["id"] == row_id
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"]), body
    return body


def test_actor_embeds_parent_and_children_sorted_case_insensitively(client: TestClient, world: None) -> None:
    ids = ids_by_ref(client, "/v1/actors")
    by = _get(client, "actors", ids["by"])
    assert by["parent"] is None
    assert by["children"] == [
        {"id": ids["c-alpha"], "name": "Alpha Battalion"},
        {"id": ids["c-beta"], "name": "BETA Command"},
        {"id": ids["c-zeta"], "name": "zeta Regiment"},
    ]
    assert by["aliases"] == ["Republic of Belarus"]
    alpha = _get(client, "actors", ids["c-alpha"])
    assert alpha["parent"] == {"id": ids["by"], "name": "Belarus"}
    assert alpha["parent_id"] == ids["by"]
    assert alpha["children"] == [{"id": ids["grandchild"], "name": "Gamma Company"}]
    leaf = _get(client, "actors", ids["grandchild"])
    assert leaf["children"] == [] and leaf["parent"] == {"id": ids["c-alpha"], "name": "Alpha Battalion"}


def test_source_read(client: TestClient, world: None) -> None:
    ids = ids_by_ref(client, "/v1/sources")
    body = _get(client, "sources", ids["s-b"])
    assert {k: body[k] for k in ("ref", "name", "kind", "country", "url", "reliability", "description")} == {
        "ref": "s-b",
        "name": "Bravo Times",
        "kind": "news_outlet",
        "country": "PL",
        "url": "https://bravo.example",
        "reliability": "B",
        "description": None,
    }


def test_document_embeds_source(client: TestClient, world: None) -> None:
    sources = ids_by_ref(client, "/v1/sources")
    ids = ids_by_ref(client, "/v1/documents")
    body = _get(client, "documents", ids["d-b"])
    assert body["source"] == {"id": sources["s-b"], "name": "Bravo Times", "reliability": "B"}
    assert body["source_id"] == sources["s-b"]
    assert (body["title"], body["url"], body["published_on"], body["language"]) == (
        "Bravo on Zapad",
        "https://bravo.example/z",
        "2025-09-12",
        None,
    )
    other = _get(client, "documents", ids["d-d"])
    assert other["source"] == {"id": sources["s-d"], "name": "Delta Channel", "reliability": "D"}
    assert other["published_on"] is None and other["language"] == "ru"


def test_event_read_has_names_citations_and_derived_fields(client: TestClient, world: None) -> None:
    ids = ids_by_ref(client, "/v1/events")
    actors = ids_by_ref(client, "/v1/actors")
    body = _get(client, "events", ids["e"])
    assert body["actors"] == [
        {"actor_id": actors["by"], "role": "side_a", "name": "Belarus"},
        {"actor_id": actors["c-alpha"], "role": "participant", "name": "Alpha Battalion"},
    ]
    assert [
        (c["source_name"], c["reliability"], c["credibility"], c["excerpt"]) for c in body["citations"]
    ] == [
        ("Bravo Times", "B", 2, "13,000 troops"),
        ("Delta Channel", "D", 1, None),
    ]
    assert body["source_count"] == 2 and body["best_reliability"] == "B"
    assert (body["start_date"], body["end_date"], body["type"]) == (
        "2025-09-12",
        "2025-09-16",
        "military_exercise",
    )
    assert (body["latitude"], body["longitude"], body["geo_precision"]) == (53.9, 27.56, "near")
    assert body["fatalities_best"] == 0 and body["fatalities_low"] is None
    listed = client.get("/v1/events", params={"ref": "e"}).json()["items"][0]
    assert listed == body


def test_statement_embeds_speaker_mentions_reliability(client: TestClient, world: None) -> None:
    ids = ids_by_ref(client, "/v1/statements")
    actors = ids_by_ref(client, "/v1/actors")
    body = _get(client, "statements", ids["st"])
    assert body["speaker"] == {"id": actors["by"], "name": "Belarus"}
    assert body["mentions"] == [
        {"id": actors["pl"], "name": "Poland"},
        {"id": actors["c-beta"], "name": "BETA Command"},
    ]
    assert body["reliability"] == "D"
    assert body["event_id"] == ids_by_ref(client, "/v1/events")["e"]
    assert (body["is_quote"], body["credibility"], body["kind"]) == (True, 4, "accusation")
    bare = _get(client, "statements", ids["st-bare"])
    assert bare["reliability"] is None and bare["mentions"] == [] and bare["document_id"] is None


@pytest.mark.parametrize("resource", RESOURCES)
def test_missing_id_is_404_problem(client: TestClient, world: None, resource: str) -> None:
    body = assert_problem(client.get(f"/v1/{resource}/999999"), 404)
    assert "999999" in body["detail"] or resource[:-1] in body["detail"].lower()


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("bad", ["abc", "1.5", "0", "-3", str(2**31), str(2**70), "1e3"])
def test_malformed_id_is_422_problem(client: TestClient, resource: str, bad: str) -> None:
    assert_problem(client.get(f"/v1/{resource}/{bad}"), 422)

"""POST, PATCH and DELETE of the five resources: status codes, read forms, rules and ETags."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

Headers = dict[str, str]
PROBLEM = "application/problem+json"


def post(client: TestClient, auth: Headers, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/v1/{resource}", json=body, headers=auth)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


class World:
    """A small graph of rows created through the API."""

    def __init__(self, client: TestClient, auth: Headers) -> None:
        self.source = post(
            client, auth, "sources", {"name": "Forbes", "kind": "news_outlet", "reliability": "B"}
        )
        self.source2 = post(client, auth, "sources", {"name": "Reuters", "kind": "news_agency"})
        self.document = post(
            client,
            auth,
            "documents",
            {"source_id": self.source["id"], "title": "Article", "url": "https://forbes.example/a"},
        )
        self.parent = post(client, auth, "actors", {"name": "Belarus", "kind": "state", "aliases": ["RB"]})
        self.child = post(
            client,
            auth,
            "actors",
            {"name": "Belarusian MoD", "kind": "government_body", "parent_id": self.parent["id"]},
        )
        self.other = post(client, auth, "actors", {"name": "Russia", "kind": "state"})
        self.event = post(
            client,
            auth,
            "events",
            {
                "title": "Zapad",
                "type": "military_exercise",
                "start_date": "2025-09-12",
                "end_date": "2025-09-16",
                "actors": [{"actor_id": self.parent["id"], "role": "host"}],
                "citations": [{"document_id": self.document["id"], "credibility": 2, "excerpt": "e"}],
            },
        )
        self.statement = post(
            client,
            auth,
            "statements",
            {
                "speaker_id": self.child["id"],
                "event_id": self.event["id"],
                "document_id": self.document["id"],
                "stated_on": "2025-08-12",
                "text": "13,000 personnel",
                "mentions": [self.other["id"]],
                "measure": "personnel",
                "value_best": 13000,
            },
        )


@pytest.fixture
def world(client: TestClient, auth: Headers) -> World:
    return World(client, auth)


# --- POST --------------------------------------------------------------------------------------


def test_post_answers_201_location_etag_and_read_form(client: TestClient, auth: Headers) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "sources": {
            "ref": "src:1",
            "name": "Forbes",
            "kind": "news_outlet",
            "country": "us",
            "reliability": "b",
        },
    }
    response = client.post("/v1/sources", json=bodies["sources"], headers=auth)
    assert response.status_code == 201
    source = response.json()
    assert source["country"] == "US" and source["reliability"] == "B" and source["ref"] == "src:1"
    assert response.headers["location"].endswith(f"/v1/sources/{source['id']}")
    check_location_and_etag(client, response)

    response = client.post(
        "/v1/documents",
        json={"source_id": source["id"], "title": "T", "published_on": "2025-08-14", "language": "en"},
        headers=auth,
    )
    assert response.status_code == 201
    document = response.json()
    assert document["source"] == {"id": source["id"], "name": "Forbes", "reliability": "B"}
    check_location_and_etag(client, response)

    response = client.post(
        "/v1/actors", json={"name": "Belarus", "kind": "state", "aliases": ["RB"]}, headers=auth
    )
    assert response.status_code == 201
    parent = response.json()
    check_location_and_etag(client, response)
    response = client.post(
        "/v1/actors", json={"name": "Lukashenka", "kind": "person", "parent_id": parent["id"]}, headers=auth
    )
    assert response.status_code == 201
    child = response.json()
    assert child["parent"] == {"id": parent["id"], "name": "Belarus"}
    assert child["children"] == []
    check_location_and_etag(client, response)
    assert client.get(f"/v1/actors/{parent['id']}").json()["children"] == [
        {"id": child["id"], "name": "Lukashenka"}
    ]

    response = client.post(
        "/v1/events",
        json={
            "title": "Zapad",
            "type": "military_exercise",
            "start_date": "2025-09-12",
            "latitude": 53.7,
            "longitude": 27.9,
            "actors": [{"actor_id": parent["id"], "role": "host"}],
            "citations": [{"document_id": document["id"]}],
        },
        headers=auth,
    )
    assert response.status_code == 201
    event = response.json()
    assert event["end_date"] == "2025-09-12"
    assert event["date_precision"] == "day"
    assert event["actors"] == [{"actor_id": parent["id"], "role": "host", "name": "Belarus"}]
    citation = event["citations"][0]
    assert citation["credibility"] == 6
    assert (citation["source_id"], citation["source_name"], citation["reliability"]) == (
        source["id"],
        "Forbes",
        "B",
    )
    assert event["source_count"] == 1 and event["best_reliability"] == "B"
    check_location_and_etag(client, response)

    response = client.post(
        "/v1/statements",
        json={
            "speaker_id": child["id"],
            "event_id": event["id"],
            "document_id": document["id"],
            "stated_on": "2025-08-12",
            "text": "words",
            "mentions": [parent["id"]],
        },
        headers=auth,
    )
    assert response.status_code == 201
    statement = response.json()
    assert statement["speaker"] == {"id": child["id"], "name": "Lukashenka"}
    assert statement["mentions"] == [{"id": parent["id"], "name": "Belarus"}]
    assert statement["reliability"] == "B"
    assert statement["credibility"] == 6 and statement["is_quote"] is False
    check_location_and_etag(client, response)


def check_location_and_etag(client: TestClient, response: Any) -> None:
    """The Location answers the same read form, with the same ETag."""
    etag = response.headers["etag"]
    assert etag
    read = client.get(response.headers["location"])
    assert read.status_code == 200
    assert read.json() == response.json()
    assert read.headers["etag"] == etag


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("documents", {"source_id": 999, "title": "T"}, "source_id"),
        ("actors", {"name": "X", "kind": "state", "parent_id": 999}, "parent_id"),
        (
            "events",
            {
                "title": "T",
                "type": "riot",
                "start_date": "2025-01-01",
                "actors": [{"actor_id": 999, "role": "host"}],
            },
            "actors",
        ),
        (
            "events",
            {"title": "T", "type": "riot", "start_date": "2025-01-01", "citations": [{"document_id": 999}]},
            "citations",
        ),
        ("statements", {"speaker_id": 999, "stated_on": "2025-01-01", "text": "t"}, "speaker_id"),
        (
            "statements",
            {"speaker_id": "SPEAKER", "event_id": 999, "stated_on": "2025-01-01", "text": "t"},
            "event_id",
        ),
        (
            "statements",
            {"speaker_id": "SPEAKER", "document_id": 999, "stated_on": "2025-01-01", "text": "t"},
            "document_id",
        ),
        (
            "statements",
            {"speaker_id": "SPEAKER", "mentions": [999], "stated_on": "2025-01-01", "text": "t"},
            "mentions",
        ),
    ],
)
def test_unknown_ids_are_422(
    client: TestClient, auth: Headers, resource: str, body: dict[str, Any], field: str
) -> None:
    speaker = post(client, auth, "actors", {"name": "Speaker", "kind": "person"})
    body = {k: speaker["id"] if v == "SPEAKER" else v for k, v in body.items()}
    result = problem(client.post(f"/v1/{resource}", json=body, headers=auth), 422)
    assert "999" in result["detail"]
    assert result["errors"][0]["loc"][-1] == field
    assert len(client.get(f"/v1/{resource}").json()["items"]) == (1 if resource == "actors" else 0)
    changes = client.get("/v1/changes").json()["items"]
    assert [c["resource"] for c in changes] == ["actors"]


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        ("sources", {"name": "X", "kind": "blog"}),
        ("sources", {"name": "X", "kind": "ngo", "reliability": "G"}),
        ("sources", {"name": "X", "kind": "ngo", "country": "ZZ"}),
        ("sources", {"name": "", "kind": "ngo"}),
        ("sources", {"name": "X" * 501, "kind": "ngo"}),
        ("sources", {"name": "X", "kind": "ngo", "colour": "red"}),
        ("actors", {"name": "X", "kind": "nation"}),
        ("events", {"title": "T", "type": "battle", "start_date": "2025-01-01"}),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-01-01", "date_precision": "hour"}),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-01-02", "end_date": "2025-01-01"}),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-01-01", "latitude": 50}),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-01-01", "longitude": 20}),
        (
            "events",
            {"title": "T", "type": "riot", "start_date": "2025-01-01", "latitude": 91, "longitude": 0},
        ),
        (
            "events",
            {"title": "T", "type": "riot", "start_date": "2025-01-01", "latitude": 0, "longitude": 181},
        ),
        (
            "events",
            {
                "title": "T",
                "type": "riot",
                "start_date": "2025-01-01",
                "fatalities_low": 5,
                "fatalities_best": 3,
            },
        ),
        (
            "events",
            {
                "title": "T",
                "type": "riot",
                "start_date": "2025-01-01",
                "fatalities_best": 5,
                "fatalities_high": 3,
            },
        ),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-01-01", "fatalities_low": -1}),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-13-01"}),
        ("events", {"title": "T", "type": "riot", "start_date": "2025-01-01", "geo_precision": "city"}),
        ("statements", {"speaker_id": "SPEAKER", "stated_on": "2025-01-01", "text": "t", "kind": "rumour"}),
        ("statements", {"speaker_id": "SPEAKER", "stated_on": "2025-01-01", "text": "t", "credibility": 0}),
        ("statements", {"speaker_id": "SPEAKER", "stated_on": "2025-01-01", "text": "t", "value_best": 3}),
        (
            "statements",
            {
                "speaker_id": "SPEAKER",
                "stated_on": "2025-01-01",
                "text": "t",
                "measure": "m",
                "value_low": 5,
                "value_high": 2,
            },
        ),
        ("statements", {"speaker_id": "SPEAKER", "stated_on": "2025-01-01", "text": "  "}),
    ],
)
def test_invalid_bodies_are_422(
    client: TestClient, auth: Headers, resource: str, body: dict[str, Any]
) -> None:
    speaker = post(client, auth, "actors", {"name": "Speaker", "kind": "person"})
    body = {k: speaker["id"] if v == "SPEAKER" else v for k, v in body.items()}
    result = problem(client.post(f"/v1/{resource}", json=body, headers=auth), 422)
    assert result["errors"]
    assert len(client.get(f"/v1/{resource}").json()["items"]) == (1 if resource == "actors" else 0)


def test_malformed_json_is_4xx_problem(client: TestClient, auth: Headers) -> None:
    response = client.post(
        "/v1/sources", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith(PROBLEM)


# --- 409 conflicts -----------------------------------------------------------------------------


def test_duplicate_names_are_409_case_insensitive(client: TestClient, auth: Headers, world: World) -> None:
    problem(client.post("/v1/sources", json={"name": "FORBES", "kind": "ngo"}, headers=auth), 409)
    problem(client.post("/v1/actors", json={"name": "belarus", "kind": "state"}, headers=auth), 409)
    problem(client.post("/v1/actors", json={"name": " Belarus ", "kind": "state"}, headers=auth), 409)
    # renaming onto another row's name too
    response = client.patch(f"/v1/actors/{world.other['id']}", json={"name": "BELARUS"}, headers=auth)
    problem(response, 409)
    response = client.patch(f"/v1/sources/{world.source2['id']}", json={"name": "forbes"}, headers=auth)
    problem(response, 409)
    # changing only the case of its own name is fine
    response = client.patch(f"/v1/actors/{world.other['id']}", json={"name": "RUSSIA"}, headers=auth)
    assert response.status_code == 200
    assert response.json()["name"] == "RUSSIA"


def test_alias_rules_are_409(client: TestClient, auth: Headers, world: World) -> None:
    # an alias equal to another actor's name
    problem(
        client.post("/v1/actors", json={"name": "X", "kind": "state", "aliases": ["russia"]}, headers=auth),
        409,
    )
    # an alias another actor already has
    problem(
        client.post("/v1/actors", json={"name": "X", "kind": "state", "aliases": ["rb"]}, headers=auth), 409
    )
    # a name equal to another actor's alias
    problem(client.post("/v1/actors", json={"name": "Rb", "kind": "state"}, headers=auth), 409)
    response = client.patch(f"/v1/actors/{world.other['id']}", json={"aliases": ["Belarus"]}, headers=auth)
    problem(response, 409)
    assert client.get("/v1/actors", params={"q": "X"}).json()["items"] == []
    # an actor's own alias repeated or equal to its own name is simply dropped
    response = client.patch(
        f"/v1/actors/{world.other['id']}",
        json={"aliases": ["RF", "rf", "Russia", "Russian Federation"]},
        headers=auth,
    )
    assert response.status_code == 200
    assert response.json()["aliases"] == ["RF", "Russian Federation"]


def test_parent_cycle_via_patch_is_409(client: TestClient, auth: Headers, world: World) -> None:
    grandchild = post(
        client, auth, "actors", {"name": "Unit", "kind": "armed_force", "parent_id": world.child["id"]}
    )
    for parent_id in (world.parent["id"], world.child["id"], grandchild["id"]):
        response = client.patch(
            f"/v1/actors/{world.parent['id']}", json={"parent_id": parent_id}, headers=auth
        )
        if parent_id == world.parent["id"]:
            assert response.status_code in (409, 422), response.text
        else:
            problem(response, 409)
    assert client.get(f"/v1/actors/{world.parent['id']}").json()["parent_id"] is None
    # a legal move still works
    response = client.patch(
        f"/v1/actors/{grandchild['id']}", json={"parent_id": world.parent["id"]}, headers=auth
    )
    assert response.status_code == 200
    assert response.json()["parent"] == {"id": world.parent["id"], "name": "Belarus"}


def test_duplicate_document_url_is_409(client: TestClient, auth: Headers, world: World) -> None:
    body = {"source_id": world.source2["id"], "title": "Copy", "url": world.document["url"]}
    problem(client.post("/v1/documents", json=body, headers=auth), 409)
    other = post(client, auth, "documents", {"source_id": world.source2["id"], "title": "Other"})
    response = client.patch(f"/v1/documents/{other['id']}", json={"url": world.document["url"]}, headers=auth)
    problem(response, 409)
    # documents without url do not clash
    post(client, auth, "documents", {"source_id": world.source2["id"], "title": "Third"})


def test_duplicate_ref_is_409(client: TestClient, auth: Headers) -> None:
    post(client, auth, "sources", {"ref": "src:x", "name": "One", "kind": "ngo"})
    problem(
        client.post("/v1/sources", json={"ref": "src:x", "name": "Two", "kind": "ngo"}, headers=auth), 409
    )


# --- DELETE ------------------------------------------------------------------------------------


def test_delete_of_referenced_rows_is_409(client: TestClient, auth: Headers, world: World) -> None:
    blocked = [
        ("actors", world.parent["id"]),  # used by an event, and has a child
        ("actors", world.child["id"]),  # speaker of a statement
        ("actors", world.other["id"]),  # mentioned by a statement
        ("sources", world.source["id"]),  # has documents
        ("documents", world.document["id"]),  # cited, and a statement's document
        ("events", world.event["id"]),  # statements are about it
    ]
    for resource, row_id in blocked:
        problem(client.delete(f"/v1/{resource}/{row_id}", headers=auth), 409)
        assert client.get(f"/v1/{resource}/{row_id}").status_code == 200


def test_delete_blocked_by_each_kind_of_reference(client: TestClient, auth: Headers) -> None:
    parent = post(client, auth, "actors", {"name": "P", "kind": "state"})
    post(client, auth, "actors", {"name": "C", "kind": "state", "parent_id": parent["id"]})
    problem(client.delete(f"/v1/actors/{parent['id']}", headers=auth), 409)  # child actor

    used = post(client, auth, "actors", {"name": "U", "kind": "state"})
    post(
        client,
        auth,
        "events",
        {
            "title": "E",
            "type": "riot",
            "start_date": "2025-01-01",
            "actors": [{"actor_id": used["id"], "role": "side_a"}],
        },
    )
    problem(client.delete(f"/v1/actors/{used['id']}", headers=auth), 409)  # event actor

    source = post(client, auth, "sources", {"name": "S", "kind": "ngo"})
    document = post(client, auth, "documents", {"source_id": source["id"], "title": "D"})
    post(
        client,
        auth,
        "statements",
        {"speaker_id": parent["id"], "document_id": document["id"], "stated_on": "2025-01-01", "text": "t"},
    )
    problem(client.delete(f"/v1/documents/{document['id']}", headers=auth), 409)  # statement's document


def test_delete_cascades_owned_rows(client: TestClient, auth: Headers, world: World) -> None:
    statement_id, event_id = world.statement["id"], world.event["id"]
    response = client.delete(f"/v1/statements/{statement_id}", headers=auth)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/v1/statements/{statement_id}").status_code == 404
    # the mention went with it: the mentioned actor can go now
    assert client.delete(f"/v1/actors/{world.other['id']}", headers=auth).status_code == 204
    # the event's actor links and citations go with the event
    assert client.delete(f"/v1/events/{event_id}", headers=auth).status_code == 204
    assert client.get(f"/v1/events/{event_id}").status_code == 404
    assert client.delete(f"/v1/documents/{world.document['id']}", headers=auth).status_code == 204
    assert client.delete(f"/v1/sources/{world.source['id']}", headers=auth).status_code == 204
    # child first, then parent (aliases go with it)
    assert client.delete(f"/v1/actors/{world.child['id']}", headers=auth).status_code == 204
    assert client.delete(f"/v1/actors/{world.parent['id']}", headers=auth).status_code == 204
    assert client.delete(f"/v1/actors/{world.parent['id']}", headers=auth).status_code == 404
    # the freed alias and name can be used again
    post(client, auth, "actors", {"name": "RB", "kind": "state", "aliases": ["Belarus"]})


def test_ids_of_deleted_rows_are_not_reused(client: TestClient, auth: Headers) -> None:
    """A tombstone's id must not come back as another row (feed consumers key rows by id)."""
    first = post(client, auth, "sources", {"name": "First", "kind": "ngo"})
    assert client.delete(f"/v1/sources/{first['id']}", headers=auth).status_code == 204
    second = post(client, auth, "sources", {"name": "Second", "kind": "ngo"})
    assert second["id"] != first["id"]


def test_write_to_missing_row_is_404(client: TestClient, auth: Headers) -> None:
    problem(client.patch("/v1/sources/12345", json={"name": "x"}, headers=auth), 404)
    problem(client.delete("/v1/events/12345", headers=auth), 404)


# --- PATCH -------------------------------------------------------------------------------------


def test_patch_changes_only_sent_fields(client: TestClient, auth: Headers, world: World) -> None:
    before = client.get(f"/v1/events/{world.event['id']}").json()
    response = client.patch(f"/v1/events/{world.event['id']}", json={"fatalities_best": 3}, headers=auth)
    assert response.status_code == 200
    after = response.json()
    assert after["fatalities_best"] == 3
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"fatalities_best", "updated_at"}
    assert after["created_at"] == before["created_at"]


def test_patch_null_clears_nullable_fields(client: TestClient, auth: Headers, world: World) -> None:
    source_id = world.source["id"]
    client.patch(f"/v1/sources/{source_id}", json={"country": "us", "description": "d"}, headers=auth)
    response = client.patch(
        f"/v1/sources/{source_id}", json={"country": None, "description": None}, headers=auth
    )
    assert response.status_code == 200
    body = response.json()
    assert body["country"] is None and body["description"] is None and body["name"] == "Forbes"
    # a required field cannot be cleared
    problem(client.patch(f"/v1/sources/{source_id}", json={"name": None}, headers=auth), 422)
    # the parent of an actor can be cleared
    response = client.patch(f"/v1/actors/{world.child['id']}", json={"parent_id": None}, headers=auth)
    assert response.status_code == 200
    assert response.json()["parent"] is None
    # the statement's event and document
    response = client.patch(
        f"/v1/statements/{world.statement['id']}", json={"event_id": None, "document_id": None}, headers=auth
    )
    assert response.status_code == 200
    assert response.json()["event_id"] is None and response.json()["reliability"] is None


def test_patch_event_lists_replace_whole_list(client: TestClient, auth: Headers, world: World) -> None:
    event_id = world.event["id"]
    other_doc = post(client, auth, "documents", {"source_id": world.source2["id"], "title": "R"})
    response = client.patch(
        f"/v1/events/{event_id}",
        json={"actors": [{"actor_id": world.other["id"], "role": "participant"}]},
        headers=auth,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["actors"] == [{"actor_id": world.other["id"], "role": "participant", "name": "Russia"}]
    assert [c["document_id"] for c in body["citations"]] == [world.document["id"]]  # untouched
    response = client.patch(
        f"/v1/events/{event_id}",
        json={"citations": [{"document_id": other_doc["id"], "credibility": 1}]},
        headers=auth,
    )
    body = response.json()
    assert [(c["document_id"], c["credibility"]) for c in body["citations"]] == [(other_doc["id"], 1)]
    assert body["source_count"] == 1 and body["best_reliability"] == "F"
    response = client.patch(f"/v1/events/{event_id}", json={"actors": [], "citations": []}, headers=auth)
    body = response.json()
    assert body["actors"] == [] and body["citations"] == [] and body["source_count"] == 0
    assert body["best_reliability"] is None
    # the old document is no longer cited; the statement still refers to it
    problem(client.delete(f"/v1/documents/{world.document['id']}", headers=auth), 409)
    assert client.delete(f"/v1/documents/{other_doc['id']}", headers=auth).status_code == 204


def test_patch_statement_mentions_replace(client: TestClient, auth: Headers, world: World) -> None:
    response = client.patch(
        f"/v1/statements/{world.statement['id']}",
        json={"mentions": [world.parent["id"], world.other["id"]]},
        headers=auth,
    )
    assert [m["id"] for m in response.json()["mentions"]] == [world.parent["id"], world.other["id"]]


def test_patch_is_validated_on_the_merged_row(client: TestClient, auth: Headers, world: World) -> None:
    event_id = world.event["id"]  # 2025-09-12 .. 2025-09-16
    problem(client.patch(f"/v1/events/{event_id}", json={"start_date": "2025-09-20"}, headers=auth), 422)
    response = client.patch(
        f"/v1/events/{event_id}", json={"start_date": "2025-09-20", "end_date": "2025-09-21"}, headers=auth
    )
    assert response.status_code == 200
    problem(client.patch(f"/v1/events/{event_id}", json={"end_date": "2025-09-19"}, headers=auth), 422)
    problem(client.patch(f"/v1/events/{event_id}", json={"latitude": 10}, headers=auth), 422)
    client.patch(f"/v1/events/{event_id}", json={"fatalities_low": 5}, headers=auth)
    problem(client.patch(f"/v1/events/{event_id}", json={"fatalities_best": 4}, headers=auth), 422)
    # a claim value without measure, after clearing it
    response = client.patch(f"/v1/statements/{world.statement['id']}", json={"measure": None}, headers=auth)
    problem(response, 422)
    problem(
        client.patch(f"/v1/statements/{world.statement['id']}", json={"speaker_id": 999}, headers=auth), 422
    )
    assert client.get(f"/v1/events/{event_id}").json()["start_date"] == "2025-09-20"


def test_patch_unknown_field_or_bad_enum_is_422(client: TestClient, auth: Headers, world: World) -> None:
    problem(client.patch(f"/v1/sources/{world.source['id']}", json={"colour": "red"}, headers=auth), 422)
    problem(client.patch(f"/v1/sources/{world.source['id']}", json={"kind": "blog"}, headers=auth), 422)


def test_identical_patch_changes_nothing(client: TestClient, auth: Headers, world: World) -> None:
    before = client.get(f"/v1/actors/{world.parent['id']}")
    seq = client.get("/v1/changes", params={"limit": 1000}).json()["next_after"]
    response = client.patch(f"/v1/actors/{world.parent['id']}", json={"name": "Belarus"}, headers=auth)
    assert response.status_code == 200
    assert response.json()["updated_at"] == before.json()["updated_at"]
    assert response.headers["etag"] == before.headers["etag"]
    assert client.get("/v1/changes", params={"after": seq}).json()["items"] == []


# --- ETag / If-Match ---------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["sources", "documents", "actors", "events", "statements"])
def test_if_match(client: TestClient, auth: Headers, world: World, resource: str) -> None:
    row = {
        "sources": world.source2,
        "documents": world.document,
        "actors": world.other,
        "events": world.event,
        "statements": world.statement,
    }[resource]
    change = {
        "sources": {"description": "changed"},
        "documents": {"title": "changed"},
        "actors": {"description": "changed"},
        "events": {"description": "changed"},
        "statements": {"text": "changed"},
    }[resource]
    url = f"/v1/{resource}/{row['id']}"
    stale = client.get(url).headers["etag"]
    response = client.patch(url, json=change, headers={**auth, "If-Match": stale})
    assert response.status_code == 200
    fresh = response.headers["etag"]
    assert fresh != stale
    assert client.get(url).headers["etag"] == fresh
    # the old ETag no longer matches, for PATCH and DELETE
    problem(client.patch(url, json={**change}, headers={**auth, "If-Match": stale}), 412)
    problem(client.delete(url, headers={**auth, "If-Match": stale}), 412)
    assert client.get(url).status_code == 200
    # a list with the current tag matches; so does *
    response = client.patch(url, json=change, headers={**auth, "If-Match": f'"nope", {fresh}'})
    assert response.status_code == 200
    response = client.patch(url, json=change, headers={**auth, "If-Match": "*"})
    assert response.status_code == 200


def test_delete_with_matching_if_match(client: TestClient, auth: Headers) -> None:
    source = post(client, auth, "sources", {"name": "S", "kind": "ngo"})
    url = f"/v1/sources/{source['id']}"
    etag = client.get(url).headers["etag"]
    assert client.delete(url, headers={**auth, "If-Match": etag}).status_code == 204
    assert client.get(url).status_code == 404


def test_etag_changes_when_embedded_row_changes(client: TestClient, auth: Headers, world: World) -> None:
    """An event's read form embeds actor names: renaming the actor changes the event's ETag."""
    url = f"/v1/events/{world.event['id']}"
    stale = client.get(url).headers["etag"]
    client.patch(f"/v1/actors/{world.parent['id']}", json={"name": "Republic of Belarus"}, headers=auth)
    assert client.get(url).headers["etag"] != stale
    problem(client.patch(url, json={"title": "x"}, headers={**auth, "If-Match": stale}), 412)


def test_conditional_get_after_patch(client: TestClient, auth: Headers, world: World) -> None:
    url = f"/v1/sources/{world.source['id']}"
    response = client.patch(url, json={"description": "new"}, headers=auth)
    etag = response.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_write_is_committed_before_the_answer(client: TestClient, auth: Headers) -> None:
    """A commit that fails must not have been answered 201 already."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def fail(session: Session) -> None:
        raise RuntimeError("commit failed")

    event.listen(Session, "before_commit", fail)
    try:
        response = client.post("/v1/sources", json={"name": "Never", "kind": "ngo"}, headers=auth)
    finally:
        event.remove(Session, "before_commit", fail)
    assert response.status_code >= 500
    assert client.get("/v1/sources").json()["items"] == []


def test_patch_rule_errors_name_the_field(client: TestClient, auth: Headers, world: World) -> None:
    response = client.patch(
        f"/v1/events/{world.event['id']}", json={"start_date": "2025-10-01"}, headers=auth
    )
    assert problem(response, 422)["errors"][0]["loc"] == ["body", "end_date"]
    response = client.patch(f"/v1/statements/{world.statement['id']}", json={"measure": None}, headers=auth)
    assert problem(response, 422)["errors"][0]["loc"] == ["body", "measure"]

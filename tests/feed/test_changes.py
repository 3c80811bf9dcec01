"""GET /v1/changes: one entry per row written, in order, never cached."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

Headers = dict[str, str]


def feed(client: TestClient, after: int = 0, limit: int = 1000) -> dict[str, Any]:
    response = client.get("/v1/changes", params={"after": after, "limit": limit})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def entries(client: TestClient, after: int = 0) -> list[tuple[str, int, str | None, str]]:
    return [(c["resource"], c["id"], c["ref"], c["op"]) for c in feed(client, after)["items"]]


def last_seq(client: TestClient) -> int:
    return int(feed(client)["next_after"])


def post(client: TestClient, auth: Headers, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/v1/{resource}", json=body, headers=auth)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_empty_feed(client: TestClient) -> None:
    response = client.get("/v1/changes")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_after": 0}
    assert response.headers["cache-control"] == "no-cache"
    assert client.get("/v1/changes", params={"after": 50}).json() == {"items": [], "next_after": 50}


def test_each_write_appends_in_order(client: TestClient, auth: Headers) -> None:
    source = post(client, auth, "sources", {"ref": "src:a", "name": "A", "kind": "ngo"})
    document = post(client, auth, "documents", {"ref": "doc:a", "source_id": source["id"], "title": "D"})
    actor = post(client, auth, "actors", {"ref": "act:a", "name": "Actor", "kind": "state"})
    event = post(
        client,
        auth,
        "events",
        {
            "ref": "ev:a",
            "title": "E",
            "type": "riot",
            "start_date": "2025-01-01",
            "actors": [{"actor_id": actor["id"], "role": "side_a"}],
            "citations": [{"document_id": document["id"]}],
        },
    )
    statement = post(
        client,
        auth,
        "statements",
        {"speaker_id": actor["id"], "event_id": event["id"], "stated_on": "2025-01-02", "text": "t"},
    )
    assert client.patch(f"/v1/events/{event['id']}", json={"title": "E2"}, headers=auth).status_code == 200
    assert client.delete(f"/v1/statements/{statement['id']}", headers=auth).status_code == 204
    assert entries(client) == [
        ("sources", source["id"], "src:a", "upsert"),
        ("documents", document["id"], "doc:a", "upsert"),
        ("actors", actor["id"], "act:a", "upsert"),
        ("events", event["id"], "ev:a", "upsert"),
        ("statements", statement["id"], None, "upsert"),
        ("events", event["id"], "ev:a", "upsert"),
        ("statements", statement["id"], None, "delete"),
    ]
    items = feed(client)["items"]
    seqs = [c["seq"] for c in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for item in items:
        assert item["changed_at"].endswith("Z")
    assert set(items[0]) == {"seq", "resource", "id", "ref", "op", "changed_at"}


def test_tombstones_keep_ref(client: TestClient, auth: Headers) -> None:
    source = post(client, auth, "sources", {"ref": "src:gone", "name": "Gone", "kind": "ngo"})
    seq = last_seq(client)
    assert client.delete(f"/v1/sources/{source['id']}", headers=auth).status_code == 204
    assert entries(client, seq) == [("sources", source["id"], "src:gone", "delete")]


def test_embedding_rows_are_not_recorded(client: TestClient, auth: Headers) -> None:
    """Renaming an actor changes what events and statements embed, but only the actor is written."""
    source = post(client, auth, "sources", {"name": "S", "kind": "ngo"})
    document = post(client, auth, "documents", {"source_id": source["id"], "title": "D"})
    actor = post(client, auth, "actors", {"name": "Actor", "kind": "state"})
    child = post(client, auth, "actors", {"name": "Child", "kind": "state", "parent_id": actor["id"]})
    post(
        client,
        auth,
        "events",
        {
            "title": "E",
            "type": "riot",
            "start_date": "2025-01-01",
            "actors": [{"actor_id": actor["id"], "role": "side_a"}],
            "citations": [{"document_id": document["id"]}],
        },
    )
    post(
        client,
        auth,
        "statements",
        {"speaker_id": actor["id"], "stated_on": "2025-01-02", "text": "t", "mentions": [actor["id"]]},
    )
    seq = last_seq(client)
    client.patch(f"/v1/actors/{actor['id']}", json={"name": "Renamed"}, headers=auth)
    client.patch(f"/v1/sources/{source['id']}", json={"reliability": "A"}, headers=auth)
    assert entries(client, seq) == [
        ("actors", actor["id"], None, "upsert"),
        ("sources", source["id"], None, "upsert"),
    ]
    assert child["id"] not in [c["id"] for c in feed(client, seq)["items"] if c["resource"] == "actors"]


def test_patch_of_owned_lists_records_the_owner_once(client: TestClient, auth: Headers) -> None:
    a = post(client, auth, "actors", {"name": "A", "kind": "state"})
    b = post(client, auth, "actors", {"name": "B", "kind": "state"})
    event = post(client, auth, "events", {"title": "E", "type": "riot", "start_date": "2025-01-01"})
    seq = last_seq(client)
    response = client.patch(
        f"/v1/events/{event['id']}",
        json={"actors": [{"actor_id": a["id"], "role": "side_a"}, {"actor_id": b["id"], "role": "side_b"}]},
        headers=auth,
    )
    assert response.status_code == 200
    client.patch(f"/v1/actors/{a['id']}", json={"aliases": ["Alpha"]}, headers=auth)
    assert entries(client, seq) == [
        ("events", event["id"], None, "upsert"),
        ("actors", a["id"], None, "upsert"),
    ]


def test_noop_writes_record_nothing(client: TestClient, auth: Headers) -> None:
    source = post(client, auth, "sources", {"name": "S", "kind": "ngo", "reliability": "C"})
    seq = last_seq(client)
    client.patch(f"/v1/sources/{source['id']}", json={"reliability": "c"}, headers=auth)
    client.patch(f"/v1/sources/{source['id']}", json={}, headers=auth)
    assert entries(client, seq) == []


def test_load_records_each_row_written(client: TestClient, auth: Headers) -> None:
    dataset = {
        "sources": [
            {"ref": "s:1", "name": "One", "kind": "ngo"},
            {"ref": "s:2", "name": "Two", "kind": "ngo"},
        ]
    }
    client.post("/v1/load", json=dataset, headers=auth)
    assert [(r, ref, op) for r, _, ref, op in entries(client)] == [
        ("sources", "s:1", "upsert"),
        ("sources", "s:2", "upsert"),
    ]
    seq = last_seq(client)
    client.post("/v1/load", json=dataset, headers=auth)
    assert entries(client, seq) == []
    dataset["sources"][1]["kind"] = "research"
    client.post("/v1/load", json=dataset, headers=auth)
    assert [ref for _, _, ref, _ in entries(client, seq)] == ["s:2"]


def test_next_after_paging_visits_everything_once(client: TestClient, auth: Headers) -> None:
    for n in range(7):
        post(client, auth, "sources", {"ref": f"s:{n}", "name": f"S{n}", "kind": "ngo"})
    seen: list[str] = []
    after = 0
    while True:
        page = feed(client, after, limit=3)
        assert len(page["items"]) <= 3
        if not page["items"]:
            assert page["next_after"] == after
            break
        seen.extend(c["ref"] for c in page["items"])
        assert page["next_after"] == page["items"][-1]["seq"]
        after = page["next_after"]
    assert seen == [f"s:{n}" for n in range(7)]
    # nothing new: polling again is empty and keeps its position
    assert feed(client, after) == {"items": [], "next_after": after}
    post(client, auth, "sources", {"ref": "s:late", "name": "Late", "kind": "ngo"})
    assert [c["ref"] for c in feed(client, after)["items"]] == ["s:late"]


@pytest.mark.parametrize("params", [{"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 1001}])
def test_bad_parameters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/v1/changes", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_feed_is_never_cached(client: TestClient, auth: Headers) -> None:
    post(client, auth, "sources", {"name": "S", "kind": "ngo"})
    response = client.get("/v1/changes")
    assert response.headers["cache-control"] == "no-cache"
    # even a conditional request gets the current answer's headers; no max-age anywhere
    etag = response.headers.get("etag")
    if etag:
        again = client.get("/v1/changes", headers={"If-None-Match": etag})
        assert "max-age" not in again.headers["cache-control"]


def test_failed_requests_leave_no_change(client: TestClient, auth: Headers) -> None:
    source = post(client, auth, "sources", {"ref": "s", "name": "S", "kind": "ngo"})
    actor = post(client, auth, "actors", {"name": "A", "kind": "state"})
    document = post(client, auth, "documents", {"source_id": source["id"], "title": "D"})
    post(
        client,
        auth,
        "statements",
        {"speaker_id": actor["id"], "document_id": document["id"], "stated_on": "2025-01-01", "text": "t"},
    )
    seq = last_seq(client)
    failures = [
        client.post("/v1/sources", json={"name": "s", "kind": "ngo"}, headers=auth),  # 409
        client.post(
            "/v1/events",
            json={"title": "E", "type": "riot", "start_date": "2025-01-02", "end_date": "2025-01-01"},
            headers=auth,
        ),  # 422
        client.patch(f"/v1/sources/{source['id']}", json={"kind": "blog"}, headers=auth),  # 422
        client.patch(
            f"/v1/sources/{source['id']}", json={"name": "x"}, headers={**auth, "If-Match": '"old"'}
        ),
        client.delete(f"/v1/sources/{source['id']}", headers=auth),  # 409: has documents
        client.delete(f"/v1/actors/{actor['id']}", headers=auth),  # 409: speaker
        client.post(
            "/v1/load",
            json={
                "sources": [
                    {"ref": "n", "name": "N", "kind": "ngo"},
                    {"ref": "m", "name": "M", "kind": "bad"},
                ]
            },
            headers=auth,
        ),
        client.post("/v1/sources", json={"name": "T", "kind": "ngo"}),  # 401
    ]
    assert [r.status_code for r in failures] == [409, 422, 422, 412, 409, 409, 422, 401]
    assert entries(client, seq) == []
    assert client.get(f"/v1/sources/{source['id']}").json()["name"] == "S"


def test_actor_with_parent_in_same_load_records_both(client: TestClient, auth: Headers) -> None:
    dataset = {
        "actors": [
            {"ref": "a:child", "name": "Child", "kind": "person", "parent": "a:parent"},
            {"ref": "a:parent", "name": "Parent", "kind": "state"},
        ]
    }
    client.post("/v1/load", json=dataset, headers=auth)
    assert sorted(str(ref) for _, _, ref, _ in entries(client)) == ["a:child", "a:parent"]

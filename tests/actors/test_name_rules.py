"""A name or alias identifies one actor: each way two actors could share one is a 409 that
names the holder, through the API and the loader alike; an actor's own alias may move freely."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import actor, assert_problem, dataset

Headers = dict[str, str]


def _create(client: TestClient, auth: Headers, body: dict[str, object]) -> int:
    response = client.post("/v1/actors", json={"kind": "state", **body}, headers=auth)
    assert response.status_code == 201, response.text
    created: int = response.json()["id"]
    return created


def test_an_alias_already_held_by_another_actor_is_409(client: TestClient, auth: Headers) -> None:
    holder = _create(client, auth, {"name": "Belarus", "aliases": ["Беларусь"]})
    body = {"name": "Other", "kind": "state", "aliases": ["БЕЛАРУСЬ"]}
    problem = assert_problem(client.post("/v1/actors", json=body, headers=auth), 409)
    assert problem["detail"].endswith(f"already identifies actor {holder}")


def test_an_alias_that_is_another_actors_name_is_409(client: TestClient, auth: Headers) -> None:
    holder = _create(client, auth, {"name": "Belarus"})
    body = {"name": "Other", "kind": "state", "aliases": ["BELARUS"]}
    problem = assert_problem(client.post("/v1/actors", json=body, headers=auth), 409)
    assert problem["detail"].endswith(f"is the name of actor {holder}")


def test_a_name_that_is_another_actors_alias_is_409(client: TestClient, auth: Headers) -> None:
    holder = _create(client, auth, {"name": "Belarus", "aliases": ["Republic of Belarus"]})
    body = {"name": "republic of belarus", "kind": "state"}
    problem = assert_problem(client.post("/v1/actors", json=body, headers=auth), 409)
    assert problem["detail"].endswith(f"is an alias of actor {holder}")


def test_an_alias_may_move_between_actors_of_one_load(client: TestClient, auth: Headers) -> None:
    first = dataset(actor("a:1", "First", aliases=["Shared"]), actor("a:2", "Second"))
    assert client.post("/v1/load", json=first, headers=auth).status_code == 200
    moved = dataset(actor("a:1", "First"), actor("a:2", "Second", aliases=["Shared"]))
    assert client.post("/v1/load", json=moved, headers=auth).status_code == 200
    found = client.get("/v1/actors", params={"q": "shared"}).json()["items"]
    assert [item["ref"] for item in found] == ["a:2"]

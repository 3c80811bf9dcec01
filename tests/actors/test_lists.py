"""API.md §2, Actors: the list's filters and sort order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import actor, assert_problem, dataset, ids_by_ref, ref_set, refs

Load = Callable[[dict[str, Any]], Any]


@pytest.fixture
def people(load: Load) -> None:
    load(
        dataset(
            actor("by", "Belarus", aliases=["Republic of Belarus", "Рэспубліка Беларусь"], country="BY"),
            actor(
                "by-mod", "Ministry of Defence of Belarus", parent="by", kind="government_body", country="by"
            ),
            actor("lukashenka", "Aliaksandr Lukashenka", parent="by", kind="person", aliases=["LUKASHENKO"]),
            actor("ru", "Russia", aliases=["Russian Federation"], country="RU"),
            actor("nato", "NATO", kind="alliance", aliases=["North Atlantic Treaty Organization"]),
            actor("wagner", "wagner Group", kind="armed_group", parent="ru"),
        )
    )


def test_actors_q_matches_name_or_alias_case_insensitively(client: TestClient, people: None) -> None:
    assert ref_set(client, "/v1/actors", {"q": "belarus"}) == {"by", "by-mod"}
    assert ref_set(client, "/v1/actors", {"q": "lukashenko"}) == {"lukashenka"}
    assert ref_set(client, "/v1/actors", {"q": "ATLANTIC"}) == {"nato"}
    assert ref_set(client, "/v1/actors", {"q": "федерация"}) == set()
    assert ref_set(client, "/v1/actors", {"q": "РЭСПУБЛІКА"}) == {"by"}
    assert ref_set(client, "/v1/actors", {"q": "RUSS"}) == {"ru"}


def test_actors_q_alias_match_lists_the_actor_once(client: TestClient, people: None) -> None:
    # "Belarus" is in the name and in two aliases: still one row.
    assert refs(client.get("/v1/actors", params={"q": "Belarus", "ref": "by"})) == ["by"]


def test_actors_kind_country_parent_filters(client: TestClient, people: None) -> None:
    ids = ids_by_ref(client, "/v1/actors")
    assert ref_set(client, "/v1/actors", {"kind": "person"}) == {"lukashenka"}
    assert ref_set(client, "/v1/actors", [("kind", "alliance"), ("kind", "armed_group")]) == {
        "nato",
        "wagner",
    }
    assert ref_set(client, "/v1/actors", {"country": "by"}) == {"by", "by-mod"}
    assert ref_set(client, "/v1/actors", [("country", "BY"), ("country", "ru")]) == {"by", "by-mod", "ru"}
    assert ref_set(client, "/v1/actors", {"parent_id": ids["by"]}) == {"by-mod", "lukashenka"}
    assert ref_set(client, "/v1/actors", [("parent_id", ids["by"]), ("parent_id", ids["ru"])]) == {
        "by-mod",
        "lukashenka",
        "wagner",
    }
    assert ref_set(client, "/v1/actors", {"parent_id": ids["by"], "kind": "person"}) == {"lukashenka"}


def test_actors_sorted_by_name_case_insensitively(client: TestClient, people: None) -> None:
    names = [item["name"] for item in client.get("/v1/actors").json()["items"]]
    assert names == sorted(names, key=str.casefold)
    assert names.index("NATO") < names.index("Russia") < names.index("wagner Group")


def test_actor_list_items_carry_aliases_in_given_order(client: TestClient, people: None) -> None:
    item = client.get("/v1/actors", params={"ref": "by"}).json()["items"][0]
    assert item["aliases"] == ["Republic of Belarus", "Рэспубліка Беларусь"]
    assert item["country"] == "BY" and item["parent_id"] is None


@pytest.mark.parametrize(
    "params", [{"kind": "country"}, {"country": "ZZ"}, {"parent_id": "x"}, {"parent_id": 0}]
)
def test_actors_bad_filters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert_problem(client.get("/v1/actors", params=params), 422)


def test_ref_filter_on_actors(client: TestClient, people: None) -> None:
    assert ref_set(client, "/v1/actors", [("ref", "nato"), ("ref", "wagner"), ("ref", "nope")]) == {
        "nato",
        "wagner",
    }

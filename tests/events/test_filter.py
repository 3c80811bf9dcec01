"""API.md §2, Events: every filter of `GET /v1/events`, with data shaped to break it."""

from __future__ import annotations

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
    ref_set,
    refs,
    source,
)

Load = Callable[[dict[str, Any]], Any]
EVENTS = "/v1/events"


# --- date_from / date_to: inclusive, overlapping ------------------------------------------------


@pytest.fixture
def dated(load: Load) -> None:
    load(
        dataset(
            event("before", "2025-03-01", "2025-03-09"),
            event("ends-on-from", "2025-03-01", "2025-03-10"),
            event("one-day-on-from", "2025-03-10"),
            event("inside", "2025-03-15"),
            event("starts-on-to", "2025-03-20", "2025-03-25"),
            event("after", "2025-03-21", "2025-04-02"),
            event("spans-all", "2025-02-01", "2025-04-30"),
        )
    )


def test_date_range_matches_every_overlap_and_its_edges(client: TestClient, dated: None) -> None:
    got = ref_set(client, EVENTS, {"date_from": "2025-03-10", "date_to": "2025-03-20"})
    assert got == {"ends-on-from", "one-day-on-from", "inside", "starts-on-to", "spans-all"}


def test_date_from_alone(client: TestClient, dated: None) -> None:
    got = ref_set(client, EVENTS, {"date_from": "2025-03-21"})
    assert got == {"starts-on-to", "after", "spans-all"}


def test_date_to_alone(client: TestClient, dated: None) -> None:
    got = ref_set(client, EVENTS, {"date_to": "2025-03-09"})
    assert got == {"before", "ends-on-from", "spans-all"}


def test_single_day_range(client: TestClient, dated: None) -> None:
    got = ref_set(client, EVENTS, {"date_from": "2025-03-10", "date_to": "2025-03-10"})
    assert got == {"ends-on-from", "one-day-on-from", "spans-all"}


def test_one_day_event_gets_end_date_equal_to_start(client: TestClient, dated: None) -> None:
    item = client.get(EVENTS, params={"ref": "inside"}).json()["items"][0]
    assert item["start_date"] == item["end_date"] == "2025-03-15"


def test_date_from_after_date_to_is_422(client: TestClient) -> None:
    assert_problem(client.get(EVENTS, params={"date_from": "2025-03-02", "date_to": "2025-03-01"}), 422)


@pytest.mark.parametrize(
    "value",
    [
        "2025-13-01",
        "2025-02-30",
        "yesterday",
        "12/03/2025",
        "",
        "0",
        "20250301",
        "2025-03-01T00:00:00",
        "١٢٣٤-٠١-٠١",
    ],
)
def test_malformed_date_is_422(client: TestClient, value: str) -> None:
    body = assert_problem(client.get(EVENTS, params={"date_from": value}), 422)
    assert any("date_from" in error["loc"] for error in body["errors"])


# --- actors: names, aliases, ids, descendants, roles --------------------------------------------


@pytest.fixture
def tree(load: Load) -> None:
    """Union State > Belarus > Armed Forces > Western Command > 19th Brigade, and Poland apart."""
    load(
        dataset(
            actor("union", "Union State", kind="alliance"),
            actor("by", "Belarus", parent="union", aliases=["Republic of Belarus", "Беларусь"]),
            actor("by-af", "Armed Forces of Belarus", parent="by", kind="armed_force"),
            actor("by-west", "Western Operational Command", parent="by-af", kind="armed_force"),
            actor("by-19", "19th Mechanised Brigade", parent="by-west", kind="armed_force"),
            actor("pl", "Poland", aliases=["Rzeczpospolita Polska"]),
            event("e-union", actors=[link("union", "host")]),
            event("e-by", actors=[link("by", "side_a"), link("pl", "side_b")]),
            event("e-af", actors=[link("by-af", "participant")]),
            event("e-west", actors=[link("by-west", "side_b")]),
            event("e-19", actors=[link("by-19", "side_a")]),
            event("e-pl", actors=[link("pl", "side_a")]),
            event("e-none"),
        )
    )


def test_actor_includes_descendants_at_any_depth_by_default(client: TestClient, tree: None) -> None:
    assert ref_set(client, EVENTS, {"actor": "Belarus"}) == {"e-by", "e-af", "e-west", "e-19"}
    assert ref_set(client, EVENTS, {"actor": "Union State"}) == {
        "e-union",
        "e-by",
        "e-af",
        "e-west",
        "e-19",
    }


def test_include_descendants_false_matches_only_the_actor(client: TestClient, tree: None) -> None:
    params = {"actor": "Belarus", "include_descendants": "false"}
    assert ref_set(client, EVENTS, params) == {"e-by"}
    params = {"actor": "Armed Forces of Belarus", "include_descendants": "true"}
    assert ref_set(client, EVENTS, params) == {"e-af", "e-west", "e-19"}


def test_actor_by_alias_and_name_in_odd_case(client: TestClient, tree: None) -> None:
    expected = {"e-by", "e-af", "e-west", "e-19"}
    for name in ("bElArUs", "rEPUBLIC of belarus", "БЕЛАРУСЬ", "  Belarus  "):
        assert ref_set(client, EVENTS, {"actor": name}) == expected, name


def test_actor_id_matches_like_actor_name(client: TestClient, tree: None) -> None:
    ids = ids_by_ref(client, "/v1/actors")
    assert ref_set(client, EVENTS, {"actor_id": ids["by-west"]}) == {"e-west", "e-19"}
    params = {"actor_id": ids["by-west"], "include_descendants": "false"}
    assert ref_set(client, EVENTS, params) == {"e-west"}


def test_repeated_actor_filters_are_or(client: TestClient, tree: None) -> None:
    ids = ids_by_ref(client, "/v1/actors")
    params: list[tuple[str, Any]] = [("actor", "Poland"), ("actor", "19th mechanised brigade")]
    assert ref_set(client, EVENTS, params) == {"e-by", "e-pl", "e-19"}
    params = [("actor_id", ids["pl"]), ("actor", "Western Operational Command")]
    assert ref_set(client, EVENTS, params) == {"e-by", "e-pl", "e-west", "e-19"}


def test_role_narrows_the_actor_filter(client: TestClient, tree: None) -> None:
    assert ref_set(client, EVENTS, {"actor": "Belarus", "role": "side_a"}) == {"e-by", "e-19"}
    assert ref_set(client, EVENTS, {"actor": "Belarus", "role": "side_b"}) == {"e-west"}
    params = [("actor", "Belarus"), ("role", "side_b"), ("role", "participant")]
    assert ref_set(client, EVENTS, params) == {"e-west", "e-af"}
    # Poland is side_b in e-by, but the role applies to the filtered actor, not to any actor.
    alone = {"actor": "Belarus", "role": "side_b", "include_descendants": "false"}
    assert ref_set(client, EVENTS, alone) == set()


def test_event_matching_through_several_links_is_listed_once(
    client: TestClient, load: Load, tree: None
) -> None:
    load(
        dataset(
            event("e-double", actors=[link("by", "side_a"), link("by-af", "side_b"), link("by-19", "host")])
        )
    )
    got = refs(client.get(EVENTS, params=[("actor", "Belarus"), ("actor", "Union State"), ("limit", 500)]))
    assert sorted(got) == sorted(set(got))
    assert "e-double" in got


def test_role_without_actor_is_422(client: TestClient, tree: None) -> None:
    assert_problem(client.get(EVENTS, params={"role": "side_a"}), 422)


def test_unknown_role_is_422(client: TestClient, tree: None) -> None:
    assert_problem(client.get(EVENTS, params={"actor": "Belarus", "role": "aggressor"}), 422)


def test_unknown_actor_name_is_422_naming_it(client: TestClient, tree: None) -> None:
    body = assert_problem(client.get(EVENTS, params=[("actor", "Belarus"), ("actor", "Narnia")]), 422)
    assert "Narnia" in body["detail"]


def test_unknown_actor_id_is_422_naming_it(client: TestClient, tree: None) -> None:
    body = assert_problem(client.get(EVENTS, params={"actor_id": 987654}), 422)
    assert "987654" in body["detail"]


def test_event_actors_carry_names(client: TestClient, tree: None) -> None:
    item = client.get(EVENTS, params={"ref": "e-by"}).json()["items"][0]
    ids = ids_by_ref(client, "/v1/actors")
    assert item["actors"] == [
        {"actor_id": ids["by"], "role": "side_a", "name": "Belarus"},
        {"actor_id": ids["pl"], "role": "side_b", "name": "Poland"},
    ]


# --- type, country, ref, combination ------------------------------------------------------------


@pytest.fixture
def typed(load: Load) -> None:
    load(
        dataset(
            event("riot-by", type="riot", country="BY"),
            event("protest-pl", type="protest", country="PL"),
            event("protest-ee", type="protest", country="EE"),
            event("clash-ee", type="armed_clash", country="EE"),
            event("clash-none", type="armed_clash"),
        )
    )


def test_repeated_type_is_or(client: TestClient, typed: None) -> None:
    got = ref_set(client, EVENTS, [("type", "riot"), ("type", "protest")])
    assert got == {"riot-by", "protest-pl", "protest-ee"}


def test_country_any_case_and_repeated(client: TestClient, typed: None) -> None:
    assert ref_set(client, EVENTS, {"country": "ee"}) == {"protest-ee", "clash-ee"}
    assert ref_set(client, EVENTS, [("country", "Pl"), ("country", "BY")]) == {"riot-by", "protest-pl"}


def test_different_filters_are_and(client: TestClient, typed: None) -> None:
    params = [("type", "protest"), ("type", "armed_clash"), ("country", "ee")]
    assert ref_set(client, EVENTS, params) == {"protest-ee", "clash-ee"}


def test_ref_is_repeatable(client: TestClient, typed: None) -> None:
    params = [("ref", "riot-by"), ("ref", "clash-none"), ("ref", "no-such-ref")]
    assert ref_set(client, EVENTS, params) == {"riot-by", "clash-none"}


def test_stored_country_is_upper_case(client: TestClient, load: Load) -> None:
    load(dataset(event("lower", country="lt")))
    assert client.get(EVENTS).json()["items"][0]["country"] == "LT"


@pytest.mark.parametrize(
    "params",
    [{"type": "skirmish"}, {"country": "XX"}, {"country": "BLR"}, {"sort": "title"}],
)
def test_unknown_values_are_422(client: TestClient, params: dict[str, str]) -> None:
    assert_problem(client.get(EVENTS, params=params), 422)


# --- credibility filters --------------------------------------------------------------------------


@pytest.fixture
def graded(load: Load) -> None:
    load(
        dataset(
            source("s-a", "Alpha Wire", "A"),
            source("s-b", "Bravo Times", "B"),
            source("s-b2", "Bravo Herald", "B"),
            source("s-d", "Delta Channel", "D"),
            source("s-f", "Foxtrot Blog", "F"),
            document("d-a", "s-a"),
            document("d-b", "s-b", url="https://bravo.example/1"),
            document("d-b-second", "s-b"),
            document("d-b2", "s-b2"),
            document("d-d", "s-d"),
            document("d-f", "s-f"),
            # The good source doubts it, the poor source confirms it: no single citation is "B2".
            event("trap", citations=[cite("d-b", 4), cite("d-d", 1)]),
            event("b2", citations=[cite("d-b", 2)]),
            event("a1", citations=[cite("d-a", 1)]),
            # Two citations, one source.
            event("one-source-twice", citations=[cite("d-b", 1), cite("d-b-second", 1)]),
            event("two-sources", citations=[cite("d-b", 2), cite("d-b2", 3)]),
            event("unjudged", citations=[cite("d-f")]),
            event("uncited"),
        )
    )


def test_same_citation_must_meet_both_grades(client: TestClient, graded: None) -> None:
    params = {"min_reliability": "B", "min_credibility": 2}
    assert ref_set(client, EVENTS, params) == {"b2", "a1", "one-source-twice", "two-sources"}


def test_min_reliability_alone(client: TestClient, graded: None) -> None:
    expected = {"trap", "b2", "a1", "one-source-twice", "two-sources"}
    assert ref_set(client, EVENTS, {"min_reliability": "B"}) == expected
    assert ref_set(client, EVENTS, {"min_reliability": "b"}) == expected
    assert ref_set(client, EVENTS, {"min_reliability": "A"}) == {"a1"}
    # F admits every graded citation, but an event without citations still has no qualifying one.
    assert "uncited" not in ref_set(client, EVENTS, {"min_reliability": "F"})
    assert "unjudged" in ref_set(client, EVENTS, {"min_reliability": "F"})


def test_min_credibility_alone(client: TestClient, graded: None) -> None:
    expected = {"trap", "a1", "one-source-twice"}
    assert ref_set(client, EVENTS, {"min_credibility": 1}) == expected
    assert ref_set(client, EVENTS, {"min_credibility": 6}) == ref_set(client, EVENTS) - {"uncited"}


def test_min_sources_counts_distinct_sources(client: TestClient, graded: None) -> None:
    assert ref_set(client, EVENTS, {"min_sources": 2}) == {"trap", "two-sources"}
    assert ref_set(client, EVENTS, {"min_sources": 1}) == ref_set(client, EVENTS) - {"uncited"}
    assert ref_set(client, EVENTS, {"min_sources": 3}) == set()


def test_min_sources_counts_only_qualifying_citations(client: TestClient, graded: None) -> None:
    assert ref_set(client, EVENTS, {"min_sources": 2, "min_credibility": 2}) == set()
    assert ref_set(client, EVENTS, {"min_sources": 2, "min_reliability": "B"}) == {"two-sources"}
    assert ref_set(client, EVENTS, {"min_sources": 2, "min_reliability": "D"}) == {"trap", "two-sources"}


def test_without_credibility_filters_citations_do_not_restrict(client: TestClient, graded: None) -> None:
    assert len(ref_set(client, EVENTS)) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"min_reliability": "G"},
        {"min_reliability": "AB"},
        {"min_credibility": 0},
        {"min_credibility": 7},
        {"min_credibility": "two"},
        {"min_sources": 0},
        {"min_sources": -1},
    ],
)
def test_bad_grades_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert_problem(client.get(EVENTS, params=params), 422)


def test_derived_source_count_and_best_reliability(client: TestClient, graded: None) -> None:
    items = {item["ref"]: item for item in client.get(EVENTS).json()["items"]}
    assert (items["one-source-twice"]["source_count"], items["one-source-twice"]["best_reliability"]) == (
        1,
        "B",
    )
    assert (items["trap"]["source_count"], items["trap"]["best_reliability"]) == (2, "B")
    assert (items["two-sources"]["source_count"], items["two-sources"]["best_reliability"]) == (2, "B")
    assert (items["unjudged"]["source_count"], items["unjudged"]["best_reliability"]) == (1, "F")
    assert (items["uncited"]["source_count"], items["uncited"]["best_reliability"]) == (0, None)
    assert items["uncited"]["citations"] == []


def test_citations_carry_source_and_document_fields(client: TestClient, graded: None) -> None:
    sources = ids_by_ref(client, "/v1/sources")
    documents = ids_by_ref(client, "/v1/documents")
    item = client.get(EVENTS, params={"ref": "trap"}).json()["items"][0]
    assert item["citations"] == [
        {
            "document_id": documents["d-b"],
            "credibility": 4,
            "excerpt": None,
            "source_id": sources["s-b"],
            "source_name": "Bravo Times",
            "reliability": "B",
            "url": "https://bravo.example/1",
        },
        {
            "document_id": documents["d-d"],
            "credibility": 1,
            "excerpt": None,
            "source_id": sources["s-d"],
            "source_name": "Delta Channel",
            "reliability": "D",
            "url": None,
        },
    ]


def test_citation_credibility_defaults_to_6(client: TestClient, graded: None) -> None:
    item = client.get(EVENTS, params={"ref": "unjudged"}).json()["items"][0]
    assert item["citations"][0]["credibility"] == 6


# --- q ---------------------------------------------------------------------------------------------


@pytest.fixture
def texts(load: Load) -> None:
    load(
        dataset(
            event("cyrillic", title="Учения у границы", description="Войска Беларусь и России"),
            event("latin", title="ZAPAD-2025 exercise", description=None),
            event("in-description", title="Drills", description="Joint drills near Zapad range"),
            event("percent", title="Strikes fell 50% in March"),
            event("no-percent", title="Strikes fell 500 in March"),
            event("underscore", title="call_sign Bravo"),
            event("no-underscore", title="callXsign Bravo"),
        )
    )


def test_q_matches_title_or_description_case_insensitively(client: TestClient, texts: None) -> None:
    assert ref_set(client, EVENTS, {"q": "zapad"}) == {"latin", "in-description"}
    assert ref_set(client, EVENTS, {"q": "ZaPaD-2025"}) == {"latin"}


@pytest.mark.parametrize("needle", ["беларусь", "БЕЛАРУСЬ", "УЧЕНИЯ", "учения у"])
def test_q_is_case_insensitive_beyond_ascii(client: TestClient, texts: None, needle: str) -> None:
    assert ref_set(client, EVENTS, {"q": needle}) == {"cyrillic"}


def test_q_treats_like_wildcards_literally(client: TestClient, texts: None) -> None:
    assert ref_set(client, EVENTS, {"q": "50%"}) == {"percent"}
    assert ref_set(client, EVENTS, {"q": "call_sign"}) == {"underscore"}
    assert ref_set(client, EVENTS, {"q": "%"}) == {"percent"}


def test_q_combines_with_other_filters(client: TestClient, texts: None) -> None:
    assert ref_set(client, EVENTS, {"q": "zapad", "ref": "latin"}) == {"latin"}


# --- bbox ------------------------------------------------------------------------------------------


@pytest.fixture
def placed(load: Load) -> None:
    load(
        dataset(
            event("south-west-corner", longitude=10.0, latitude=50.0),
            event("north-east-corner", longitude=20.0, latitude=60.0),
            event("on-west-edge", longitude=10.0, latitude=55.5),
            event("inside", longitude=15.25, latitude=55.75),
            event("east-outside", longitude=20.0001, latitude=55.0),
            event("south-outside", longitude=15.0, latitude=49.9999),
            event("no-coordinates"),
        )
    )


def test_bbox_includes_edges(client: TestClient, placed: None) -> None:
    got = ref_set(client, EVENTS, {"bbox": "10,50,20,60"})
    assert got == {"south-west-corner", "north-east-corner", "on-west-edge", "inside"}


def test_bbox_degenerate_point(client: TestClient, placed: None) -> None:
    assert ref_set(client, EVENTS, {"bbox": "15.25,55.75,15.25,55.75"}) == {"inside"}


@pytest.mark.parametrize(
    "bbox",
    ["20,50,10,60", "10,60,20,50", "10,50,20", "10,50,20,60,70", "a,b,c,d", "", "10,50,200,60", "nan,1,2,3"],
)
def test_bad_bbox_is_422(client: TestClient, bbox: str) -> None:
    body = assert_problem(client.get(EVENTS, params={"bbox": bbox}), 422)
    assert any("bbox" in error["loc"] for error in body["errors"]), body


def test_latitude_longitude_read_back(client: TestClient, placed: None) -> None:
    item = client.get(EVENTS, params={"ref": "inside"}).json()["items"][0]
    assert (item["longitude"], item["latitude"]) == (15.25, 55.75)


# --- a filter combination on the demo data --------------------------------------------------------


def test_demo_belarus_september_with_b2_sources(client: TestClient, demo: dict[str, Any]) -> None:
    everything = refs(client.get(EVENTS, params={"limit": 500}))
    assert len(everything) == len(demo["events"])
    narrowed = ref_set(
        client,
        EVENTS,
        {"actor": "belarus", "date_from": "2025-09-01", "date_to": "2025-09-30", "min_reliability": "c"},
    )
    assert narrowed <= set(everything)
    assert "event:zapad-2025" in narrowed

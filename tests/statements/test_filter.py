"""API.md §2, Statements: every filter of `GET /v1/statements` and what an item embeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    actor,
    assert_problem,
    dataset,
    document,
    event,
    ids_by_ref,
    ref_set,
    refs,
    source,
    statement,
)

Load = Callable[[dict[str, Any]], Any]
STATEMENTS = "/v1/statements"


@pytest.fixture
def said(load: Load) -> None:
    load(
        dataset(
            source("s-a", "Alpha Wire", "A"),
            source("s-b", "Bravo Times", "b"),
            source("s-d", "Delta Channel", "D"),
            document("d-a", "s-a"),
            document("d-b", "s-b"),
            document("d-d", "s-d"),
            actor("by", "Belarus", aliases=["Республика Беларусь"]),
            actor("by-mod", "Belarusian Ministry of Defence", parent="by", kind="government_body"),
            actor("by-minister", "Viktor Khrenin", parent="by-mod", kind="person"),
            actor("by-aide", "Aide to the Minister", parent="by-minister", kind="person"),
            actor("pl", "Poland"),
            actor("ua", "Ukraine"),
            event("e1", "2025-09-12"),
            event("e2", "2025-09-13"),
            statement(
                "s1",
                "by-minister",
                "2025-09-01",
                "About 13 000 troops will take part",
                mentions=["pl"],
                document="d-d",
                measure="personnel",
                value_best=13000,
                unit="persons",
                credibility=3,
                event="e1",
            ),
            statement(
                "s2",
                "pl",
                "2025-09-05",
                "Belarus is massing troops",
                mentions=["by"],
                document="d-b",
                kind="warning",
                credibility=2,
            ),
            statement(
                "s3",
                "ua",
                "2025-09-10",
                "Удары по складам МИНОБОРОНЫ",
                mentions=["by-mod"],
                measure="casualties",
                value_low=10,
                value_high=20,
                credibility=1,
                kind="accusation",
            ),
            statement("s4", "ua", "2025-09-10", "Stay alert", document="d-a", kind="warning", event="e2"),
            statement("s5", "by", "2025-08-31", "Belarus speaks of itself", mentions=["by"], kind="denial"),
            statement("s6", "by-aide", "2025-08-01", "An aide's remark", document="d-a", kind="other"),
        )
    )


def test_actor_matches_speaker_or_mentioned_with_descendants(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, {"actor": "belarus"}) == {"s1", "s2", "s3", "s5", "s6"}
    assert ref_set(client, STATEMENTS, {"actor": "РЕСПУБЛИКА БЕЛАРУСЬ"}) == {"s1", "s2", "s3", "s5", "s6"}


def test_role_speaker_and_mentioned(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, {"actor": "Belarus", "role": "speaker"}) == {"s1", "s5", "s6"}
    assert ref_set(client, STATEMENTS, {"actor": "Belarus", "role": "mentioned"}) == {"s2", "s3", "s5"}
    params = [("actor", "Belarus"), ("role", "speaker"), ("role", "mentioned")]
    assert ref_set(client, STATEMENTS, params) == {"s1", "s2", "s3", "s5", "s6"}


def test_include_descendants_false(client: TestClient, said: None) -> None:
    params: dict[str, Any] = {"actor": "Belarus", "include_descendants": "false"}
    assert ref_set(client, STATEMENTS, params) == {"s2", "s5"}
    assert ref_set(client, STATEMENTS, {**params, "role": "speaker"}) == {"s5"}
    ids = ids_by_ref(client, "/v1/actors")
    params = {"actor_id": ids["by-minister"], "include_descendants": "false"}
    assert ref_set(client, STATEMENTS, params) == {"s1"}
    assert ref_set(client, STATEMENTS, {"actor_id": ids["by-minister"]}) == {"s1", "s6"}


def test_repeated_actors_are_or(client: TestClient, said: None) -> None:
    params = [("actor", "Poland"), ("actor", "Ukraine"), ("role", "speaker")]
    assert ref_set(client, STATEMENTS, params) == {"s2", "s3", "s4"}


def test_role_errors(client: TestClient, said: None) -> None:
    assert_problem(client.get(STATEMENTS, params={"role": "speaker"}), 422)
    assert_problem(client.get(STATEMENTS, params={"actor": "Poland", "role": "side_a"}), 422)


def test_unknown_actor_is_422_naming_it(client: TestClient, said: None) -> None:
    body = assert_problem(client.get(STATEMENTS, params={"actor": "Atlantis"}), 422)
    assert "Atlantis" in body["detail"]
    body = assert_problem(client.get(STATEMENTS, params={"actor_id": 424242}), 422)
    assert "424242" in body["detail"]


def test_event_id_kind_measure_are_repeatable(client: TestClient, said: None) -> None:
    events = ids_by_ref(client, "/v1/events")
    assert ref_set(client, STATEMENTS, {"event_id": events["e1"]}) == {"s1"}
    assert ref_set(client, STATEMENTS, [("event_id", events["e1"]), ("event_id", events["e2"])]) == {
        "s1",
        "s4",
    }
    assert ref_set(client, STATEMENTS, {"kind": "warning"}) == {"s2", "s4"}
    assert ref_set(client, STATEMENTS, [("kind", "warning"), ("kind", "denial")]) == {"s2", "s4", "s5"}
    assert ref_set(client, STATEMENTS, {"measure": "personnel"}) == {"s1"}
    assert ref_set(client, STATEMENTS, [("measure", "personnel"), ("measure", "casualties")]) == {"s1", "s3"}
    assert ref_set(client, STATEMENTS, {"measure": "fatalities"}) == set()


def test_filters_combine_with_and(client: TestClient, said: None) -> None:
    params = [("kind", "warning"), ("kind", "accusation"), ("actor", "Ukraine"), ("min_reliability", "A")]
    assert ref_set(client, STATEMENTS, params) == {"s4"}


def test_dates_on_stated_on_inclusive(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, {"date_from": "2025-09-01", "date_to": "2025-09-05"}) == {"s1", "s2"}
    assert ref_set(client, STATEMENTS, {"date_from": "2025-09-10"}) == {"s3", "s4"}
    assert ref_set(client, STATEMENTS, {"date_to": "2025-08-31"}) == {"s5", "s6"}
    assert_problem(client.get(STATEMENTS, params={"date_from": "2025-09-02", "date_to": "2025-09-01"}), 422)
    assert_problem(client.get(STATEMENTS, params={"date_to": "2025-9-1x"}), 422)


def test_min_reliability_is_the_documents_source_and_needs_a_document(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, {"min_reliability": "b"}) == {"s2", "s4", "s6"}
    assert ref_set(client, STATEMENTS, {"min_reliability": "A"}) == {"s4", "s6"}
    # F admits every grade, yet statements without a document (s3, s5) still do not match.
    assert ref_set(client, STATEMENTS, {"min_reliability": "F"}) == {"s1", "s2", "s4", "s6"}


def test_min_credibility_is_the_statements_own(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, {"min_credibility": 1}) == {"s3"}
    assert ref_set(client, STATEMENTS, {"min_credibility": 3}) == {"s1", "s2", "s3"}
    assert ref_set(client, STATEMENTS, {"min_credibility": 6}) == {f"s{i}" for i in range(1, 7)}
    assert_problem(client.get(STATEMENTS, params={"min_credibility": 0}), 422)


def test_q_substring_of_text_case_insensitive(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, {"q": "TROOPS"}) == {"s1", "s2"}
    assert ref_set(client, STATEMENTS, {"q": "минобороны"}) == {"s3"}
    assert ref_set(client, STATEMENTS, {"q": "УДАРЫ"}) == {"s3"}
    assert ref_set(client, STATEMENTS, {"q": "13 000"}) == {"s1"}


def test_ref_is_repeatable(client: TestClient, said: None) -> None:
    assert ref_set(client, STATEMENTS, [("ref", "s1"), ("ref", "s5")]) == {"s1", "s5"}


def test_default_sort_is_newest_first_ties_by_id_descending(client: TestClient, said: None) -> None:
    ids = ids_by_ref(client, STATEMENTS)
    order = refs(client.get(STATEMENTS))
    tied = sorted(["s3", "s4"], key=lambda r: ids[r], reverse=True)
    assert order == [*tied, "s2", "s1", "s5", "s6"]
    assert refs(client.get(STATEMENTS, params={"sort": "-stated_on"})) == order
    ascending = refs(client.get(STATEMENTS, params={"sort": "stated_on"}))
    assert ascending == ["s6", "s5", "s1", "s2", *sorted(["s3", "s4"], key=lambda r: ids[r])]
    assert_problem(client.get(STATEMENTS, params={"sort": "text"}), 422)


def test_statement_embeds_speaker_mentions_reliability(client: TestClient, said: None) -> None:
    actors = ids_by_ref(client, "/v1/actors")
    items = {item["ref"]: item for item in client.get(STATEMENTS).json()["items"]}
    s1 = items["s1"]
    assert s1["speaker"] == {"id": actors["by-minister"], "name": "Viktor Khrenin"}
    assert s1["speaker_id"] == actors["by-minister"]
    assert s1["mentions"] == [{"id": actors["pl"], "name": "Poland"}]
    assert s1["reliability"] == "D"
    assert (s1["measure"], s1["value_low"], s1["value_best"], s1["value_high"], s1["unit"]) == (
        "personnel",
        None,
        13000,
        None,
        "persons",
    )
    assert items["s2"]["reliability"] == "B"
    assert items["s3"]["reliability"] is None
    assert items["s3"]["document_id"] is None
    assert items["s4"]["mentions"] == []
    assert items["s4"]["is_quote"] is False
    assert items["s4"]["credibility"] == 6


def test_measure_is_case_insensitive_beyond_ascii(client: TestClient, load: Load) -> None:
    """Folded by the same Unicode lower-casing on both databases (SQLite's lower() folds only
    ASCII, so `ВОЕННОСЛУЖАЩИЕ` would miss `Военнослужащие` there)."""
    load(
        dataset(
            source("s-u", "Uniform Wire", "A"),
            document("d-u", "s-u"),
            actor("a-u", "Министерство обороны"),
            statement(
                "u1",
                "a-u",
                "2025-09-01",
                "Около 13 000 военнослужащих",
                document="d-u",
                measure="Военнослужащие",
                value_best=13000,
                unit="persons",
            ),
        )
    )
    assert ref_set(client, STATEMENTS, {"measure": "ВОЕННОСЛУЖАЩИЕ"}) == {"u1"}
    assert ref_set(client, STATEMENTS, {"measure": "военнослужащие"}) == {"u1"}
    assert ref_set(client, STATEMENTS, {"measure": "военнослужащий"}) == set()

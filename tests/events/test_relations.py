"""Event relations (issue 11): create, PATCH, load, read, export, the related walk, and the
rules — no self-relation, no missing event, no `part_of` cycle, no deleting a related event."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import assert_problem, dataset, event, ids_by_ref

Load = Callable[[dict[str, Any]], Any]
EVENTS = "/v1/events"


def rel(kind: str, ref: str) -> dict[str, str]:
    return {"type": kind, "event": ref}


@pytest.fixture
def chain(client: TestClient, load: Load) -> dict[str, int]:
    """zapad-2025 follows zapad-2021; the invasion follows the exercise; the airstrikes are
    part of the invasion; the counteroffensive responds to it."""
    load(
        dataset(
            event("zapad-2021", "2021-09-10", "2021-09-16", type="military_exercise"),
            event(
                "zapad-2025",
                "2025-09-12",
                "2025-09-16",
                type="military_exercise",
                relations=[rel("follows", "zapad-2021"), rel("related", "exercise-2022")],
            ),
            event("exercise-2022", "2022-02-10", "2022-02-20", type="military_exercise"),
            event("invasion", "2022-02-24", relations=[rel("follows", "exercise-2022")]),
            event("airstrikes", "2022-02-24", relations=[rel("part_of", "invasion")]),
            event("counteroffensive", "2022-03-01", relations=[rel("responds_to", "invasion")]),
        )
    )
    return ids_by_ref(client, EVENTS)


def relations_of(client: TestClient, event_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.text
    relations: list[dict[str, Any]] = response.json()["relations"]
    return relations


def test_load_resolves_refs_in_either_direction_and_reads_back(
    client: TestClient, chain: dict[str, int]
) -> None:
    # zapad-2025 names zapad-2021 (before it in the file) and exercise-2022 (after it)
    assert relations_of(client, chain["zapad-2025"]) == [
        {"type": "follows", "event_id": chain["zapad-2021"]},
        {"type": "related", "event_id": chain["exercise-2022"]},
    ]
    assert relations_of(client, chain["zapad-2021"]) == []
    listed = {
        item["ref"]: item["relations"] for item in client.get(EVENTS, params={"limit": 500}).json()["items"]
    }
    assert listed["airstrikes"] == [{"type": "part_of", "event_id": chain["invasion"]}]


def test_reloading_the_same_file_changes_nothing(load: Load, chain: dict[str, int]) -> None:
    again = dataset(
        event("zapad-2021", "2021-09-10", "2021-09-16", type="military_exercise"),
        event(
            "zapad-2025",
            "2025-09-12",
            "2025-09-16",
            type="military_exercise",
            relations=[rel("follows", "zapad-2021"), rel("related", "exercise-2022")],
        ),
        event("exercise-2022", "2022-02-10", "2022-02-20", type="military_exercise"),
        event("invasion", "2022-02-24", relations=[rel("follows", "exercise-2022")]),
        event("airstrikes", "2022-02-24", relations=[rel("part_of", "invasion")]),
        event("counteroffensive", "2022-03-01", relations=[rel("responds_to", "invasion")]),
    )
    report = load(again)
    assert report["events"] == {"created": 0, "updated": 0, "unchanged": 6}


def test_a_stored_event_that_gains_a_relation_to_a_new_one_counts_as_updated(
    client: TestClient, load: Load, chain: dict[str, int]
) -> None:
    report = load(
        dataset(
            event(
                "zapad-2021",
                "2021-09-10",
                "2021-09-16",
                type="military_exercise",
                relations=[rel("follows", "zapad-2017")],
            ),
            event("zapad-2017", "2017-09-14", "2017-09-20", type="military_exercise"),
        )
    )
    assert report["events"] == {"created": 1, "updated": 1, "unchanged": 0}
    new_id = ids_by_ref(client, EVENTS)["zapad-2017"]
    assert relations_of(client, chain["zapad-2021"]) == [{"type": "follows", "event_id": new_id}]


def test_create_and_patch_replace_the_list(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    body = {
        "title": "Exercise",
        "type": "military_exercise",
        "start_date": "2023-01-01",
        "relations": [{"type": "follows", "event_id": chain["zapad-2021"]}],
    }
    created = client.post(EVENTS, json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["relations"] == [{"type": "follows", "event_id": chain["zapad-2021"]}]
    new_id = created.json()["id"]
    patched = client.patch(
        f"{EVENTS}/{new_id}",
        json={"relations": [{"type": "precedes", "event_id": chain["zapad-2025"]}]},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["relations"] == [{"type": "precedes", "event_id": chain["zapad-2025"]}]
    assert client.get(f"{EVENTS}/{new_id}").headers["etag"] == patched.headers["etag"]
    # a PATCH of another field keeps the list
    kept = client.patch(f"{EVENTS}/{new_id}", json={"title": "Renamed"}, headers=auth)
    assert kept.json()["relations"] == [{"type": "precedes", "event_id": chain["zapad-2025"]}]
    cleared = client.patch(f"{EVENTS}/{new_id}", json={"relations": []}, headers=auth)
    assert cleared.json()["relations"] == []


def test_relation_to_itself_is_refused(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    own = chain["invasion"]
    response = client.patch(
        f"{EVENTS}/{own}", json={"relations": [{"type": "related", "event_id": own}]}, headers=auth
    )
    body = assert_problem(response, 422)
    assert "itself" in body["detail"]
    assert relations_of(client, own) == [{"type": "follows", "event_id": chain["exercise-2022"]}]


def test_relation_to_itself_by_ref_in_a_load_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/load", json=dataset(event("loop", relations=[rel("related", "loop")])), headers=auth
    )
    problem = assert_problem(response, 422)
    assert "loop" in problem["detail"] and "itself" in problem["detail"]
    assert client.get(EVENTS).json()["items"] == []


def test_relation_to_a_missing_event_is_refused(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    body = {
        "title": "X",
        "type": "riot",
        "start_date": "2023-01-01",
        "relations": [{"type": "related", "event_id": 999_999}],
    }
    problem = assert_problem(client.post(EVENTS, json=body, headers=auth), 422)
    assert "999999" in problem["detail"]
    missing = client.post(
        "/v1/load", json=dataset(event("x", relations=[rel("related", "nowhere")])), headers=auth
    )
    problem = assert_problem(missing, 422)
    assert "nowhere" in problem["detail"]


def test_the_same_relation_twice_is_refused(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    twice = [{"type": "related", "event_id": chain["invasion"]}] * 2
    assert_problem(
        client.patch(f"{EVENTS}/{chain['airstrikes']}", json={"relations": twice}, headers=auth), 422
    )


def test_a_part_of_cycle_is_refused_through_patch(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    # airstrikes part_of invasion; invasion part_of airstrikes would close the loop
    response = client.patch(
        f"{EVENTS}/{chain['invasion']}",
        json={"relations": [{"type": "part_of", "event_id": chain["airstrikes"]}]},
        headers=auth,
    )
    body = assert_problem(response, 422)
    assert "cycle" in body["detail"]
    assert relations_of(client, chain["invasion"]) == [
        {"type": "follows", "event_id": chain["exercise-2022"]}
    ]


def test_a_longer_part_of_cycle_is_refused_and_other_types_may_loop(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    # counteroffensive part_of airstrikes part_of invasion; invasion part_of counteroffensive loops
    ok = client.patch(
        f"{EVENTS}/{chain['counteroffensive']}",
        json={"relations": [{"type": "part_of", "event_id": chain["airstrikes"]}]},
        headers=auth,
    )
    assert ok.status_code == 200, ok.text
    looping = client.patch(
        f"{EVENTS}/{chain['invasion']}",
        json={"relations": [{"type": "part_of", "event_id": chain["counteroffensive"]}]},
        headers=auth,
    )
    assert_problem(looping, 422)
    # follows/precedes both ways are no cycle of part_of
    both = client.patch(
        f"{EVENTS}/{chain['zapad-2021']}",
        json={"relations": [{"type": "precedes", "event_id": chain["zapad-2025"]}]},
        headers=auth,
    )
    assert both.status_code == 200, both.text


def test_a_part_of_cycle_inside_one_load_is_refused_and_nothing_is_written(
    client: TestClient, auth: dict[str, str]
) -> None:
    before = client.get("/v1/changes").json()["next_after"]
    looping = dataset(
        event("a", relations=[rel("part_of", "b")]),
        event("b", relations=[rel("part_of", "c")]),
        event("c", relations=[rel("part_of", "a")]),
    )
    assert_problem(client.post("/v1/load", json=looping, headers=auth), 422)
    assert client.get(EVENTS).json()["items"] == []
    assert client.get("/v1/changes", params={"after": before}).json()["items"] == []


def test_a_load_that_closes_a_cycle_with_stored_rows_is_refused(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    closing = dataset(event("invasion", "2022-02-24", relations=[rel("part_of", "airstrikes")]))
    problem = assert_problem(client.post("/v1/load", json=closing, headers=auth), 422)
    assert "invasion" in problem["detail"]


def test_deleting_a_related_event_is_refused_until_the_relation_goes(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    problem = assert_problem(client.delete(f"{EVENTS}/{chain['invasion']}", headers=auth), 409)
    assert "relations" in problem["detail"]
    for holder in ("airstrikes", "counteroffensive"):
        assert (
            client.patch(f"{EVENTS}/{chain[holder]}", json={"relations": []}, headers=auth).status_code == 200
        )
    assert client.delete(f"{EVENTS}/{chain['invasion']}", headers=auth).status_code == 204
    # the event that held relations goes with them
    assert client.delete(f"{EVENTS}/{chain['zapad-2025']}", headers=auth).status_code == 204
    assert client.delete(f"{EVENTS}/{chain['zapad-2021']}", headers=auth).status_code == 204


def test_related_walks_both_directions_to_the_depth_asked(client: TestClient, chain: dict[str, int]) -> None:
    def walk(ref: str, depth: int) -> list[tuple[str, str, str, int]]:
        response = client.get(f"{EVENTS}/{chain[ref]}/related", params={"depth": depth})
        assert response.status_code == 200, response.text
        return [
            (item["event"]["ref"], item["type"], item["direction"], item["depth"])
            for item in response.json()["items"]
        ]

    assert walk("invasion", 1) == sorted(
        [
            ("exercise-2022", "follows", "outgoing", 1),
            ("airstrikes", "part_of", "incoming", 1),
            ("counteroffensive", "responds_to", "incoming", 1),
        ],
        key=lambda item: chain[item[0]],
    )
    deeper = walk("airstrikes", 3)
    assert ("invasion", "part_of", "outgoing", 1) in deeper
    assert ("exercise-2022", "follows", "outgoing", 2) in deeper
    assert ("counteroffensive", "responds_to", "incoming", 2) in deeper
    assert ("zapad-2025", "related", "incoming", 3) in deeper
    assert all(ref != "airstrikes" for ref, *_ in deeper)
    assert [d for *_, d in deeper] == sorted(d for *_, d in deeper)
    assert walk("zapad-2021", 1) == [("zapad-2025", "follows", "incoming", 1)]
    full = client.get(f"{EVENTS}/{chain['zapad-2021']}/related").json()["items"][0]["event"]
    assert full == client.get(f"{EVENTS}/{chain['zapad-2025']}").json()


@pytest.mark.parametrize("depth", ["0", "4", "x"])
def test_related_depth_out_of_range_is_422(client: TestClient, chain: dict[str, int], depth: str) -> None:
    assert_problem(client.get(f"{EVENTS}/{chain['invasion']}/related", params={"depth": depth}), 422)


def test_related_of_a_missing_event_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{EVENTS}/12345/related"), 404)


def test_exports_carry_the_relations(client: TestClient, chain: dict[str, int]) -> None:
    text = client.get(f"{EVENTS}/export", params={"format": "csv"}).text
    rows = {row["ref"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["zapad-2025"]["relation_ids"] == f"{chain['zapad-2021']}; {chain['exercise-2022']}"
    assert (
        rows["zapad-2025"]["relations"] == f"follows {chain['zapad-2021']}; related {chain['exercise-2022']}"
    )
    assert rows["zapad-2021"]["relation_ids"] == ""
    lines = client.get(f"{EVENTS}/export", params={"format": "ndjson"}).text.splitlines()
    by_ref = {record["ref"]: record for record in map(json.loads, lines)}
    assert by_ref["airstrikes"]["relations"] == [{"type": "part_of", "event_id": chain["invasion"]}]


def test_unknown_relation_type_is_422(
    client: TestClient, auth: dict[str, str], chain: dict[str, int]
) -> None:
    body = {"relations": [{"type": "caused", "event_id": chain["invasion"]}]}
    assert_problem(client.patch(f"{EVENTS}/{chain['airstrikes']}", json=body, headers=auth), 422)


def test_the_demo_data_carries_the_articles_chain(client: TestClient, demo: dict[str, Any]) -> None:
    ids = ids_by_ref(client, EVENTS)
    zapad = client.get(f"{EVENTS}/{ids['event:zapad-2025']}").json()
    assert zapad["relations"] == [
        {"type": "follows", "event_id": ids["event:zapad-2021"]},
        {"type": "related", "event_id": ids["event:belarus-russia-exercise-2022-02"]},
    ]
    walk = client.get(f"{EVENTS}/{ids['event:zapad-2025']}/related", params={"depth": 2}).json()["items"]
    reached = {(item["event"]["ref"], item["type"], item["direction"], item["depth"]) for item in walk}
    assert ("event:zapad-2021", "follows", "outgoing", 1) in reached
    # through the 2022 exercise to the invasion that followed it
    assert ("event:russian-full-scale-invasion-2022", "follows", "incoming", 2) in reached
    parts = client.get(f"{EVENTS}/{ids['event:russian-full-scale-invasion-2022']}/related").json()["items"]
    assert {item["event"]["ref"] for item in parts if item["type"] == "part_of"} == {
        "event:airstrikes-from-belarus-2022",
        "event:weapons-transit-through-belarus-2022",
        "event:russian-troops-in-belarus-2022",
    }
    union = client.get(f"{EVENTS}/{ids['event:belarus-russia-exercise-2022-02']}").json()
    assert union["title"].startswith("Union Resolve 2022")

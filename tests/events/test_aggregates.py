"""Timeline and facets: buckets, zero-filling, grouping and the shared filter."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.events.data import dataset
from tests.factories import dataset as records
from tests.factories import event


@pytest.fixture
def data(load: Callable[[dict[str, Any]], Any]) -> None:
    load(dataset())


def buckets(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/events/timeline", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["buckets"]
    return found


def test_weeks_start_on_monday(client: TestClient, data: None) -> None:
    result = buckets(client, interval="week", date_to="2025-03-31")
    assert [(b["period"], b["events"]) for b in result] == [("2025-02-24", 1), ("2025-03-03", 1)]


def test_months_zero_filled_between_first_and_last(client: TestClient, data: None) -> None:
    result = buckets(client, interval="month")
    assert [(b["period"], b["events"]) for b in result] == [
        ("2025-03-01", 2), ("2025-04-01", 0), ("2025-05-01", 2),
    ]  # fmt: skip
    assert all(b["key"] is None for b in result)
    march = result[0]
    assert (march["fatalities_low"], march["fatalities_best"], march["fatalities_high"]) == (1, 7, 3)
    assert result[1]["fatalities_best"] == 0


def test_day_and_year_intervals(client: TestClient, data: None) -> None:
    days = buckets(client, interval="day", date_to="2025-03-03")
    assert [(b["period"], b["events"]) for b in days] == [("2025-03-02", 1), ("2025-03-03", 1)]
    years = buckets(client, interval="year")
    assert [(b["period"], b["events"]) for b in years] == [("2025-01-01", 4)]


@pytest.mark.parametrize("group_by", [None, "type"])
def test_each_interval_of_one_filter_is_its_own_statement(
    client: TestClient, data: None, group_by: str | None
) -> None:
    """The same filter asked per month, then per year, week and day: each answer has its own
    periods (the compiled statement of one interval was once reused for the next)."""
    extra = {"group_by": group_by} if group_by else {}
    expected = {"month": "2025-03-01", "year": "2025-01-01", "week": "2025-02-24", "day": "2025-03-02"}
    for interval, first in expected.items():
        result = buckets(client, interval=interval, date_from="2025-01-01", **extra)
        assert result[0]["period"] == first, interval
        assert sum(b["events"] for b in result) == 4, interval


def test_group_by_country_has_every_key_in_every_period_and_no_null_key(
    client: TestClient, data: None
) -> None:
    result = buckets(client, interval="month", group_by="country")
    assert {b["key"] for b in result} == {"BY", "UA"}
    assert len(result) == 3 * 2
    by_key = {(b["period"], b["key"]): b["events"] for b in result}
    assert by_key[("2025-03-01", "BY")] == 1 and by_key[("2025-03-01", "UA")] == 1
    assert by_key[("2025-05-01", "BY")] == 1 and by_key[("2025-05-01", "UA")] == 0
    assert sum(by_key.values()) == 3  # e:may has no country and is not counted


def test_group_by_actor_counts_an_event_once_per_actor(client: TestClient, data: None) -> None:
    result = buckets(client, interval="year", group_by="actor")
    counts = {b["key"]: (b["events"], b["fatalities_best"]) for b in result}
    # e:mon lists the army twice (two roles) but counts once; e:noactor is not counted.
    assert counts == {"Stateland Army": (2, 7), "Rebels": (2, 2)}


def test_timeline_takes_event_filters(client: TestClient, data: None) -> None:
    result = buckets(client, interval="year", actor="stateland")  # includes descendants
    assert result[0]["events"] == 2
    assert client.get("/v1/events/timeline", params={"actor": "Nobody"}).status_code == 422
    assert client.get("/v1/events/timeline", params={"interval": "decade"}).status_code == 422
    assert buckets(client, interval="month", type="military_exercise") == []


def test_facets_count_largest_first_ties_by_value(client: TestClient, data: None) -> None:
    response = client.get(
        "/v1/events/facets",
        params=[("field", "type"), ("field", "actor"), ("field", "source"), ("field", "country")],
    )
    assert response.status_code == 200
    facets = response.json()["facets"]
    assert facets["type"] == [
        {"value": "armed_clash", "count": 2}, {"value": "protest", "count": 1}, {"value": "riot", "count": 1},
    ]  # fmt: skip
    assert facets["country"] == [{"value": "BY", "count": 2}, {"value": "UA", "count": 1}]
    actors = facets["actor"]
    assert [(a["name"], a["count"]) for a in actors] == [("Rebels", 2), ("Stateland Army", 2)] or [
        (a["name"], a["count"]) for a in actors
    ] == [("Stateland Army", 2), ("Rebels", 2)]
    assert actors[0]["value"] < actors[1]["value"]  # tie broken by value (id)
    assert [(s["name"], s["count"]) for s in facets["source"]] == [("Agency A", 2), ("Outlet D", 1)]


def test_facets_size_and_filters(client: TestClient, data: None) -> None:
    facets = client.get("/v1/events/facets", params={"field": "type", "size": 1}).json()["facets"]
    assert facets == {"type": [{"value": "armed_clash", "count": 2}]}
    facets = client.get("/v1/events/facets", params={"field": "source", "min_reliability": "a"}).json()[
        "facets"
    ]
    assert [(s["name"], s["count"]) for s in facets["source"]] == [("Agency A", 2), ("Outlet D", 1)]
    assert client.get("/v1/events/facets", params={"field": "colour"}).status_code == 422
    assert client.get("/v1/events/facets", params={"size": 0}).status_code == 422


@pytest.mark.parametrize(
    ("interval", "last_period"),
    [("day", "9999-12-31"), ("week", "9999-12-27"), ("month", "9999-12-01"), ("year", "9999-01-01")],
)
def test_the_last_period_of_the_calendar_ends_the_timeline(
    client: TestClient, load: Callable[[dict[str, Any]], Any], interval: str, last_period: str
) -> None:
    # the period after the one holding 9999-12-31 does not exist: the zero-filling stops there
    load(records(event("ev:last-day", start_date="9999-12-31"), event("ev:before", start_date="9999-12-20")))
    found = buckets(client, interval=interval)
    assert found[-1]["period"] == last_period and found[-1]["events"] >= 1
    assert sum(bucket["events"] for bucket in found) == 2

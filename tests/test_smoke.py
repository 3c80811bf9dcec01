"""The demo data answers the README's first queries."""

from typing import Any

from fastapi.testclient import TestClient


def test_zapad_found_by_actor_and_month(client: TestClient, demo: dict[str, Any]) -> None:
    response = client.get(
        "/v1/events",
        params={"actor": "Belarus", "date_from": "2025-09-01", "date_to": "2025-09-30"},
    )
    assert response.status_code == 200
    refs = [event["ref"] for event in response.json()["items"]]
    assert refs == ["event:zapad-2025"]
    zapad = response.json()["items"][0]
    assert zapad["actors"] and zapad["citations"]
    assert zapad["source_count"] == len({c["source_id"] for c in zapad["citations"]})


def test_personnel_claims_both_figures(client: TestClient, demo: dict[str, Any]) -> None:
    items = client.get("/v1/statements", params={"measure": "personnel"}).json()["items"]
    figures = {(s["value_low"], s["value_best"], s["value_high"]) for s in items}
    assert (None, 13000, None) in figures
    assert (100000, None, 150000) in figures
    assert all(s["speaker"]["name"] for s in items)
    assert {s["reliability"] for s in items} >= {"D", "C"}

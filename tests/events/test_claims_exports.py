"""Claims, the contested filter, exports, caching and CORS."""

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.events.data import dataset


@pytest.fixture
def data(load: Callable[[dict[str, Any]], Any]) -> None:
    load(dataset())


def event_id(client: TestClient, ref: str) -> int:
    return int(client.get("/v1/events", params={"ref": ref}).json()["items"][0]["id"])


def test_claims_grouped_by_measure_and_unit(client: TestClient, data: None) -> None:
    body = client.get(f"/v1/events/{event_id(client, 'e:sun')}/claims").json()
    groups = {(m["measure"], m["unit"]): m for m in body["measures"]}
    persons = groups[("personnel", "persons")]
    assert (persons["low"], persons["high"], persons["contested"]) == (13000, 150000, True)
    first = persons["claims"][0]
    assert first["speaker"]["name"] == "Stateland"
    assert first["source"]["name"] == "Outlet D" and first["reliability"] == "D"
    assert persons["claims"][1]["source"] is None and persons["claims"][1]["reliability"] is None
    assert groups[("personnel", "brigades")]["contested"] is False


def test_touching_ranges_are_not_contested(client: TestClient, data: None) -> None:
    body = client.get(f"/v1/events/{event_id(client, 'e:mon')}/claims").json()
    assert [(m["measure"], m["low"], m["high"], m["contested"]) for m in body["measures"]] == [
        ("fatalities", 10, 20, False)
    ]


def test_claims_of_missing_event_is_404(client: TestClient, data: None) -> None:
    response = client.get("/v1/events/999999/claims")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_contested_filter(client: TestClient, data: None) -> None:
    def refs(params: dict[str, str]) -> set[str]:
        return {e["ref"] for e in client.get("/v1/events", params=params).json()["items"]}

    assert refs({"contested": "true"}) == {"e:sun"}
    assert refs({"contested": "false"}) == {"e:mon", "e:may", "e:noactor"}


FILTERS = [
    {},
    {"actor": "Stateland"},
    {"type": ["riot", "protest"]},
    {"date_from": "2025-03-03", "date_to": "2025-05-31"},
    {"min_reliability": "A", "min_credibility": "1"},
    {"min_sources": "2"},
    {"country": "by", "bbox": "-180,-90,180,90"},
    {"q": "EVENT E:M"},
]


@pytest.mark.parametrize("params", FILTERS)
def test_list_export_and_timeline_agree(client: TestClient, data: None, params: dict[str, Any]) -> None:
    listed = client.get("/v1/events", params={**params, "limit": 500}).json()["items"]
    exported = client.get("/v1/events/export", params={**params, "format": "ndjson"}).text.splitlines()
    timeline = client.get("/v1/events/timeline", params={**params, "interval": "day"}).json()
    assert len(listed) == len(exported) == sum(b["events"] for b in timeline["buckets"])
    assert [e["id"] for e in listed] == [json.loads(line)["id"] for line in exported]


def test_csv_export_parses_with_flattened_columns(client: TestClient, data: None) -> None:
    response = client.get("/v1/events/export", params={"format": "csv", "sort": "start_date"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="events-')
    assert "\r\n" in response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["ref"] for r in rows] == ["e:sun", "e:mon", "e:noactor", "e:may"]
    assert rows[0]["actors"] == "Stateland Army (side_a); Rebels (side_b)"
    assert rows[1]["citations"].startswith("Agency A [A1]; Outlet D [D1]")
    assert rows[2]["fatalities_best"] == ""


def test_statement_export(client: TestClient, data: None) -> None:
    response = client.get("/v1/statements/export", params={"format": "csv", "measure": "personnel"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3 and {r["speaker"] for r in rows} == {"Stateland", "Rebels"}
    assert client.get("/v1/statements/export", params={"format": "geojson"}).status_code == 422


def test_geojson_export_follows_rfc_7946(client: TestClient, data: None) -> None:
    response = client.get("/v1/events/export", params={"format": "geojson"})
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert {f["properties"]["ref"] for f in features} == {"e:sun", "e:noactor"}  # only with coordinates
    for feature in features:
        assert feature["type"] == "Feature"
        lon, lat = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "Point"
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    noactor = next(f for f in features if f["properties"]["ref"] == "e:noactor")
    assert noactor["geometry"]["coordinates"] == [-70.25, -10.5]  # longitude first


def test_if_none_match_gives_304_until_a_write(client: TestClient, data: None, auth: dict[str, str]) -> None:
    for path in ("/v1/events", "/v1/events/timeline", "/v1/events/export?format=csv"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=60"
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    etags = {p: client.get(p).headers["etag"] for p in ("/v1/events", "/v1/events/export?format=csv")}
    event = client.get("/v1/events", params={"ref": "e:may"}).json()["items"][0]
    patched = client.patch(f"/v1/events/{event['id']}", json={"title": "Renamed"}, headers=auth)
    assert patched.status_code == 200
    for path, etag in etags.items():
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 200


def test_cache_max_age_and_cors_origins_are_configurable(
    monkeypatch: pytest.MonkeyPatch, database_url: str, data: None
) -> None:
    from app.core.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("CACHE_MAX_AGE", "5")
    monkeypatch.setenv("CORS_ORIGINS", "https://dash.example, https://news.example")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        response = client.get("/v1/events", headers={"Origin": "https://dash.example"})
        assert response.headers["cache-control"] == "public, max-age=5"
        assert response.headers["access-control-allow-origin"] == "https://dash.example"
        assert "ETag" in response.headers["access-control-expose-headers"]
        other = client.get("/v1/events", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    get_settings.cache_clear()

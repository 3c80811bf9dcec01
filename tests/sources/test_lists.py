"""API.md §2, Sources and documents: the lists' filters and sort orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import assert_problem, dataset, document, ids_by_ref, ref_set, refs, source

Load = Callable[[dict[str, Any]], Any]


@pytest.fixture
def outlets(load: Load) -> None:
    load(
        dataset(
            source("reuters", "Reuters", "A", kind="news_agency", country="GB"),
            source("belta", "BelTA", "e", kind="news_agency", country="by"),
            source("isw", "Institute for the Study of War", "B", kind="research", country="US"),
            source("tg", "some Telegram channel", kind="social_media"),
            source("mod", "Ministry of Defence of Ukraine", "C", kind="government", country="UA"),
            document("d-old", "reuters", "Old report on Zapad", published_on="2021-09-10"),
            document("d-new", "isw", "New assessment: ZAPAD-2025", published_on="2025-09-16"),
            document("d-same-day-1", "mod", "Loss figures", published_on="2025-09-16"),
            document("d-undated", "tg", "A post about zapad"),
            document("d-edge", "belta", "Учения «Запад»", published_on="2025-09-12"),
        )
    )


def test_sources_filters(client: TestClient, outlets: None) -> None:
    assert ref_set(client, "/v1/sources", {"q": "MINISTRY"}) == {"mod"}
    assert ref_set(client, "/v1/sources", {"q": "telegram"}) == {"tg"}
    assert ref_set(client, "/v1/sources", {"kind": "news_agency"}) == {"reuters", "belta"}
    assert ref_set(client, "/v1/sources", [("country", "gb"), ("country", "Us")]) == {"reuters", "isw"}
    assert ref_set(client, "/v1/sources", {"min_reliability": "b"}) == {"reuters", "isw"}
    assert ref_set(client, "/v1/sources", {"min_reliability": "E"}) == {"reuters", "isw", "mod", "belta"}
    assert ref_set(client, "/v1/sources", {"min_reliability": "F"}) == {
        "reuters",
        "isw",
        "mod",
        "belta",
        "tg",
    }
    assert ref_set(client, "/v1/sources", [("ref", "tg"), ("ref", "mod")]) == {"tg", "mod"}


def test_source_reliability_defaults_to_f_and_is_stored_upper_case(client: TestClient, outlets: None) -> None:
    items = {item["ref"]: item for item in client.get("/v1/sources").json()["items"]}
    assert items["tg"]["reliability"] == "F"
    assert items["belta"]["reliability"] == "E"
    assert items["belta"]["country"] == "BY"


def test_sources_sorted_by_name_case_insensitively(client: TestClient, outlets: None) -> None:
    names = [item["name"] for item in client.get("/v1/sources").json()["items"]]
    assert names == [
        "BelTA",
        "Institute for the Study of War",
        "Ministry of Defence of Ukraine",
        "Reuters",
        "some Telegram channel",
    ]


@pytest.mark.parametrize("params", [{"min_reliability": "Z"}, {"kind": "blog"}, {"country": "GBR"}])
def test_sources_bad_filters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert_problem(client.get("/v1/sources", params=params), 422)


def test_documents_filters(client: TestClient, outlets: None) -> None:
    sources = ids_by_ref(client, "/v1/sources")
    assert ref_set(client, "/v1/documents", {"q": "zapad"}) == {"d-old", "d-new", "d-undated"}
    assert ref_set(client, "/v1/documents", {"q": "ЗАПАД"}) == {"d-edge"}
    assert ref_set(client, "/v1/documents", {"source_id": sources["mod"]}) == {"d-same-day-1"}
    assert ref_set(
        client, "/v1/documents", [("source_id", sources["mod"]), ("source_id", sources["tg"])]
    ) == {"d-same-day-1", "d-undated"}
    dated = {"date_from": "2025-09-12", "date_to": "2025-09-16"}
    assert ref_set(client, "/v1/documents", dated) == {"d-new", "d-same-day-1", "d-edge"}
    assert ref_set(client, "/v1/documents", {"date_to": "2025-09-12"}) == {"d-old", "d-edge"}
    assert ref_set(client, "/v1/documents", {"date_from": "2025-09-13"}) == {"d-new", "d-same-day-1"}
    assert_problem(
        client.get("/v1/documents", params={"date_from": "2025-09-17", "date_to": "2025-09-16"}), 422
    )
    assert_problem(client.get("/v1/documents", params={"date_from": "16.09.2025"}), 422)


def test_documents_sorted_published_on_desc_nulls_last_then_id_desc(
    client: TestClient, outlets: None
) -> None:
    ids = ids_by_ref(client, "/v1/documents")
    same_day = sorted(["d-new", "d-same-day-1"], key=lambda r: ids[r], reverse=True)
    assert refs(client.get("/v1/documents")) == [*same_day, "d-edge", "d-old", "d-undated"]


def test_document_list_items_embed_source(client: TestClient, outlets: None) -> None:
    sources = ids_by_ref(client, "/v1/sources")
    item = client.get("/v1/documents", params={"ref": "d-edge"}).json()["items"][0]
    assert item["source_id"] == sources["belta"]
    assert item["source"] == {"id": sources["belta"], "name": "BelTA", "reliability": "E"}
    assert item["published_on"] == "2025-09-12"


def test_ref_filter_on_documents(client: TestClient, outlets: None) -> None:
    assert ref_set(client, "/v1/documents", [("ref", "d-old"), ("ref", "d-undated")]) == {
        "d-old",
        "d-undated",
    }
    assert ref_set(client, "/v1/documents", {"ref": "D-OLD"}) == set()

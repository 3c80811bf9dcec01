"""Source aliases (issue 11): unique case-insensitively across names and aliases, the `source=`
filter by name or alias, `min_sources` after aliases, the UCDP importer's alias table, and
`conflict-events sources merge`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.db import session as db_session
from app.importers.ucdp_ged.run import import_ucdp_ged
from app.importers.ucdp_ged.tables import SourceAliases
from tests.factories import (
    UCDP_SAMPLE,
    actor,
    assert_problem,
    cite,
    dataset,
    document,
    event,
    ids_by_ref,
    ref_set,
    source,
    statement,
)

Load = Callable[[dict[str, Any]], Any]


@pytest.fixture
def outlets(load: Load) -> None:
    load(
        dataset(
            source("src:reuters", "Reuters", "B", kind="news_agency", aliases=["Reuters News", "RTRS"]),
            source("src:afp", "Agence France-Presse", "B", kind="news_agency", aliases=["AFP"]),
            source("src:tass", "TASS", "D"),
            document("doc:reuters-1", "src:reuters"),
            document("doc:reuters-2", "src:reuters"),
            document("doc:afp-1", "src:afp"),
            document("doc:tass-1", "src:tass"),
            actor("actor:a", "A"),
            event("ev:reuters-twice", citations=[cite("doc:reuters-1"), cite("doc:reuters-2")]),
            event("ev:reuters-afp", citations=[cite("doc:reuters-1"), cite("doc:afp-1")]),
            event("ev:tass", citations=[cite("doc:tass-1")]),
            event("ev:uncited"),
            statement("stmt:reuters", "actor:a", document="doc:reuters-2"),
            statement("stmt:tass", "actor:a", document="doc:tass-1"),
            statement("stmt:none", "actor:a"),
        )
    )


def test_aliases_are_read_back_in_order(client: TestClient, outlets: None) -> None:
    sources = {s["name"]: s for s in client.get("/v1/sources").json()["items"]}
    assert sources["Reuters"]["aliases"] == ["Reuters News", "RTRS"]
    assert sources["TASS"]["aliases"] == []
    one = client.get(f"/v1/sources/{sources['Reuters']['id']}").json()
    assert one["aliases"] == ["Reuters News", "RTRS"]


def test_repeats_and_the_own_name_are_dropped(client: TestClient, auth: dict[str, str]) -> None:
    body = {
        "name": "Interfax",
        "kind": "news_agency",
        "aliases": ["interfax", "IFX", "ifx", "Interfax-Ukraine"],
    }
    created = client.post("/v1/sources", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["aliases"] == ["IFX", "Interfax-Ukraine"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Wire", "kind": "news_agency", "aliases": ["reuters news"]}, "aliases"),  # another's alias
        ({"name": "Wire", "kind": "news_agency", "aliases": ["tass"]}, "aliases"),  # another's name
        ({"name": "RTRS", "kind": "news_agency"}, "name"),  # a name that is another's alias
        ({"name": "reuters", "kind": "news_agency"}, "name"),  # the name itself, in another case
    ],
)
def test_names_and_aliases_are_unique_across_sources(
    client: TestClient, auth: dict[str, str], outlets: None, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(client.post("/v1/sources", json=body, headers=auth), 409)
    assert problem["errors"][0]["loc"] == ["body", field]


def test_an_alias_may_move_between_sources_in_one_load(client: TestClient, load: Load, outlets: None) -> None:
    load(
        dataset(
            source("src:reuters", "Reuters", "B", kind="news_agency", aliases=["Reuters News"]),
            source("src:tass", "TASS", "D", aliases=["RTRS"]),
        )
    )
    sources = {s["name"]: s["aliases"] for s in client.get("/v1/sources").json()["items"]}
    assert sources["Reuters"] == ["Reuters News"]
    assert sources["TASS"] == ["RTRS"]


@pytest.mark.parametrize("name", ["Reuters", "reuters news", "RTRS", "  REUTERS  "])
def test_source_filter_on_events_matches_a_name_or_an_alias(
    client: TestClient, outlets: None, name: str
) -> None:
    assert ref_set(client, "/v1/events", {"source": name}) == {"ev:reuters-twice", "ev:reuters-afp"}


def test_source_filter_is_repeatable_and_combines_with_others(client: TestClient, outlets: None) -> None:
    both = ref_set(client, "/v1/events", [("source", "AFP"), ("source", "TASS")])
    assert both == {"ev:reuters-afp", "ev:tass"}
    assert ref_set(client, "/v1/events", {"source": "TASS", "min_reliability": "B"}) == set()
    timeline = client.get("/v1/events/timeline", params={"source": "RTRS", "interval": "year"}).json()
    assert sum(bucket["events"] for bucket in timeline["buckets"]) == 2


def test_source_filter_on_documents_and_statements(client: TestClient, outlets: None) -> None:
    assert ref_set(client, "/v1/documents", {"source": "Reuters News"}) == {"doc:reuters-1", "doc:reuters-2"}
    assert ref_set(client, "/v1/statements", {"source": "rtrs"}) == {"stmt:reuters"}
    assert ref_set(client, "/v1/statements", {"source": "TASS"}) == {"stmt:tass"}


@pytest.mark.parametrize("path", ["/v1/events", "/v1/documents", "/v1/statements", "/v1/events/export"])
def test_a_source_that_identifies_nothing_is_422(client: TestClient, outlets: None, path: str) -> None:
    problem = assert_problem(client.get(path, params={"source": "Pravda"}), 422)
    assert "Pravda" in problem["detail"]


def test_names_and_aliases_mixed_resolve_together_and_the_missing_one_is_named(
    client: TestClient, outlets: None
) -> None:
    mixed = [("source", "afp"), ("source", "Reuters"), ("source", "RTRS"), ("source", "tass")]
    assert ref_set(client, "/v1/events", mixed) == {"ev:reuters-twice", "ev:reuters-afp", "ev:tass"}
    one_missing = [("source", "RTRS"), ("source", "Pravda"), ("source", "Izvestia")]
    problem = assert_problem(client.get("/v1/events", params=one_missing), 422)
    assert "'Pravda'" in problem["detail"] and "Izvestia" not in problem["detail"]


def test_min_sources_counts_one_outlet_once(client: TestClient, outlets: None) -> None:
    # two Reuters documents are one source; Reuters and AFP are two
    assert ref_set(client, "/v1/events", {"min_sources": 2}) == {"ev:reuters-afp"}
    events = {e["ref"]: e for e in client.get("/v1/events").json()["items"]}
    assert events["ev:reuters-twice"]["source_count"] == 1


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_merge_repoints_documents_and_keeps_the_names_as_aliases(
    client: TestClient, engine: sa.Engine, load: Load
) -> None:
    load(
        dataset(
            source("src:reuters", "Reuters", "B", kind="news_agency"),
            source("src:reuters-news", "Reuters News", "C", kind="news_agency", aliases=["Reuters Wire"]),
            document("doc:r", "src:reuters"),
            document("doc:rn-1", "src:reuters-news"),
            document("doc:rn-2", "src:reuters-news"),
            event("ev:both", citations=[cite("doc:r"), cite("doc:rn-1")]),
        )
    )
    assert ref_set(client, "/v1/events", {"min_sources": 2}) == {"ev:both"}
    sources = ids_by_ref(client, "/v1/sources")
    after = client.get("/v1/changes").json()["next_after"]

    result = invoke("sources", "merge", "Reuters", "src:reuters-news")
    assert result.exit_code == 0, result.output
    assert "2 documents re-pointed" in result.output

    [kept] = client.get("/v1/sources").json()["items"]
    assert (kept["id"], kept["name"], kept["reliability"]) == (sources["src:reuters"], "Reuters", "B")
    assert kept["aliases"] == ["Reuters News", "Reuters Wire"]
    docs = client.get("/v1/documents").json()["items"]
    assert {d["source_id"] for d in docs} == {sources["src:reuters"]}
    assert ref_set(client, "/v1/events", {"min_sources": 2}) == set()
    assert client.get("/v1/events").json()["items"][0]["source_count"] == 1
    assert ref_set(client, "/v1/events", {"source": "Reuters Wire"}) == {"ev:both"}
    # the feed has every row the merge wrote, under the command's name
    changes = client.get("/v1/changes", params={"after": after}).json()["items"]
    assert sorted((c["resource"], c["ref"], c["op"]) for c in changes) == [
        ("documents", "doc:rn-1", "upsert"),
        ("documents", "doc:rn-2", "upsert"),
        ("sources", "src:reuters", "upsert"),
        ("sources", "src:reuters-news", "delete"),
    ]
    with engine.connect() as conn:
        authors = set(
            conn.execute(
                sa.text('SELECT DISTINCT key_name FROM "change" WHERE seq > :seq'), {"seq": after}
            ).scalars()
        )
    assert authors == {"cli:sources-merge"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Reuters", "Pravda"), "no source has the id, ref, name or alias 'Pravda'"),
        (("Pravda", "Reuters"), "no source has the id, ref, name or alias 'Pravda'"),
        (("Reuters", "reuters news"), "are the same source"),
        (("src:reuters", "Reuters"), "are the same source"),
    ],
)
def test_merge_failures_are_one_line_and_change_nothing(
    client: TestClient, outlets: None, args: tuple[str, str], message: str
) -> None:
    before = client.get("/v1/changes").json()["next_after"]
    result = invoke("sources", "merge", *args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "nothing was changed" in lines[0], result.output
    assert client.get("/v1/changes", params={"after": before}).json()["items"] == []


def test_merge_by_id(client: TestClient, outlets: None) -> None:
    ids = ids_by_ref(client, "/v1/sources")
    result = invoke("sources", "merge", str(ids["src:reuters"]), str(ids["src:afp"]))
    assert result.exit_code == 0, result.output
    assert {s["name"] for s in client.get("/v1/sources").json()["items"]} == {"Reuters", "TASS"}
    reuters = client.get(f"/v1/sources/{ids['src:reuters']}").json()
    assert reuters["aliases"] == ["Reuters News", "RTRS", "Agence France-Presse", "AFP"]


# --- the UCDP importer ------------------------------------------------------------------------


def run_import() -> None:
    summary = import_ucdp_ged(UCDP_SAMPLE, db_session.session_factory(write=True), parse_in_worker=False)
    assert summary.ok, summary.skipped


def test_ucdp_reuters_and_reuters_news_are_one_source(client: TestClient, auth: dict[str, str]) -> None:
    """The sample cites `Reuters` (3 articles) and `Reuters News` (33): one source, counted once."""
    run_import()
    found = client.get("/v1/sources", params={"q": "reuters"}).json()["items"]
    assert [(s["name"], s["aliases"]) for s in found] == [("Reuters", ["Reuters News"])]
    reuters = set(
        item["ref"]
        for item in client.get("/v1/events", params={"source": "Reuters", "limit": 500}).json()["items"]
    )
    assert reuters == set(
        item["ref"]
        for item in client.get("/v1/events", params={"source": "Reuters News", "limit": 500}).json()["items"]
    )
    # ucdp-ged:163075 cites "Reuters", ucdp-ged:194704 "Reuters News"
    assert {"ucdp-ged:163075", "ucdp-ged:194704"} <= reuters
    # an event citing one article of each spelling has one source, not two
    docs = ids_by_ref(client, "/v1/documents")
    with_both = {
        "title": "Both spellings",
        "type": "armed_clash",
        "start_date": "2020-01-01",
        "ref": "test:both",
        "citations": [
            {"document_id": docs["ucdp-ged:doc:163075:1"]},
            {"document_id": docs["ucdp-ged:doc:194704:1"]},
        ],
    }
    response = client.post("/v1/events", json=with_both, headers=auth)
    assert response.status_code == 201, response.text
    assert response.json()["source_count"] == 1
    assert "test:both" not in ref_set(client, "/v1/events", {"ref": "test:both", "min_sources": 2})
    assert "test:both" in ref_set(client, "/v1/events", {"ref": "test:both", "min_sources": 1})


def test_ucdp_import_uses_aliases_already_in_the_store(client: TestClient, load: Load) -> None:
    """An analyst's source holding a GED spelling as an alias gets that spelling's articles."""
    load(
        dataset(source("src:sohr", "Syrian Observatory for Human Rights", "C", kind="ngo", aliases=["SOHR"]))
    )
    run_import()
    found = client.get("/v1/sources", params={"q": "SOHR"}).json()["items"]
    assert found == []  # no source named SOHR was made
    sohr = ref_set(client, "/v1/events", {"source": "SOHR", "limit": 500})
    assert len(sohr) > 100
    [stored] = client.get("/v1/sources", params={"ref": "src:sohr"}).json()["items"]
    assert stored["aliases"] == ["SOHR"]
    # a second run changes nothing
    summary = import_ucdp_ged(UCDP_SAMPLE, db_session.session_factory(write=True), parse_in_worker=False)
    assert summary.counts["documents"]["updated"] == 0 and summary.counts["sources"]["created"] == 0


def test_the_alias_table_refuses_chains_and_repeats() -> None:
    with pytest.raises(ValueError, match="twice"):
        SourceAliases.parse("alias,source\nA,B\na,C\n")
    with pytest.raises(ValueError, match="both an alias and a source"):
        SourceAliases.parse("alias,source\nA,B\nB,C\n")
    table = SourceAliases.parse("# comment\nalias,source\nReuters  News,Reuters\n")
    assert table.source_of("reuters news") == "Reuters"
    assert table.aliases_of("REUTERS") == ["Reuters News"]
    assert table.source_of("AFP") == "AFP"

"""parse_rows of the UCDP GED importer: mappings, repairs, skips and line numbers (no database)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from app.importers.ucdp_ged.convert import RowResult
from app.importers.ucdp_ged.parsing import UcdpFormatError, parse_rows
from tests.factories import UCDP_SAMPLE as SAMPLE

HEADER = [
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
]

BASE: dict[str, str] = {
    "id": "300380",
    "relid": "SYR-2013-1-11973-99",
    "year": "2013",
    "active_year": "1",
    "code_status": "Clear",
    "type_of_violence": "1",
    "conflict_name": "Syria: Government",
    "dyad_name": "Government of Syria - Syrian insurgents",
    "side_a_dset_id": "118",
    "side_a_new_id": "118",
    "side_a": "Government of Syria",
    "side_b_dset_id": "4456",
    "side_b_new_id": "4456",
    "side_b": "Syrian insurgents",
    "number_of_sources": "1",
    "source_article": '"Reuters News,2013-01-03,Rebels attack village"',
    "source_office": "Reuters News",
    "source_date": "2013-01-03",
    "source_headline": "Rebels attack village",
    "source_original": "SOHR",
    "where_prec": "1",
    "where_coordinates": "Rami village",
    "where_description": "in the al-Rami village",
    "adm_1": "Idlib governorate",
    "adm_2": "Ariha district",
    "latitude": "35.763369",
    "longitude": "36.558974",
    "country": "Syria",
    "country_id": "652",
    "region": "Middle East",
    "event_clarity": "1",
    "date_prec": "1",
    "date_start": "2013-01-03",
    "date_end": "2013-01-03",
    "deaths_a": "0",
    "deaths_b": "2",
    "deaths_civilians": "0",
    "deaths_unknown": "0",
    "best": "2",
    "high": "2",
    "low": "2",
    "gwnoa": "652",
    "gwnob": "",
}


def make_csv(*rows: dict[str, str]) -> str:
    """A GED CSV with the real header; each row overrides BASE, with a fresh id unless given."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for number, overrides in enumerate(rows):
        values = {**BASE, "id": str(1000 + number), **overrides}
        writer.writerow([values.get(column, "") for column in HEADER])
    return out.getvalue()


def parse(text: str) -> list[RowResult]:
    return list(parse_rows(io.StringIO(text, newline="")))


def one(**overrides: str) -> RowResult:
    [result] = parse(make_csv(overrides))
    return result


def event(**overrides: str) -> dict[str, Any]:
    result = one(**overrides)
    assert result.bundle is not None, result.skip_reason
    return result.bundle.event


# --- mappings ------------------------------------------------------------------------------


def test_basic_row_maps_to_records() -> None:
    result = one(id="300380")
    assert result.line == 2
    assert result.warnings == ()
    assert result.bundle is not None
    ev = result.bundle.event
    assert ev["ref"] == "ucdp-ged:300380"
    assert ev["title"] == "Government of Syria - Syrian insurgents (Rami village)"
    assert (ev["start_date"], ev["end_date"]) == ("2013-01-03", "2013-01-03")
    assert (ev["country"], ev["admin1"], ev["location"]) == (
        "SY",
        "Idlib governorate",
        "Rami village",
    )
    assert (ev["latitude"], ev["longitude"]) == (35.763369, 36.558974)
    assert (ev["fatalities_low"], ev["fatalities_best"], ev["fatalities_high"]) == (2, 2, 2)
    assert "Original source: SOHR." in ev["description"]
    assert ev["actors"] == [
        {"actor": "ucdp-ged:actor:118", "role": "side_a"},
        {"actor": "ucdp-ged:actor:4456", "role": "side_b"},
    ]
    assert ev["citations"] == [
        {"document": "ucdp-ged:doc:300380:1", "credibility": 6, "excerpt": None},
    ]
    # "Reuters News" is a spelling of Reuters in the alias table: imported as that source
    [source] = result.bundle.sources
    assert source["ref"] == "ucdp-ged:source:reuters"
    assert (source["name"], source["aliases"], source["kind"], source["reliability"]) == (
        "Reuters",
        ["Reuters News"],
        "news_agency",
        "B",
    )
    [document] = result.bundle.documents
    assert document == {
        "ref": "ucdp-ged:doc:300380:1",
        "source": "ucdp-ged:source:reuters",
        "title": "Rebels attack village",
        "published_on": "2013-01-03",
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [("1", "armed_clash"), ("2", "armed_clash"), ("3", "violence_against_civilians")],
)
def test_type_of_violence(code: str, expected: str) -> None:
    assert event(type_of_violence=code)["type"] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("1", "day"), ("2", "week"), ("3", "week"), ("4", "month"), ("5", "year")],
)
def test_date_precision(code: str, expected: str) -> None:
    assert event(date_prec=code, date_end="2013-01-09")["date_precision"] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1", "exact"),
        ("2", "near"),
        ("3", "admin2"),
        ("4", "admin1"),
        ("5", "admin1"),
        ("6", "country"),
        ("7", "country"),
    ],
)
def test_geo_precision(code: str, expected: str) -> None:
    assert event(where_prec=code)["geo_precision"] == expected


def test_unknown_codes_are_repaired_with_warnings() -> None:
    result = one(type_of_violence="9", date_prec="", where_prec="x", date_end="2013-01-20")
    assert result.bundle is not None
    ev = result.bundle.event
    assert (ev["type"], ev["date_precision"], ev["geo_precision"]) == ("other", "month", None)
    assert len(result.warnings) == 3


def test_dates_with_a_time_part_keep_the_date() -> None:
    ev = event(date_start="2013-01-03 00:00:00.000", date_end="2013-01-05 00:00:00.000")
    assert (ev["start_date"], ev["end_date"]) == ("2013-01-03", "2013-01-05")


def test_missing_end_date_is_the_start_date_with_a_warning() -> None:
    result = one(date_end="")
    assert result.bundle is not None
    assert result.bundle.event["end_date"] == "2013-01-03"
    assert any("date_end is missing" in w for w in result.warnings)


def test_country_from_gw_number_with_name_fallback() -> None:
    assert event(country_id="490", country="DR Congo (Zaire)")["country"] == "CD"
    result = one(country_id="9999", country="Myanmar (Burma)")
    assert result.bundle is not None and result.bundle.event["country"] == "MM"
    assert any("not in gw_countries.csv" in w for w in result.warnings)
    result = one(country_id="", country="Atlantis")
    assert result.bundle is not None and result.bundle.event["country"] is None
    assert any("country left empty" in w for w in result.warnings)


# --- actors --------------------------------------------------------------------------------


def test_actor_kinds_and_countries() -> None:
    result = one(
        type_of_violence="3",
        side_a="Government of Pakistan",
        side_a_new_id="139",
        gwnoa="770",
        side_b="Civilians",
        side_b_new_id="1",
        side_b_dset_id="9999",
    )
    assert result.bundle is not None
    state, civilians = result.bundle.actors
    assert (state["ref"], state["kind"], state["country"]) == ("ucdp-ged:actor:139", "state", "PK")
    assert (civilians["ref"], civilians["kind"]) == ("ucdp-ged:actor:1", "civilian_group")
    assert "dset id 9999" in civilians["description"]
    assert event(side_b="Taleban", side_b_new_id="303")["actors"][1]["role"] == "side_b"


def test_government_without_gw_number_uses_the_name() -> None:
    result = one(side_a="Government of United States of America", gwnoa="")
    assert result.bundle is not None
    assert result.bundle.actors[0]["country"] == "US"


def test_same_actor_name_with_other_id_reuses_one_ref() -> None:
    results = parse(
        make_csv(
            {"side_b": "UCK", "side_b_new_id": "357", "side_b_dset_id": "357"},
            {"side_b": "uck", "side_b_new_id": "361", "side_b_dset_id": "361"},
        )
    )
    first, second = (r.bundle for r in results)
    assert first is not None and second is not None
    assert second.event["actors"][1]["actor"] == "ucdp-ged:actor:357"
    assert second.actors[1] == first.actors[1]
    assert any("same name" in w for w in results[1].warnings)


def test_actor_ref_falls_back_to_dset_id_then_name() -> None:
    ev = event(side_b_new_id="", side_b_dset_id="77")
    assert ev["actors"][1]["actor"] == "ucdp-ged:actor:dset:77"
    ev = event(side_b_new_id="", side_b_dset_id="", side_b="Some  Group")
    assert ev["actors"][1]["actor"] == "ucdp-ged:actor:name:some group"


# --- fatalities ----------------------------------------------------------------------------


def test_best_outside_range_is_widened_with_line_number() -> None:
    results = parse(make_csv({}, {"low": "3", "best": "2", "high": "3"}))
    assert [r.line for r in results] == [2, 3]
    assert results[0].warnings == ()
    repaired = results[1]
    assert repaired.bundle is not None
    ev = repaired.bundle.event
    assert (ev["fatalities_low"], ev["fatalities_best"], ev["fatalities_high"]) == (2, 2, 3)
    assert len(repaired.warnings) == 1 and "widened to 2-3" in repaired.warnings[0]


def test_inverted_low_and_high_are_widened() -> None:
    ev = event(low="18", best="18", high="17")
    assert (ev["fatalities_low"], ev["fatalities_best"], ev["fatalities_high"]) == (17, 18, 18)


def test_negative_or_non_numeric_fatalities_are_emptied() -> None:
    result = one(low="-1", best="abc", high="5")
    assert result.bundle is not None
    ev = result.bundle.event
    assert (ev["fatalities_low"], ev["fatalities_best"], ev["fatalities_high"]) == (None, None, 5)
    assert len(result.warnings) == 2


# --- skips ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"date_start": ""}, "date_start is missing"),
        ({"date_start": "2013-02-30"}, "date_start '2013-02-30' is not a date"),
        ({"date_end": "2013-01-01"}, "date_end 2013-01-01 is before date_start 2013-01-03"),
        ({"latitude": "95.5"}, "latitude 95.5 is out of range -90..90"),
        ({"longitude": "-181"}, "longitude -181 is out of range -180..180"),
        ({"latitude": ""}, "latitude is missing while the other coordinate is given"),
        ({"latitude": "north"}, "latitude 'north' is not a number"),
        ({"id": ""}, "id is missing"),
    ],
)
def test_skipped_rows_carry_line_and_reason(overrides: dict[str, str], reason: str) -> None:
    results = parse(make_csv({}, overrides, {}))
    assert [r.line for r in results] == [2, 3, 4]
    assert [r.skipped for r in results] == [False, True, False]
    assert results[1].skip_reason == reason


def test_duplicate_id_is_skipped() -> None:
    results = parse(make_csv({"id": "7"}, {"id": "7"}))
    assert results[1].skipped and "duplicate id 7" in (results[1].skip_reason or "")


def test_short_row_is_skipped() -> None:
    text = make_csv({}) + "123,too,short\n" + make_csv({"id": "5"}).split("\n", 1)[1]
    results = parse(text)
    assert [(r.line, r.skipped) for r in results] == [(2, False), (3, True), (4, False)]
    assert "expected 49 fields, found 3" in (results[1].skip_reason or "")


def test_header_without_required_columns_is_an_error() -> None:
    with pytest.raises(UcdpFormatError, match="side_a"):
        parse("id,date_start,type_of_violence,side_b\n1,2020-01-01,1,x\n")


# --- line numbers --------------------------------------------------------------------------


def test_line_numbers_count_physical_lines_of_quoted_fields() -> None:
    text = make_csv(
        {"where_description": "first\nsecond\nthird"},
        {},
        {"source_original": "army statement\r\n\r\nSecond source: police"},
        {},
    )
    results = parse(text)
    assert [r.line for r in results] == [2, 5, 6, 9]
    assert all(not r.skipped for r in results)
    assert results[0].bundle is not None
    assert "Where: first second third;" in results[0].bundle.event["description"]


def test_blank_lines_are_not_records() -> None:
    header, row = make_csv({}).split("\n", 1)
    results = parse(header + "\n\n" + row)
    assert [r.line for r in results] == [3]


def test_bom_in_header_is_ignored() -> None:
    assert not one().skipped
    results = parse("\ufeff" + make_csv({}))
    assert results[0].bundle is not None


# --- sources and documents -----------------------------------------------------------------


def test_quoted_article_triplets_keep_semicolons_in_headlines() -> None:
    result = one(
        id="304491",
        source_article=(
            '"Agence France Presse,2012-06-28,Turkey reinforces border";'
            '"Associated Press Newswires,2012-06-29,Troops besiege suburb; dozens killed"'
        ),
        source_office="Agence France Presse;Associated Press Newswires",
        source_date="2012-06-28;2012-06-29",
        source_headline="Turkey reinforces border;Troops besiege suburb; dozens killed",
    )
    assert result.bundle is not None
    assert result.warnings == ()
    titles = [(d["source"], d["title"], d["published_on"]) for d in result.bundle.documents]
    assert titles == [
        ("ucdp-ged:source:agence france presse", "Turkey reinforces border", "2012-06-28"),
        (
            "ucdp-ged:source:associated press newswires",
            "Troops besiege suburb; dozens killed",
            "2012-06-29",
        ),
    ]
    assert [c["document"] for c in result.bundle.event["citations"]] == [
        "ucdp-ged:doc:304491:1",
        "ucdp-ged:doc:304491:2",
    ]


def test_ragged_lists_pair_what_lines_up_and_warn() -> None:
    result = one(
        id="55",
        source_article="free text that is not in triplets",
        source_office="SOHR; ;VDC",
        source_date="2013-01-01;2013-01-02;2013-01-03",
        source_headline="one;two; with a semicolon;three;four",
    )
    assert result.bundle is not None
    docs = result.bundle.documents
    assert [d["source"] for d in docs] == [
        "ucdp-ged:source:sohr",
        "ucdp-ged:source:ucdp ged (unattributed)",
        "ucdp-ged:source:vdc",
    ]
    assert [d["published_on"] for d in docs] == ["2013-01-01", "2013-01-02", "2013-01-03"]
    assert [d["title"] for d in docs] == [
        "SOHR, 2013-01-01",
        "UCDP GED (unattributed), 2013-01-02",
        "VDC, 2013-01-03",
    ]
    assert any(w.startswith("ragged source lists") for w in result.warnings)
    assert {s["name"] for s in result.bundle.sources} == {
        "SOHR",
        "VDC",
        "UCDP GED (unattributed)",
    }


def test_one_office_joins_a_headline_split_by_semicolons() -> None:
    result = one(
        source_article="unquoted",
        source_office="El Sol de Tijuana",
        source_date="2022-06-22",
        source_headline="Junio suma 122 homicidios; asesinan a hombre",
    )
    assert result.bundle is not None
    assert result.bundle.documents[0]["title"] == "Junio suma 122 homicidios; asesinan a hombre"
    assert result.warnings == ()


def test_article_without_office_is_unattributed() -> None:
    text = 'Reuters 1989-05-17 "ANGOLAN UNITA REBELS BLOW UP POWER LINES; PEACE SUMMIT ' + "x" * 400
    result = one(
        id="21300",
        source_article=text,
        source_office="",
        source_date="",
        source_headline="",
    )
    assert result.bundle is not None
    [source] = result.bundle.sources
    assert (source["name"], source["kind"], source["reliability"]) == (
        "UCDP GED (unattributed)",
        "other",
        "F",
    )
    [document] = result.bundle.documents
    assert document["ref"] == "ucdp-ged:doc:21300:1"
    assert document["published_on"] is None
    assert len(document["title"]) <= 300 and document["title"].endswith("…")
    # The full citation text survives in the excerpt when the title had to be cut.
    assert result.bundle.event["citations"][0]["excerpt"] == text


def test_unknown_office_gets_grade_f_and_a_guessed_kind() -> None:
    result = one(
        source_article='"@SomeAnalyst,2020-01-01,Thread"',
        source_office="@SomeAnalyst",
        source_date="2020-01-01",
        source_headline="Thread",
    )
    assert result.bundle is not None
    [source] = result.bundle.sources
    assert (source["kind"], source["reliability"]) == ("social_media", "F")


def test_unparseable_source_date_leaves_published_on_empty() -> None:
    result = one(
        source_article="x",
        source_office="SOHR",
        source_date="sometime in 2013",
        source_headline="Report",
    )
    assert result.bundle is not None
    assert result.bundle.documents[0]["published_on"] is None
    assert any("source_date" in w for w in result.warnings)


def test_parsing_is_deterministic() -> None:
    text = make_csv({}, {"side_b": "Taleban", "side_b_new_id": "303"}, {"low": "5", "best": "4"})
    assert parse(text) == parse(text)


# --- the real sample -----------------------------------------------------------------------


def test_every_sample_row_parses_with_a_country() -> None:
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        results = list(parse_rows(handle))
    assert len(results) == 1000
    assert [r.line for r in results if r.skipped] == []
    lines = [r.line for r in results]
    assert lines[0] == 2 and lines == sorted(set(lines))
    refs = set()
    for result in results:
        assert result.bundle is not None
        ev = result.bundle.event
        assert ev["country"] and len(ev["country"]) == 2, result.line
        assert ev["start_date"] <= ev["end_date"]
        assert ev["citations"], result.line
        refs.add(ev["ref"])
        for record in (*result.bundle.sources, *result.bundle.actors, *result.bundle.documents):
            assert len(record["ref"]) <= 200
    assert len(refs) == 1000
    # Every state actor got its country from gwnoa/gwnob.
    states = [a for r in results if r.bundle for a in r.bundle.actors if a["kind"] == "state"]
    assert states and all(a["country"] for a in states)

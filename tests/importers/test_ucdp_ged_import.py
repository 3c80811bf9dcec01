"""The UCDP GED importer end to end: the sample into a database, reruns, a killed run, the CLI's
report and exit status, and streaming memory (API.md section 5, "Importers")."""

from __future__ import annotations

import csv
import gc
import importlib.util
import re
import time
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.db import session as db_session
from app.importers.ucdp_ged.convert import RowResult
from app.importers.ucdp_ged.parsing import parse_rows
from app.importers.ucdp_ged.run import ImportSummary, import_ucdp_ged
from app.importers.ucdp_ged.tables import country_table, source_aliases, source_grades
from tests.factories import UCDP_SAMPLE as SAMPLE

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "generate_ged.py"


SAMPLE_EVENTS = 1000
TYPE = {"1": "armed_clash", "2": "armed_clash", "3": "violence_against_civilians"}
DATE_PRECISION = {"1": "day", "2": "week", "3": "week", "4": "month", "5": "year"}
GEO_PRECISION = {
    "1": "exact",
    "2": "near",
    "3": "admin2",
    "4": "admin1",
    "5": "admin1",
    "6": "country",
    "7": "country",
}
# Event fields the importer writes verbatim from its bundle (what a clean run would store).
SCALARS = (
    "title",
    "type",
    "start_date",
    "end_date",
    "date_precision",
    "country",
    "admin1",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "description",
    "fatalities_low",
    "fatalities_best",
    "fatalities_high",
)


# --------------------------------------------------------------------------------------------
# Helpers


def norm(text: str) -> str:
    """Case- and whitespace-normalised, as the API compares names."""
    return " ".join(text.split()).casefold()


def clean(text: str) -> str:
    return " ".join(text.split())


def sample_rows(path: Path = SAMPLE) -> list[tuple[int, dict[str, str]]]:
    """Every CSV record with the physical line it starts on, read independently of the importer."""
    rows: list[tuple[int, dict[str, str]]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return rows
            rows.append((start, row))


def run_import(batch_size: int = 1000, path: Path = SAMPLE) -> ImportSummary:
    return import_ucdp_ged(path, db_session.session_factory(write=True), batch_size=batch_size)


def events_by_ref(client: TestClient, refs: list[str]) -> dict[str, dict[str, Any]]:
    """The events read back through `GET /v1/events?ref=…` (100 refs per request)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(refs), 100):
        chunk = refs[start : start + 100]
        response = client.get("/v1/events", params={"ref": chunk, "limit": 500})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["next_cursor"] is None
        for item in body["items"]:
            found[item["ref"]] = item
    return found


def count(engine: sa.Engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}" {where}').scalar_one())


def max_seq(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql('SELECT coalesce(max(seq), 0) FROM "change"').scalar_one())


def bundles(path: Path = SAMPLE) -> dict[str, dict[str, Any]]:
    """What the importer's conversion makes of each row (the records a clean run stores)."""
    with path.open(newline="", encoding="utf-8") as handle:
        results = list(parse_rows(handle))
    return {r.bundle.event["ref"]: r.bundle.event for r in results if r.bundle is not None}


def check_against_csv(client: TestClient, summary: ImportSummary) -> dict[str, dict[str, Any]]:
    """Every CSV row's event as stored matches the CSV (and the importer's own conversion)."""
    rows = sample_rows()
    assert len(rows) == SAMPLE_EVENTS
    refs = [f"ucdp-ged:{row['id']}" for _, row in rows]
    stored = events_by_ref(client, refs)
    assert len(stored) == SAMPLE_EVENTS, sorted(set(refs) - set(stored))[:10]
    expected = bundles()
    warnings: dict[int, list[str]] = {}
    for line, message in summary.warnings:
        warnings.setdefault(line, []).append(message)
    merged_actor_names = {
        norm(m.group(1))
        for messages in warnings.values()
        for text in messages
        if (m := re.match(r"actor '(.*)' \(\S+\) has the same name as", text))
    }
    actor_ids_by_name: dict[str, set[int]] = {}

    for line, row in rows:
        ref = f"ucdp-ged:{row['id']}"
        event = stored[ref]
        where = f"{ref} (line {line})"
        assert event["start_date"] == row["date_start"][:10], where
        assert event["end_date"] == (row["date_end"] or row["date_start"])[:10], where
        assert event["date_precision"] == DATE_PRECISION[row["date_prec"]], where
        assert event["geo_precision"] == GEO_PRECISION[row["where_prec"]], where
        assert event["type"] == TYPE[row["type_of_violence"]], where
        assert event["latitude"] == pytest.approx(float(row["latitude"]), abs=1e-9), where
        assert event["longitude"] == pytest.approx(float(row["longitude"]), abs=1e-9), where
        assert event["admin1"] == (clean(row["adm_1"]) or None), where
        assert event["country"] is not None and re.fullmatch(r"[A-Z]{2}", event["country"]), where

        # Fatalities: best as in the CSV; the range widened only where a warning says so.
        low, best, high = (int(row[c]) for c in ("low", "best", "high"))
        assert event["fatalities_best"] == best, where
        assert event["fatalities_low"] <= event["fatalities_best"] <= event["fatalities_high"], where
        repaired = any(m.startswith("fatalities best") for m in warnings.get(line, []))
        if repaired:
            assert (event["fatalities_low"], event["fatalities_high"]) == (
                min(low, best, high),
                max(low, best, high),
            ), where
        else:
            assert low <= best <= high, f"{where}: range not repaired and not warned about"
            assert (event["fatalities_low"], event["fatalities_high"]) == (low, high), where

        # Sides: one actor per role, named as in the CSV.
        roles: dict[str, list[dict[str, Any]]] = {}
        for link in event["actors"]:
            roles.setdefault(link["role"], []).append(link)
        assert set(roles) <= {"side_a", "side_b"}, where
        for role in ("side_a", "side_b"):
            name = clean(row[role])
            assert [link["name"] for link in roles.get(role, [])] == [name], (where, role)
            actor_ids_by_name.setdefault(norm(name), set()).add(roles[role][0]["actor_id"])

        # Sources: every office in source_office is among the cited sources, as the source the
        # alias table makes of its spelling.
        cited = {norm(c["source_name"]) for c in event["citations"]}
        offices = [norm(source_aliases().source_of(o)) for o in row["source_office"].split(";") if o.strip()]
        if offices:
            assert set(offices) <= cited, (where, offices, cited)
        else:
            assert cited <= {norm("UCDP GED (unattributed)")}, where
        assert event["citations"], where

        # Everything else exactly as the importer's conversion produced it.
        mine = expected[ref]
        for name in SCALARS:
            if isinstance(mine[name], float):
                assert event[name] == pytest.approx(mine[name], abs=1e-9), (where, name)
            else:
                assert event[name] == mine[name], (where, name)
        assert len(event["citations"]) == len(mine["citations"]), where

    # A name shared by two UCDP ids is one actor; every other name is one actor too.
    for name, ids in actor_ids_by_name.items():
        assert len(ids) == 1, (name, ids)
    assert merged_actor_names == {"dpr", "uck"}
    return stored


def event_snapshot(client: TestClient) -> dict[str, dict[str, Any]]:
    refs = [f"ucdp-ged:{row['id']}" for _, row in sample_rows()]
    return events_by_ref(client, refs)


# --------------------------------------------------------------------------------------------
# The sample into a fresh database


def test_sample_imports_every_event_as_in_the_csv(client: TestClient, engine: sa.Engine) -> None:
    summary = run_import(batch_size=250)

    assert summary.ok, summary.skipped[:5]
    assert summary.rows_read == SAMPLE_EVENTS
    assert summary.events_imported == SAMPLE_EVENTS
    assert summary.counts["events"] == {"created": SAMPLE_EVENTS, "updated": 0, "unchanged": 0}
    assert summary.batches == 4
    assert summary.adopted == {}
    # 13 rows have best outside low-high (README "Quirks of the sample"): each warned with its line.
    repairs = [line for line, message in summary.warnings if message.startswith("fatalities best")]
    assert len(repairs) == 13
    assert count(engine, "event") == SAMPLE_EVENTS

    check_against_csv(client, summary)


def test_second_run_changes_nothing(client: TestClient, engine: sa.Engine) -> None:
    first = run_import()
    assert first.ok
    before = event_snapshot(client)
    changes, last = count(engine, "change"), max_seq(engine)
    assert changes > 0

    again = run_import()

    assert again.ok and again.events_imported == SAMPLE_EVENTS
    for resource, counts in again.counts.items():
        assert counts["created"] == 0 and counts["updated"] == 0, (resource, counts)
    for resource in ("sources", "documents", "actors", "events"):
        assert again.counts[resource]["unchanged"] == first.counts[resource]["created"], resource
    assert again.counts["events"]["unchanged"] == SAMPLE_EVENTS
    assert count(engine, "change") == changes and max_seq(engine) == last
    feed = client.get("/v1/changes", params={"after": last})
    assert feed.status_code == 200 and feed.json()["items"] == []
    assert event_snapshot(client) == before  # same rows, same updated_at


# --------------------------------------------------------------------------------------------
# A run killed half-way


def test_killed_run_leaves_whole_batches_and_a_rerun_completes_it(
    client: TestClient, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.datasets.loader as loader

    batch_size, survive = 300, 2
    original = loader.load_dataset
    calls = {"n": 0}

    def dying(session: Any, dataset: Any) -> Any:
        report = original(session, dataset)  # the batch's writes are made, not committed
        calls["n"] += 1
        if calls["n"] > survive:
            raise RuntimeError("killed")
        return report

    monkeypatch.setattr(loader, "load_dataset", dying)
    with pytest.raises(RuntimeError, match="killed"):
        run_import(batch_size=batch_size)
    monkeypatch.setattr(loader, "load_dataset", original)

    events = count(engine, "event")
    assert events % batch_size == 0 and events == survive * batch_size
    # Nothing of the killed batch is left: every document belongs to a stored event.
    with engine.connect() as conn:
        event_refs = set(conn.exec_driver_sql('SELECT ref FROM "event"').scalars())
        doc_refs = list(conn.exec_driver_sql('SELECT ref FROM "document"').scalars())
    assert doc_refs and {f"ucdp-ged:{r.split(':')[2]}" for r in doc_refs} <= event_refs
    # The change feed holds the committed events only, none of the killed batch's.
    assert count(engine, "change", "WHERE resource = 'events'") == events
    partial = event_snapshot(client)
    assert len(partial) == events

    summary = run_import(batch_size=batch_size)

    assert summary.ok
    assert summary.counts["events"] == {
        "created": SAMPLE_EVENTS - events,
        "updated": 0,
        "unchanged": events,
    }
    assert count(engine, "event") == SAMPLE_EVENTS
    stored = check_against_csv(client, summary)
    for ref, event in partial.items():
        assert stored[ref] == event, ref  # the whole batches stayed exactly as they were
    again = run_import(batch_size=batch_size)
    assert again.counts["events"]["unchanged"] == SAMPLE_EVENTS


# --------------------------------------------------------------------------------------------
# The CLI: skipped rows, repairs and exit status


def plain_rows(n: int) -> tuple[list[str], list[dict[str, str]]]:
    """The sample's header and its first n rows that fit on one line and need no repair."""
    with SAMPLE.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        picked: list[dict[str, str]] = []
        for row in reader:
            if any("\n" in v or "\r" in v for v in row.values()):
                continue
            if not int(row["low"]) <= int(row["best"]) <= int(row["high"]):
                continue
            if clean(row["side_a"]) in {"DPR", "UCK"} or clean(row["side_b"]) in {"DPR", "UCK"}:
                continue
            picked.append(row)
            if len(picked) == n:
                return header, picked
    raise AssertionError("the sample has too few plain rows")


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def invoke(path: Path) -> Any:
    from app.cli import cli

    return CliRunner().invoke(cli, ["import", "ucdp-ged", str(path), "--batch-size", "2"])


def test_cli_reports_skipped_rows_and_repairs_with_line_numbers(
    database_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    header, (good, no_date, far_north, wide, good2) = plain_rows(5)
    no_date = {**no_date, "date_start": ""}
    far_north = {**far_north, "latitude": "123"}
    wide = {**wide, "best": str(int(wide["high"]) + 5)}
    path = write_csv(tmp_path / "messy.csv", header, [good, no_date, far_north, wide, good2])

    result = invoke(path)

    assert result.exit_code != 0, result.output
    stderr = result.stderr
    assert re.search(r"skipped: line 3: date_start is missing", stderr), stderr
    assert re.search(r"skipped: line 4: latitude 123 is out of range", stderr), stderr
    assert re.search(r"warning: line 5: fatalities best \d+ outside low-high", stderr), stderr
    assert not re.search(r"line [26]\b", stderr), stderr
    assert "skipped 2" in result.stdout and "events imported 3" in result.stdout
    with engine.connect() as conn:
        refs = set(conn.exec_driver_sql('SELECT ref FROM "event"').scalars())
    assert refs == {f"ucdp-ged:{r['id']}" for r in (good, wide, good2)}


def test_cli_exits_zero_on_a_clean_file(database_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    header, rows = plain_rows(3)
    path = write_csv(tmp_path / "clean.csv", header, rows)

    result = invoke(path)

    assert result.exit_code == 0, result.output
    assert "skipped:" not in result.stderr
    assert "events imported 3" in result.stdout and "skipped 0" in result.stdout
    assert count(engine, "event") == 3


# --------------------------------------------------------------------------------------------
# Streaming memory


def load_generator() -> Callable[[int, Path], None]:
    spec = importlib.util.spec_from_file_location("generate_ged", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[[int, Path], None] = module.generate
    return generate


def test_parse_rows_streams_a_large_file_in_flat_memory(tmp_path: Path) -> None:
    if not GENERATOR.exists():
        pytest.skip(f"{GENERATOR} is not there")
    rows, traced = 20_000, 4_000
    path = tmp_path / "ged-20k.csv"
    load_generator()(rows, path)
    country_table(), source_grades()  # the shipped tables are read once per process; not rows

    began = time.monotonic()
    # 1. Lazy over the whole file: each result comes as soon as its record is read, and nothing
    # keeps results alive once the caller drops them.
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        with path.open(newline="", encoding="utf-8") as handle:
            for line in handle:
                consumed += 1
                yield line

    alive: list[weakref.ref[RowResult]] = []
    seen = 0
    for result in parse_rows(lines()):
        seen += 1
        assert result.bundle is not None, (result.line, result.skip_reason)
        assert consumed - result.line < 40, (consumed, result.line)  # no read-ahead
        if seen % 1000 == 0:
            alive.append(weakref.ref(result))
    del result
    gc.collect()
    assert seen == rows
    assert all(ref() is None for ref in alive)

    # 2. What holding results costs, measured on a few.
    tracemalloc.start()
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            iterator = parse_rows(handle)
            next(iterator)  # the converter's own set-up is not a row's cost
            base = tracemalloc.get_traced_memory()[0]
            kept = [next(iterator) for _ in range(500)]
            per_row = (tracemalloc.get_traced_memory()[0] - base) / len(kept)
            del kept, iterator
    finally:
        tracemalloc.stop()
    holding_all = per_row * rows

    # 3. Peak while iterating: flat, well under what holding the rows would take.
    tracemalloc.start()
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            iterator = parse_rows(line for line in handle)
            for _ in range(1000):
                next(iterator)
            settled = tracemalloc.get_traced_memory()[0]
            for _ in range(traced - 1000):
                next(iterator)
            current, peak = tracemalloc.get_traced_memory()
            del iterator
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak
    assert peak < holding_all / 5, (peak, holding_all)
    assert current - settled < per_row * (traced - 1000) / 10, (current, settled, per_row)
    assert time.monotonic() - began < 30


def test_statistics_are_refreshed_for_every_table_the_import_wrote(database_url: str) -> None:
    """The planner sees the imported rows at once (stale statistics made exports of a fresh
    import three times slower): every table the import wrote is analyzed, its mirror and the
    versions and changes too, whichever connection analyzes it."""
    from app.importers.ucdp_ged.run import WRITTEN_TABLES, refresh_statistics

    engine = db_session.get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's; SQLite plans without them")
    import_ucdp_ged(SAMPLE, db_session.session_factory(write=True), batch_size=400)
    with engine.connect() as conn:
        before = conn.scalar(sa.text("SELECT clock_timestamp()"))
    refresh_statistics()
    with engine.connect() as conn:
        analyzed = {
            name: when
            for name, when in conn.execute(
                sa.text("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
                {"names": list(WRITTEN_TABLES)},
            )
        }
        estimated = conn.scalar(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'event_history'"))
    stale = sorted(name for name in WRITTEN_TABLES if not analyzed.get(name) or analyzed[name] < before)
    assert stale == []
    assert estimated == 1000

"""Loading a GED file: batches from the parser go through the dataset loader, each committed in
a transaction of its own, then PostgreSQL's statistics are refreshed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from os import PathLike

from sqlalchemy.orm import Session

from app.actors import read as actors_read
from app.core.errors import DatasetError
from app.core.garbage import rare_full_collections

# The module, not its function: `loader.load_dataset` is looked up at each call, so a test can
# stand in for it.
from app.datasets import loader
from app.db.base import table_of
from app.db.session import get_engine
from app.feed.model import Change
from app.history.mirrors import HISTORY_OF
from app.history.model import Version
from app.history.writer import DEFERRED_READ_FORMS
from app.importers import BATCH_SIZE
from app.importers.ucdp_ged.convert import Dataset, Record
from app.importers.ucdp_ged.fields import name_key
from app.importers.ucdp_ged.parsing import CountingLines, ParsedBatch, ParserProcess, parse_batches
from app.kit.read import Holders
from app.sources import read as sources_read


@dataclass
class ImportSummary:
    """What an import did; `counts` merges the loader's reports of every committed batch."""

    rows_read: int = 0
    events_imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    batches: int = 0
    # Our ref -> the ref of a stored source/actor that already had the name (cited instead).
    adopted: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """False when any row was skipped (the CLI exits non-zero then)."""
        return not self.skipped

    def add_counts(self, report: Mapping[str, Mapping[str, int]]) -> None:
        """Merge one loader report ({"events": {"created": n, ...}, ...})."""
        for resource, counts in dict(report).items():
            merged = self.counts.setdefault(resource, {})
            for key, value in dict(counts).items():
                merged[key] = merged.get(key, 0) + int(value)


def _describe(error: DatasetError) -> str:
    return f"rejected by the loader: {error}"


def _adopt_existing(session: Session, dataset: Dataset, adopted: dict[str, str]) -> None:
    """Point at rows that already hold a source's or actor's name or alias under another ref.

    Names are unique, so a "TIME" source from the demo data or an actor an analyst entered by
    hand would otherwise make every row citing that name fail; an earlier GED release may also
    have given a shared name to another UCDP id. A spelling an analyst made an alias (`sources
    merge`) is cited as the source it belongs to, as is a source holding one of the alias
    table's spellings; a spelling another stored source holds is left out of our record's
    aliases (that source stays apart until merged). The stored row is cited as it is (never
    overwritten); rows without a ref cannot be referenced and stay a loader error.
    """
    lookups: dict[str, tuple[Holders, ...]] = {
        "sources": (sources_read.name_holders, sources_read.alias_holders),
        "actors": (actors_read.name_holders, actors_read.alias_holders),
    }
    taken: dict[str, set[str]] = {}  # our ref -> alias keys another stored row holds
    for kind, holders in lookups.items():
        keys_of = {
            record["ref"]: [name_key(name) for name in (record["name"], *record.get("aliases", ()))]
            for record in dataset[kind]
        }
        keys = sorted({key for record_keys in keys_of.values() for key in record_keys})
        held: dict[str, str | None] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for holder in holders:
                for stored_key, _, ref in holder(session, chunk):
                    held.setdefault(stored_key, ref)
        for mine, (name, *aliases) in keys_of.items():
            # the name decides when a stored row holds it; else the first alias a row with a ref
            # holds; aliases other rows hold are left out of our record
            ref = held[name] if name in held else next((held[a] for a in aliases if held.get(a)), None)
            if ref is not None and ref != mine:
                adopted[mine] = ref
            elif any(a in held for a in aliases):
                taken[mine] = {a for a in aliases if a in held and held[a] != mine}
    if taken:
        dataset["sources"] = [
            {**r, "aliases": [a for a in r["aliases"] if name_key(a) not in taken[r["ref"]]]}
            if r["ref"] in taken
            else r
            for r in dataset["sources"]
        ]
    if not adopted:
        return
    # Records are copied where they change, never edited: a rejected batch is retried row by
    # row from the same bundles.
    for kind in ("sources", "actors"):
        dataset[kind] = [r for r in dataset[kind] if r["ref"] not in adopted]
    dataset["documents"] = [
        {**document, "source": adopted[document["source"]]} if document["source"] in adopted else document
        for document in dataset["documents"]
    ]
    dataset["events"] = [
        {
            **event,
            "actors": [
                {**link, "actor": adopted.get(link["actor"], link["actor"])} for link in event["actors"]
            ],
        }
        if any(link["actor"] in adopted for link in event["actors"])
        else event
        for event in dataset["events"]
    ]


def import_ucdp_ged(
    path: str | PathLike[str],
    session_factory: Callable[[], AbstractContextManager[Session]],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    *,
    parse_in_worker: bool = True,
) -> ImportSummary:
    """Import a GED CSV, committing every `batch_size` events in a transaction of its own.

    A killed run leaves whole batches only and a rerun completes it (upsert by stable refs).
    A batch the loader rejects is retried row by row so that only the bad rows are skipped.
    `progress(bytes_read)` is called after each committed batch; the total is the file size.
    With `parse_in_worker` the file is parsed in a second process while this one writes;
    a failure there raises UcdpFormatError or UcdpImportError here.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = os.fspath(path)
    os.stat(path)  # a missing file fails here, as it always did, not in the parser process
    summary = ImportSummary()
    adopted = summary.adopted

    # Sources and actors this run has committed, as committed. Every batch carries the ones its
    # rows cite (about 500 per 1,000 rows, nearly all of them seen before); sending each only
    # once per run saves a fifth of the loading. Counts then report each one once per run.
    committed: dict[str, Record] = {}

    def load(dataset: Dataset) -> None:
        dataset = dict(dataset)  # adoption replaces whole lists and the records it changes
        for kind in ("sources", "actors"):
            dataset[kind] = [r for r in dataset[kind] if committed.get(r["ref"]) != r]
        with session_factory() as session:
            session.info[DEFERRED_READ_FORMS] = True  # rebuilt from the mirrors when asked for
            _adopt_existing(session, dataset, adopted)
            report = loader.load_dataset(session, dataset)
            session.commit()
        for kind in ("sources", "actors"):
            committed.update((record["ref"], record) for record in dataset[kind])
        summary.add_counts(report)

    def flush(batch: ParsedBatch) -> None:
        for result in batch.results:
            summary.rows_read += 1
            summary.warnings.extend((result.line, message) for message in result.warnings)
            if result.bundle is None:
                summary.skipped.append((result.line, result.skip_reason or "skipped"))
        if batch.dataset is not None:
            try:
                load(batch.dataset)
            except DatasetError:
                for result in batch.results:
                    if result.bundle is None:
                        continue
                    try:
                        load(result.bundle.as_dataset())
                    except DatasetError as error:
                        summary.skipped.append((result.line, _describe(error)))
            summary.batches += 1
        if progress is not None:
            progress(batch.bytes_read)

    if parse_in_worker:
        with rare_full_collections(), ParserProcess(path, batch_size) as parser:
            for batch in parser.batches():
                flush(batch)
        fallback_lines = parser.fallback_lines
    else:
        with rare_full_collections(), open(path, "rb") as raw:
            counter = CountingLines(raw)
            for batch in parse_batches(counter, batch_size):
                flush(batch)
        fallback_lines = counter.fallback_lines

    decoded = "line is not valid UTF-8; decoded as Windows-1252"
    summary.warnings.extend((number, decoded) for number in fallback_lines)
    summary.warnings.sort(key=lambda item: item[0])
    summary.skipped.sort(key=lambda item: item[0])
    summary.events_imported = sum(
        summary.counts.get("events", {}).get(k, 0) for k in ("created", "updated", "unchanged")
    )
    return summary


IMPORTED_TABLES = ("source", "document", "actor", "actor_alias", "event", "event_actor", "citation")
# What an import writes: its tables, their history mirrors, the versions and the change feed.
WRITTEN_TABLES = (
    *IMPORTED_TABLES,
    *(HISTORY_OF[name].name for name in IMPORTED_TABLES),
    table_of(Version).name,
    table_of(Change).name,
)


def refresh_statistics() -> None:
    """Let PostgreSQL's planner see the new rows now rather than whenever autovacuum gets to
    them: with stale statistics it hash-joins whole tables where an index lookup would do
    (measured: exports of a freshly imported 200,000 events ran at a third of the speed)."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return

    def analyze(tables: Sequence[str]) -> None:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"ANALYZE {', '.join(tables)}"
            )

    # The tables on one connection, their mirrors on another: each ANALYZE runs in a backend
    # of its own, so the two halves take one core each (at 100,000 rows, 0.95 -> 0.5 s).
    halves = (WRITTEN_TABLES[: len(IMPORTED_TABLES)], WRITTEN_TABLES[len(IMPORTED_TABLES) :])
    with ThreadPoolExecutor(len(halves)) as pool:
        for done in [pool.submit(analyze, half) for half in halves]:
            done.result()

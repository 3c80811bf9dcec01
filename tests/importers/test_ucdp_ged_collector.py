"""Both processes of an import run with full garbage collections made rare (a full collection
walks every object, and an import batch keeps hundreds of thousands alive: 74 of them were a
fifth of an import's time), and give the process its own thresholds back afterwards."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.garbage import RARE_FULL, rare_full_collections
from app.datasets import loader
from app.db import session as db_session
from app.importers.ucdp_ged import parsing
from app.importers.ucdp_ged.run import import_ucdp_ged
from tests.factories import UCDP_SAMPLE as SAMPLE


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_the_block_makes_full_collections_rare_and_restores_the_thresholds() -> None:
    with rare_full_collections():
        assert gc.get_threshold() == (700, 10, RARE_FULL)
    assert gc.get_threshold() == (700, 10, 10)
    with pytest.raises(RuntimeError), rare_full_collections():
        raise RuntimeError("a failed import")
    assert gc.get_threshold() == (700, 10, 10)


def test_the_writer_loads_its_batches_with_rare_full_collections(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []
    load = loader.load_dataset

    def recording(session: object, dataset: object) -> loader.LoadReport:
        seen.append(gc.get_threshold())
        return load(session, dataset)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_dataset", recording)
    summary = import_ucdp_ged(SAMPLE, db_session.session_factory(write=True), batch_size=400)

    assert summary.batches == 3 and seen == [(700, 10, RARE_FULL)] * 3
    assert gc.get_threshold() == (700, 10, 10)


def test_the_parser_process_parses_with_rare_full_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """`parse_to_stream` is what the parser process runs (`python -m app.importers.parse_worker`)."""
    seen: list[tuple[int, int, int]] = []
    batches = parsing.parse_batches

    def recording(counter: parsing.CountingLines, batch_size: int) -> Iterator[parsing.ParsedBatch]:
        for batch in batches(counter, batch_size):
            seen.append(gc.get_threshold())
            yield batch

    monkeypatch.setattr(parsing, "parse_batches", recording)
    parsing.parse_to_stream(str(Path(SAMPLE)), 400, io.BytesIO())

    assert seen == [(700, 10, RARE_FULL)] * 3
    assert gc.get_threshold() == (700, 10, 10)

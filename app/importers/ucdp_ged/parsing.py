"""Parsing a GED file: its CSV records into row results, those into batches, and the parser
process that does both while the importer loads (`run.import_ucdp_ged`).

Nothing here touches the database, so the parser process never imports the database layer.
The classes a batch is made of are pickled between the two processes: both sides import them
from these modules (see `app/importers/parse_worker.py`).
"""

from __future__ import annotations

import codecs
import csv
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from app.core.garbage import rare_full_collections
from app.importers.ucdp_ged.convert import Dataset, Record, RowConverter, RowResult
from app.importers.ucdp_ged.tables import REQUIRED_COLUMNS


class UcdpFormatError(ValueError):
    """The file as a whole is not a UCDP GED CSV (e.g. required columns are missing)."""


def parse_rows(lines: Iterable[str] | TextIO) -> Iterator[RowResult]:
    """Stream a GED CSV (open text files with `newline=""`), one result per data record.

    Memory stays flat: rows are converted one at a time; only the actor and source registries
    (one entry per distinct name) and a bitmap of seen ids grow. Raises UcdpFormatError when
    the header lacks the required columns.
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns.setdefault(name.strip().lstrip("\ufeff").strip().casefold(), index)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        names = ", ".join(missing)
        raise UcdpFormatError(f"line {reader.line_num}: not a UCDP GED header; missing: {names}")
    width = len(header)
    converter = RowConverter()
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last_line = reader.line_num
            yield RowResult(start, None, f"unreadable CSV record: {exc}")
            continue
        last_line = reader.line_num
        if not any(value.strip() for value in row):
            continue  # a blank line is not a record
        if len(row) < width or any(value.strip() for value in row[width:]):
            yield RowResult(
                start,
                None,
                f"expected {width} fields, found {len(row)} (broken quoting or a cut line)",
            )
            continue

        def get(column: str, row: list[str] = row) -> str:
            index = columns.get(column)
            return row[index] if index is not None else ""

        yield converter.convert(start, get)


class CountingLines:
    """Decodes a binary file line by line, counting bytes for the progress bar (text files
    cannot `tell()` while iterated) and falling back to Windows-1252 for non-UTF-8 lines."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.bytes_read = 0
        self.fallback_lines: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, data in enumerate(self.raw, start=1):
            self.bytes_read += len(data)
            if number == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                self.fallback_lines.append(number)
                yield data.decode("cp1252", errors="replace")


def _merge(bundles: list[RowResult]) -> Dataset:
    """One dataset for a batch; shared sources, actors and documents appear once (by ref)."""
    merged: dict[str, dict[str, Record]] = {k: {} for k in ("sources", "documents", "actors")}
    events: list[Record] = []
    for result in bundles:
        assert result.bundle is not None
        for kind, records in (
            ("sources", result.bundle.sources),
            ("documents", result.bundle.documents),
            ("actors", result.bundle.actors),
        ):
            for record in records:
                merged[kind].setdefault(record["ref"], record)
        events.append(result.bundle.event)
    return {**{k: list(v.values()) for k, v in merged.items()}, "events": events}


@dataclass
class ParsedBatch:
    """Up to `batch_size` converted rows, ready to load: the parser process sends these."""

    results: list[RowResult]  # every record of the batch in file order, skipped ones too
    dataset: Dataset | None  # the bundles merged; None when every record was skipped
    bytes_read: int  # how far into the file the batch ends (for the progress bar)


def parse_batches(counter: CountingLines, batch_size: int) -> Iterator[ParsedBatch]:
    """Group parse results into batches of `batch_size` importable rows (skips ride along)."""
    results: list[RowResult] = []
    bundles: list[RowResult] = []
    for result in parse_rows(counter):
        results.append(result)
        if result.bundle is not None:
            bundles.append(result)
            if len(bundles) >= batch_size:
                yield ParsedBatch(results, _merge(bundles), counter.bytes_read)
                results, bundles = [], []
    yield ParsedBatch(results, _merge(bundles) if bundles else None, counter.bytes_read)


class UcdpImportError(RuntimeError):
    """The import could not run to its end for a reason other than the file's format (the
    parser process failed or vanished); the batches committed before it stay."""


def parse_to_stream(path: str, batch_size: int, out: BinaryIO) -> None:
    """The parser process's work: the file as pickled messages on `out`.

    Messages are `("batch", ParsedBatch)` …, then `("done", fallback_lines)`; or
    `("format", message)` / `("error", message)` when parsing fails. Writing blocks while the
    pipe is full, so the parser runs at most a batch or two ahead of the writer (flat memory);
    if the writer dies, the next write fails with a broken pipe and the parser exits too.
    """

    def send(message: tuple[str, object]) -> None:
        # Pickled whole before the first byte is written: `pickle.dump` into the pipe would
        # block on the full pipe part way, leaving the rest of its pickling for the writer to
        # wait out when it comes to read the batch (about 40 ms of each 5,000-row batch).
        out.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        out.flush()

    try:
        with rare_full_collections(), open(path, "rb") as raw:
            counter = CountingLines(raw)
            for batch in parse_batches(counter, batch_size):
                send(("batch", batch))
        send(("done", counter.fallback_lines))
    except UcdpFormatError as exc:
        send(("format", str(exc)))
    except BrokenPipeError:
        raise
    except Exception as exc:  # reported to the writer, which stops with a one-line error
        send(("error", f"{type(exc).__name__}: {exc}"))


class ParserProcess:
    """Parses in a second process while this one writes: conversion (CSV, mapping, repairs)
    costs about as much CPU as loading, and the two overlap on separate cores.

    A plain subprocess (`python -m app.importers.parse_worker`) with pickles on its stdout,
    rather than multiprocessing: it needs no `__main__` guard in the caller's script, inherits
    no threads or database connections, and a dead peer shows as end-of-file or a broken pipe
    on either side instead of a hang.
    """

    def __init__(self, path: str, batch_size: int) -> None:
        self.path = path
        self.batch_size = batch_size
        self.fallback_lines: list[int] = []
        # The parser's stderr, kept for the error message should it die; closed in __exit__.
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115
        package_root = str(Path(__file__).resolve().parents[3])  # the folder that holds `app`
        python_path = os.environ.get("PYTHONPATH")
        self.env = {
            **os.environ,
            "PYTHONPATH": package_root + (os.pathsep + python_path if python_path else ""),
        }

    def __enter__(self) -> ParserProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.importers.parse_worker", self.path, str(self.batch_size)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=self.env,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()  # the writer stopped early (an error, a signal): so does the parser
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.process.wait()
        self.errors.close()

    def _failure(self) -> str:
        code = self.process.wait()
        self.errors.seek(0)
        lines = [line.strip() for line in self.errors.read().decode("utf-8", "replace").splitlines()]
        last = next((line for line in reversed(lines) if line), "")
        return f"the CSV parser process stopped unexpectedly (exit code {code})" + (
            f": {last}" if last else ""
        )

    def batches(self) -> Iterator[ParsedBatch]:
        stream = self.process.stdout
        assert stream is not None
        while True:
            try:
                kind, payload = pickle.load(stream)
            except (EOFError, pickle.UnpicklingError):
                raise UcdpImportError(self._failure()) from None
            if kind == "batch":
                yield payload
            elif kind == "done":
                self.fallback_lines = list(payload)
                return
            elif kind == "format":
                raise UcdpFormatError(payload)
            else:
                raise UcdpImportError(f"the CSV parser failed: {payload}")

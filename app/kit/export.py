"""Streaming exports: every matching row, in list order, in constant memory.

Rows are read in keyset chunks inside one read transaction (a consistent snapshot on both
databases), turned into their read forms a chunk at a time by the same loader the list uses, and
each chunk is encoded into one piece of output (tens of kilobytes), never a write per row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar, get_args

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.db.session import session_factory
from app.history.asof import as_of_of, use_as_of
from app.kit.deps import SessionDep
from app.kit.pagination import (
    SORT_VALUE,
    SortKey,
    driver_position_of,
    driver_rows_after,
    position_of,
    rows_after,
)
from app.kit.read import Lookups, ReadForm, Row, encode, encode_line
from app.kit.responses import cache_headers, etag_matches, is_head, version_etag
from app.kit.schemas import rfc3339
from app.kit.stored import Encodings, StoredForms, stored_values

CHUNK = 2000


class ExportFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    geojson = "geojson"


T = TypeVar("T")

MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8; header=present",
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.geojson: "application/geo+json",
}


def _keyset_chunks(session: Session, stmt: sa.Select[Any], key: SortKey) -> Iterator[list[Row]]:
    """Walk the statement in keyset chunks of dicts; only one chunk is ever held in memory."""
    return _walk_chunks(session, stmt, key, rows_after, position_of)


def _driver_chunks(session: Session, stmt: sa.Select[Any], key: SortKey) -> Iterator[list[tuple[Any, ...]]]:
    """The same walk, each chunk as the driver's tuples (`driver_rows_after`)."""
    return _walk_chunks(session, stmt, key, driver_rows_after, driver_position_of(session, key))


def _walk_chunks(
    session: Session,
    stmt: sa.Select[Any],
    key: SortKey,
    rows_of: Callable[[Session, sa.Select[Any], SortKey, tuple[object, int] | None, int], list[T]],
    position: Callable[[T], tuple[object, int]],
) -> Iterator[list[T]]:
    """On PostgreSQL a session that has not begun yet is opened `REPEATABLE READ`, so every chunk
    sees one snapshot; a session already in a transaction keeps its own (the level of a
    transaction cannot change once it has begun)."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    after: tuple[object, int] | None = None
    while True:
        rows = rows_of(session, stmt, key, after, CHUNK)
        if not rows:
            return
        after = position(rows[-1])
        yield rows
        if len(rows) < CHUNK:
            return


def iter_chunks(session: Session, form: ReadForm, stmt: sa.Select[Any], key: SortKey) -> Iterator[list[Row]]:
    """The read forms of the statement's rows, a keyset chunk at a time."""
    lookups = Lookups()
    for rows in _keyset_chunks(session, stmt, key):
        yield form.finish(session, rows, strip=(SORT_VALUE,), lookups=lookups)


Flatten = Callable[[Any], object]  # a read form's value (JSON-ish: embedded rows) as one cell


def joined(render: Callable[[Row], str]) -> Flatten:
    return lambda items: "; ".join([render(item) for item in items])


@dataclass(frozen=True)
class CsvLayout:
    """CSV columns derived from the read form's fields: scalar fields as they are (free text and
    timestamps moved to the end, where spreadsheets keep them out of the way), and each nested
    field flattened into the readable cells named in `flattened`."""

    form: ReadForm
    flattened: dict[str, tuple[tuple[str, Flatten], ...]]
    last: tuple[str, ...] = ("description", "text", "created_at", "updated_at")
    columns: list[str] = field(init=False)
    _cells: list[tuple[str, Flatten | None]] = field(init=False)

    def __post_init__(self) -> None:
        cells: list[tuple[str, Flatten | None]] = []
        tail: list[tuple[str, Flatten | None]] = []
        for name in self.form.out.model_fields:
            target = tail if name in self.last else cells
            if name in self.flattened:
                target.extend((column, _from(name, render)) for column, render in self.flattened[name])
            else:
                target.append((name, _scalar(name, self.form.out.model_fields[name].annotation)))
        tail.sort(key=lambda cell: self.last.index(cell[0]))
        object.__setattr__(self, "_cells", cells + tail)
        object.__setattr__(self, "columns", [name for name, _ in cells + tail])

    def row(self, record: Row) -> list[object]:
        return [record[name] if render is None else render(record) for name, render in self._cells]


def _from(name: str, render: Flatten) -> Flatten:
    return lambda record: render(record[name])


def _scalar(name: str, annotation: object) -> Flatten | None:
    """How a scalar field's value becomes a cell: None where the CSV writer's own rendering is
    the JSON's (text, numbers, dates; None is empty), which most cells are."""
    kinds = {annotation, *get_args(annotation)}
    if datetime in kinds or bool in kinds or Any in kinds:
        return lambda record: _cell(record[name])
    return None


def _cell(value: object) -> object:
    """Cells as the JSON shows them: `true`/`false`, RFC 3339 timestamps; None is empty."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime):
        return rfc3339(value)
    return value


def csv_stream(chunks: Iterator[list[Row]], layout: CsvLayout) -> Iterator[bytes]:
    """RFC 4180: CRLF line ends, quotes doubled, a header row first; one piece per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(layout.columns)
    for rows in chunks:
        writer.writerows(layout.row(record) for record in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows at all: the header alone
        yield buffer.getvalue().encode()


def ndjson_stream(chunks: Iterator[list[Row]]) -> Iterator[bytes]:
    for rows in chunks:
        piece = bytearray()
        for record in rows:
            # Appended one at a time: holding a chunk's worth of encoded rows to join them
            # costs more allocator time than the encoding itself.
            piece += encode_line(record)
        yield bytes(piece)


def _feature(event: Row) -> dict[str, object]:
    properties = dict(event)
    longitude = properties.pop("longitude")
    latitude = properties.pop("latitude")
    return {
        "type": "Feature",
        "id": event["id"],
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": properties,
    }


def feature_collection(chunks: Iterator[list[bytes]]) -> Iterator[bytes]:
    """RFC 7946 FeatureCollection of encoded features, one piece per chunk."""
    yield b'{"type":"FeatureCollection","features":['
    separator = b""
    for features in chunks:
        if features:
            yield separator + b",".join(features)
            separator = b","
    yield b"]}"


def _located(event: Row) -> bool:
    return event["longitude"] is not None and event["latitude"] is not None


def geojson_stream(chunks: Iterator[list[Row]]) -> Iterator[bytes]:
    """Point geometries, longitude first; events without coordinates are left out."""
    return feature_collection(
        [encode(_feature(event)) for event in rows if _located(event)] for rows in chunks
    )


def export_stream(
    session: Session,
    layout: CsvLayout,
    format: ExportFormat,
    stmt: sa.Select[Any],
    key: SortKey,
    stored: StoredForms | None = None,
) -> Iterator[bytes]:
    """The whole export as pieces of output: the rows of `stmt` in `key` order, in `format`;
    from the stored forms where the resource keeps them (never as of a past instant: they are
    of the current state)."""
    if stored is not None and as_of_of(session) is None:
        return stored_stream(session, stored, format, stmt, key)
    chunks = iter_chunks(session, layout.form, stmt, key)
    if format is ExportFormat.ndjson:
        return ndjson_stream(chunks)
    if format is ExportFormat.geojson:
        return geojson_stream(chunks)
    return csv_stream(chunks, layout)


STORED_COLUMNS = {
    ExportFormat.csv: "as_csv",
    ExportFormat.ndjson: "as_json",
    ExportFormat.geojson: "as_geojson",
}


def stored_encodings(layout: CsvLayout) -> Encodings:
    """How each format writes a row, for `StoredForms`: the JSON (an NDJSON line without its
    newline), the CSV line, and, for a form with coordinates, the GeoJSON feature (empty for a
    row without them)."""
    geo = "latitude" in layout.form.out.model_fields

    def encodings(rows: list[Row]) -> list[dict[str, bytes]]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        encoded = []
        for row in rows:
            writer.writerow(layout.row(row))
            forms = {"as_json": encode(row), "as_csv": buffer.getvalue().encode()}
            if geo:
                forms["as_geojson"] = encode(_feature(row)) if _located(row) else b""
            encoded.append(forms)
            buffer.seek(0)
            buffer.truncate()
        return encoded

    return encodings


def stored_stream(
    session: Session, stored: StoredForms, format: ExportFormat, stmt: sa.Select[Any], key: SortKey
) -> Iterator[bytes]:
    """The export of `export_stream` from stored forms: each chunk selects the rows' ids with
    the stored form of the format, and writes the bytes as they are."""
    table = stored.layout.form.table
    column = STORED_COLUMNS[format]
    current = sa.and_(stored.id_column == table.c.id, stored.table.c.form == stored.form)
    slim = stmt.with_only_columns(table.c.id, stored.table.c[column]).select_from(
        table.outerjoin(stored.table, current)
    )
    chunks = (stored_values(session, stored, rows, column) for rows in _driver_chunks(session, slim, key))
    if format is ExportFormat.csv:
        header = io.StringIO()
        csv.writer(header, lineterminator="\r\n").writerow(stored.layout.columns)
        yield header.getvalue().encode()
        for lines in chunks:
            yield b"".join(lines)
    elif format is ExportFormat.ndjson:
        for documents in chunks:
            yield b"".join([document + b"\n" for document in documents])
    else:  # an empty feature is a row without coordinates
        yield from feature_collection([feature for feature in features if feature] for features in chunks)


def export_response(
    request: Request,
    session: SessionDep,
    layout: CsvLayout,
    format: ExportFormat,
    stmt: sa.Select[Any],
    key: SortKey,
    stored: StoredForms | None = None,
) -> Response:
    """The ETag is the data version (the change feed's last seq) and the query: no need to
    produce the file to know whether the client already has it, and HEAD produces none."""
    filename = f"{layout.form.name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.{format}"
    headers = {
        "ETag": version_etag(session, request),
        "Content-Disposition": f'attachment; filename="{filename}"',
        **cache_headers(),
    }
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if is_head(request):  # the headers of the stream, so compression announces the same
        return StreamingResponse(iter(()), media_type=MEDIA_TYPES[format], headers=headers)

    def pieces() -> Iterator[bytes]:
        # A session of its own (on the database the request's read went to, as of the request's
        # instant): the request's is closed before the stream is sent.
        with session_factory(session.get_bind().engine)() as export_session:
            use_as_of(export_session, as_of_of(session))
            yield from export_stream(export_session, layout, format, stmt, key, stored)

    return StreamingResponse(pieces(), media_type=MEDIA_TYPES[format], headers=headers)

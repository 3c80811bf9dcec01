"""Streaming exports: every matching row, in list order, in constant memory.

Rows are read in keyset-paginated chunks inside one read transaction (a consistent snapshot on
both databases), turned into their read forms chunk by chunk, and written out as they go.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.queries.pagination import SortKey

CHUNK = 1000


class ExportFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    geojson = "geojson"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8; header=present",
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.geojson: "application/geo+json",
}


def iter_rows(
    session: Session,
    stmt: Any,
    key: SortKey,
    view: Callable[[Session, Sequence[Any]], list[BaseModel]],
    value_of: Callable[[Any], Any],
) -> Iterator[BaseModel]:
    """Walk the statement in keyset chunks; only one chunk is ever held in memory."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    after: tuple[Any, int] | None = None
    while True:
        chunk_stmt = stmt if after is None else stmt.where(key.after(*after))
        rows = session.scalars(chunk_stmt.order_by(*key.order_by()).limit(CHUNK)).all()
        if not rows:
            return
        yield from view(session, rows)
        last = rows[-1]
        after = (value_of(last), last.id)
        session.expunge_all()
        if len(rows) < CHUNK:
            return


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def event_csv_row(event: dict[str, Any]) -> dict[str, Any]:
    """Nested actors and citations flattened into readable cells."""
    row = {k: v for k, v in event.items() if k not in ("actors", "citations")}
    row["actors"] = "; ".join(f"{a['name']} ({a['role']})" for a in event["actors"])
    row["actor_ids"] = "; ".join(str(a["actor_id"]) for a in event["actors"])
    row["citations"] = "; ".join(
        f"{c['source_name']} [{c['reliability']}{c['credibility']}]" + (f" {c['url']}" if c["url"] else "")
        for c in event["citations"]
    )
    row["document_ids"] = "; ".join(str(c["document_id"]) for c in event["citations"])
    return row


def statement_csv_row(statement: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in statement.items() if k not in ("speaker", "mentions")}
    row["speaker"] = statement["speaker"]["name"]
    row["mentions"] = "; ".join(m["name"] for m in statement["mentions"])
    row["mention_ids"] = "; ".join(str(m["id"]) for m in statement["mentions"])
    return row


EVENT_COLUMNS = [
    "id", "ref", "title", "type", "start_date", "end_date", "date_precision", "country", "admin1",
    "location", "latitude", "longitude", "geo_precision", "fatalities_low", "fatalities_best",
    "fatalities_high", "source_count", "best_reliability", "actors", "actor_ids", "citations",
    "document_ids", "description", "created_at", "updated_at",
]  # fmt: skip
STATEMENT_COLUMNS = [
    "id", "ref", "stated_on", "kind", "speaker_id", "speaker", "event_id", "document_id",
    "reliability", "credibility", "is_quote", "measure", "value_low", "value_best", "value_high",
    "unit", "mentions", "mention_ids", "text", "created_at", "updated_at",
]  # fmt: skip


def csv_stream(
    items: Iterator[BaseModel], columns: list[str], flatten: Callable[[dict[str, Any]], dict[str, Any]]
) -> Iterator[bytes]:
    """RFC 4180: CRLF line ends, quotes doubled, a header row first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for count, item in enumerate(items, 1):
        writer.writerow({k: _cell(v) for k, v in flatten(item.model_dump(mode="json")).items()})
        if count % 200 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def ndjson_stream(items: Iterator[BaseModel]) -> Iterator[bytes]:
    for item in items:
        yield item.model_dump_json().encode() + b"\n"


def geojson_stream(items: Iterator[BaseModel]) -> Iterator[bytes]:
    """RFC 7946 FeatureCollection: Point geometries, longitude first; events without
    coordinates are left out."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for item in items:
        event = item.model_dump(mode="json")
        if event["longitude"] is None or event["latitude"] is None:
            continue
        properties = {k: v for k, v in event.items() if k not in ("latitude", "longitude")}
        feature = {
            "type": "Feature",
            "id": event["id"],
            "geometry": {"type": "Point", "coordinates": [event["longitude"], event["latitude"]]},
            "properties": properties,
        }
        yield (b"" if first else b",") + json.dumps(feature, ensure_ascii=False).encode()
        first = False
    yield b"]}"

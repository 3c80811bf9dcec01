"""The dataset loader: a dataset file upserted by `ref`, in the caller's transaction.

Used by `conflict-events load`, `conflict-events demo`, `POST /v1/load` and the importers. It never
commits: the caller's transaction makes a file load whole or not at all. Any invalid record
raises `DatasetError` naming the resource, the record's ref and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.core.errors import DatasetError
from app.db.base import any_of
from app.models import Actor, Document, Event, Source, Statement
from app.schemas.common import error_loc
from app.schemas.resources import (
    ActorCreate,
    DocumentCreate,
    EventCreate,
    SourceCreate,
    StatementCreate,
)
from app.services.records import (
    CREATED,
    UNCHANGED,
    UPDATED,
    Item,
    RecordError,
    save_actors,
    save_documents,
    save_events,
    save_sources,
    save_statements,
)

RESOURCES = ("sources", "documents", "actors", "events", "statements")
READ_ONLY_KEYS = {"id", "created_at", "updated_at"}
# A record's references are by ref in the file, by id in the rules: name the file's field.
FILE_FIELDS = {
    "source_id": "source",
    "parent_id": "parent",
    "speaker_id": "speaker",
    "event_id": "event",
    "document_id": "document",
}
CHUNK = 2000

LoadReport = dict[str, dict[str, int]]
ModelT = TypeVar("ModelT", bound=BaseModel)


def empty_report() -> LoadReport:
    return {name: {CREATED: 0, UPDATED: 0, UNCHANGED: 0} for name in RESOURCES}


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ref_ids(session: Session, model: Any, refs: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(refs)
    for chunk in _chunks(ordered):
        found.update(
            session.execute(sa.select(model.ref, model.id).where(any_of(model.ref, chunk))).tuples().all()
        )
    return found


def rows_by_ref(session: Session, model: Any, refs: Sequence[str]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for chunk in _chunks(list(refs)):
        # Plain rows, not ORM instances: the rules only read them, and loading thousands of
        # model instances per batch costs more than the rest of the import.
        table = model.__table__
        rows.update(
            (row.ref, row) for row in session.execute(sa.select(table).where(any_of(table.c.ref, chunk)))
        )
    return rows


class _RefIds:
    """Ref to id per resource within one load: rows this load has just saved are known without a
    query (an import batch's events cite the documents saved a moment before)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[Any, dict[str, int]] = {}

    def add(self, model: Any, saved: dict[str, int]) -> None:
        self.known.setdefault(model, {}).update(saved)

    def get(self, model: Any, refs: set[str]) -> dict[str, int]:
        known = self.known.setdefault(model, {})
        found = {ref: known[ref] for ref in refs if ref in known}
        missing = refs - found.keys()
        if missing:
            queried = ref_ids(self.session, model, missing)
            known.update(queried)
            found.update(queried)
        return found


class _Records:
    """One resource's records from the file, checked for shape and duplicate refs."""

    def __init__(self, resource: str, raw: Any) -> None:
        self.resource = resource
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise DatasetError(resource, None, None, "must be an array of records")
        self.records: list[dict[str, Any]] = []
        seen: set[str] = set()
        for position, record in enumerate(raw):
            if not isinstance(record, dict):
                raise DatasetError(resource, None, None, f"record #{position} is not an object")
            ref = record.get("ref")
            if not isinstance(ref, str) or not ref.strip():
                raise DatasetError(resource, None, "ref", f"record #{position} needs a non-empty string ref")
            if ref in seen:
                raise DatasetError(resource, ref, "ref", "ref appears twice in this file")
            seen.add(ref)
            self.records.append({k: v for k, v in record.items() if k not in READ_ONLY_KEYS})

    def fail(self, record: dict[str, Any], field: str | None, message: str) -> DatasetError:
        return DatasetError(self.resource, record.get("ref"), field, message)


def _validate(records: _Records, record: dict[str, Any], model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate(record)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _file_field(".".join(error_loc(error))) or None
        raise records.fail(record, field, error["msg"]) from None


def _file_field(field: str) -> str:
    """`parent_id` → `parent`, `actors.0.actor_id` → `actors.0.actor`: the file's own names."""
    head, dot, rest = field.rpartition(".")
    name = FILE_FIELDS.get(rest, rest.removesuffix("_id") if head else rest)
    return f"{head}{dot}{name}"


def _reference(
    records: _Records, record: dict[str, Any], key: str, known: dict[str, int], what: str
) -> int | None:
    ref = record.pop(key, None)
    if ref is None:
        return None
    if not isinstance(ref, str):
        raise records.fail(record, key, f"must be the ref of a {what} (a string)")
    if ref not in known:
        raise records.fail(record, key, f"no {what} has ref {ref!r}")
    return known[ref]


def _save(
    session: Session,
    records: _Records,
    prepared: Sequence[tuple[dict[str, Any], Any]],
    model: Any,
    save: Callable[[Session, Sequence[Any]], None],
    report: LoadReport,
) -> dict[str, int]:
    """Write the records; returns the id of each by ref (so later lookups need no query)."""
    saved: dict[str, int] = {}
    for chunk in _chunks(prepared):
        stored = rows_by_ref(session, model, [data.ref for _, data in chunk])
        items: list[Item[Any, Any]] = [Item(stored.get(data.ref), data) for _, data in chunk]
        try:
            save(session, items)
        except RecordError as exc:
            raise records.fail(chunk[exc.index][0], _file_field(exc.field), exc.message) from None
        for item in items:
            report[records.resource][item.outcome] += 1
            if item.data.ref is not None and item.id is not None:
                saved[item.data.ref] = item.id
    return saved


def _refs_wanted(records: list[dict[str, Any]], *keys: str) -> set[str]:
    wanted: set[str] = set()
    for record in records:
        for key in keys:
            value = record.get(key)
            if isinstance(value, str):
                wanted.add(value)
    return wanted


def load_dataset(session: Session, dataset: Any) -> LoadReport:
    """Upsert every record of a dataset file; raises DatasetError on the first invalid one."""
    if not isinstance(dataset, dict):
        raise DatasetError("dataset", None, None, "a dataset file is one JSON object")
    unknown = set(dataset) - set(RESOURCES)
    if unknown:
        raise DatasetError(
            "dataset",
            None,
            sorted(unknown)[0],
            f"unknown key; expected some of {', '.join(RESOURCES)}",
        )
    report = empty_report()
    ids = _RefIds(session)
    _load_sources(session, _Records("sources", dataset.get("sources")), report, ids)
    _load_documents(session, _Records("documents", dataset.get("documents")), report, ids)
    _load_actors(session, _Records("actors", dataset.get("actors")), report, ids)
    _load_events(session, _Records("events", dataset.get("events")), report, ids)
    _load_statements(session, _Records("statements", dataset.get("statements")), report, ids)
    return report


def _load_sources(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    prepared = [(r, _validate(records, r, SourceCreate)) for r in records.records]
    ids.add(Source, _save(session, records, prepared, Source, save_sources, report))


def _load_documents(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    sources = ids.get(Source, _refs_wanted(records.records, "source"))
    prepared = []
    for record in records.records:
        data = dict(record)
        if "source" not in data:
            raise records.fail(record, "source", "a document needs the ref of its source")
        data["source_id"] = _reference(records, data, "source", sources, "source")
        prepared.append((record, _validate(records, data, DocumentCreate)))
    ids.add(Document, _save(session, records, prepared, Document, save_documents, report))


def _load_actors(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    """Parents first: an actor may name a parent defined later in the same file."""
    in_file = {r["ref"]: r for r in records.records}
    depth: dict[str, int] = {}

    def level(ref: str, trail: tuple[str, ...] = ()) -> int:
        if ref in depth:
            return depth[ref]
        if ref in trail:
            raise records.fail(in_file[ref], "parent", "the parent chain loops back to itself")
        parent = in_file[ref].get("parent")
        depth[ref] = level(str(parent), (*trail, ref)) + 1 if parent in in_file else 0
        return depth[ref]

    for ref in in_file:
        level(ref)
    known = ids.get(Actor, _refs_wanted(records.records, "parent") - set(in_file))
    for current in range(max(depth.values(), default=-1) + 1):
        prepared = []
        for record in records.records:
            if depth[record["ref"]] != current:
                continue
            data = dict(record)
            data["parent_id"] = _reference(records, data, "parent", known, "actor")
            prepared.append((record, _validate(records, data, ActorCreate)))
        saved = _save(session, records, prepared, Actor, save_actors, report)
        ids.add(Actor, saved)
        known.update(saved)


def _load_events(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    actor_refs: set[str] = set()
    document_refs: set[str] = set()
    for record in records.records:
        for key, into, inner in (
            ("actors", actor_refs, "actor"),
            ("citations", document_refs, "document"),
        ):
            for link in record.get(key) or []:
                if isinstance(link, dict) and isinstance(link.get(inner), str):
                    into.add(link[inner])
    actors = ids.get(Actor, actor_refs)
    documents = ids.get(Document, document_refs)
    prepared = []
    for record in records.records:
        data = dict(record)
        for key, inner, known, what in (
            ("actors", "actor", actors, "actor"),
            ("citations", "document", documents, "document"),
        ):
            links = data.get(key)
            if links is None:
                continue
            if not isinstance(links, list):
                raise records.fail(record, key, "must be an array")
            converted = []
            for position, link in enumerate(links):
                if not isinstance(link, dict):
                    raise records.fail(record, f"{key}.{position}", "must be an object")
                link = dict(link)
                if inner not in link:
                    raise records.fail(record, f"{key}.{position}.{inner}", f"needs the ref of a {what}")
                try:
                    link[f"{inner}_id"] = _reference(records, link, inner, known, what)
                except DatasetError as exc:
                    raise records.fail(record, f"{key}.{position}.{inner}", exc.message) from None
                converted.append(link)
            data[key] = converted
        prepared.append((record, _validate(records, data, EventCreate)))
    ids.add(Event, _save(session, records, prepared, Event, save_events, report))


def _load_statements(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    actor_refs = _refs_wanted(records.records, "speaker")
    for record in records.records:
        mentions = record.get("mentions") or []
        if isinstance(mentions, list):
            actor_refs |= {m for m in mentions if isinstance(m, str)}
    actors = ids.get(Actor, actor_refs)
    events = ids.get(Event, _refs_wanted(records.records, "event"))
    documents = ids.get(Document, _refs_wanted(records.records, "document"))
    prepared = []
    for record in records.records:
        data = dict(record)
        if "speaker" not in data:
            raise records.fail(record, "speaker", "a statement needs the ref of its speaker")
        data["speaker_id"] = _reference(records, data, "speaker", actors, "actor")
        data["event_id"] = _reference(records, data, "event", events, "event")
        data["document_id"] = _reference(records, data, "document", documents, "document")
        mentions = data.pop("mentions", None) or []
        if not isinstance(mentions, list):
            raise records.fail(record, "mentions", "must be an array of actor refs")
        mentioned = []
        for position, ref in enumerate(mentions):
            if not isinstance(ref, str) or ref not in actors:
                raise records.fail(record, f"mentions.{position}", f"no actor has ref {ref!r}")
            mentioned.append(actors[ref])
        data["mentions"] = mentioned
        prepared.append((record, _validate(records, data, StatementCreate)))
    ids.add(Statement, _save(session, records, prepared, Statement, save_statements, report))

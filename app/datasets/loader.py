"""The dataset loader: a dataset file upserted by `ref`, in the caller's transaction.

Used by `conflict-events load`, `conflict-events demo`, `POST /v1/load` and the importers. It never
commits: the caller's transaction makes a file load whole or not at all. Any invalid record
raises `DatasetError` naming the resource, the record's ref and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from app.actors.model import Actor
from app.actors.rules import save_actors
from app.actors.schemas import ActorCreate
from app.core.errors import DatasetError, error_loc
from app.db.base import any_of, table_of
from app.events.model import Event
from app.events.rules import save_events
from app.events.schemas import EventCreate
from app.history import writer as _history  # noqa: F401 - every write keeps its history
from app.kit.rules import CREATED, UNCHANGED, UPDATED, Item, Keyed, RecordError
from app.kit.schemas import TEXT_CHECKED, unstorable
from app.sources.model import Document, Source
from app.sources.rules import save_documents, save_sources
from app.sources.schemas import DocumentCreate, SourceCreate
from app.statements.model import Statement
from app.statements.rules import save_statements
from app.statements.schemas import StatementCreate

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
TEXT_CHECKED_CONTEXT = {TEXT_CHECKED: True}

LoadReport = dict[str, dict[str, int]]
# A record as the file gives it: parsed JSON, checked field by field below (the boundary).
FileRecord = dict[str, Any]
StoredRow = sa.Row[*tuple[Any, ...]]  # a stored row of a resource, all its columns
T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)
CreateT = TypeVar("CreateT", bound=Keyed)


def empty_report() -> LoadReport:
    return {name: {CREATED: 0, UPDATED: 0, UNCHANGED: 0} for name in RESOURCES}


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ref_ids(session: Session, model: type[SQLModel], refs: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(refs)
    columns = table_of(model).c
    for chunk in _chunks(ordered):
        found.update(
            session.execute(sa.select(columns.ref, columns.id).where(any_of(columns.ref, chunk)))
            .tuples()
            .all()
        )
    return found


def rows_by_ref(session: Session, model: type[SQLModel], refs: Sequence[str]) -> dict[str, StoredRow]:
    rows: dict[str, StoredRow] = {}
    for chunk in _chunks(list(refs)):
        # Plain rows, not ORM instances: the rules only read them, and loading thousands of
        # model instances per batch costs more than the rest of the import.
        table = table_of(model)
        rows.update(
            (row.ref, row) for row in session.execute(sa.select(table).where(any_of(table.c.ref, chunk)))
        )
    return rows


class _RefIds:
    """Ref to id per resource within one load: rows this load has just saved are known without a
    query (an import batch's events cite the documents saved a moment before)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[type[SQLModel], dict[str, int]] = {}

    def add(self, model: type[SQLModel], saved: dict[str, int]) -> None:
        self.known.setdefault(model, {}).update(saved)

    def get(self, model: type[SQLModel], refs: set[str]) -> dict[str, int]:
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

    def __init__(self, resource: str, raw: object) -> None:
        self.resource = resource
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise DatasetError(resource, None, None, "must be an array of records")
        self.records: list[FileRecord] = []
        seen: set[str] = set()
        for position, record in enumerate(raw):
            if not isinstance(record, dict):
                raise DatasetError(resource, None, None, f"record #{position} is not an object")
            ref = record.get("ref")
            if not isinstance(ref, str) or not ref.strip():
                raise DatasetError(resource, None, "ref", f"record #{position} needs a non-empty string ref")
            if ref in seen:
                raise DatasetError(resource, ref, "ref", "ref appears twice in this file")
            found = unstorable(record)
            if found:  # before any of it reaches a query (refs are looked up by value)
                raise DatasetError(resource, ref if unstorable(ref) is None else None, *found)
            seen.add(ref)
            self.records.append({k: v for k, v in record.items() if k not in READ_ONLY_KEYS})

    def fail(self, record: FileRecord, field: str | None, message: str) -> DatasetError:
        return DatasetError(self.resource, record.get("ref"), field, message)


def _validate(records: _Records, record: FileRecord, model: type[ModelT]) -> ModelT:
    try:
        # every string of the record was checked when the file was read (`_Records`)
        return model.model_validate(record, context=TEXT_CHECKED_CONTEXT)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _file_field(".".join(map(str, error_loc(error)))) or None
        raise records.fail(record, field, error["msg"]) from None


def _file_field(field: str) -> str:
    """`parent_id` → `parent`, `actors.0.actor_id` → `actors.0.actor`: the file's own names."""
    head, dot, rest = field.rpartition(".")
    name = FILE_FIELDS.get(rest, rest.removesuffix("_id") if head else rest)
    return f"{head}{dot}{name}"


@dataclass(frozen=True)
class _Ref:
    """A reference a record makes by ref: the file's field (`source`), the ids of the refs it
    may name, what it names (`source`), and what to say when it is absent (None: optional)."""

    key: str
    known: Mapping[str, int]
    what: str
    needed: str | None = None


def _resolve(records: _Records, record: FileRecord, data: FileRecord, *refs: _Ref, at: str = "") -> None:
    """Replace each reference of `data` (`source`) by the id it names (`source_id`, None when
    an optional one is absent). Errors name `record` and the field as `at` + the key."""
    for ref in refs:
        field = f"{at}{ref.key}"
        if ref.needed is not None and ref.key not in data:
            raise records.fail(record, field, ref.needed)
        value = data.pop(ref.key, None)
        if value is not None:
            if not isinstance(value, str):
                raise records.fail(record, field, f"must be the ref of a {ref.what} (a string)")
            if value not in ref.known:
                raise records.fail(record, field, f"no {ref.what} has ref {value!r}")
        data[f"{ref.key}_id"] = None if value is None else ref.known[value]


def _save(
    session: Session,
    records: _Records,
    prepared: Sequence[tuple[FileRecord, CreateT]],
    model: type[SQLModel],
    # Any: the stored rows are Core rows here, not the model instances the rules' types name.
    save: Callable[[Session, Sequence[Item[Any, CreateT]]], None],
    report: LoadReport,
    outcomes: dict[str, str] | None = None,
) -> dict[str, int]:
    """Write the records; returns the id of each by ref (so later lookups need no query), and
    fills `outcomes` (when given) with what became of each."""
    saved: dict[str, int] = {}
    for chunk in _chunks(prepared):
        stored = rows_by_ref(session, model, [data.ref for _, data in chunk if data.ref is not None])
        items: list[Item[Any, CreateT]] = [
            Item(stored.get(data.ref) if data.ref is not None else None, data, resolved=True)
            for _, data in chunk
        ]
        try:
            save(session, items)
        except RecordError as exc:
            raise records.fail(chunk[exc.index][0], _file_field(exc.field), exc.message) from None
        for item in items:
            report[records.resource][item.outcome] += 1
            if item.data.ref is not None and item.id is not None:
                saved[item.data.ref] = item.id
                if outcomes is not None:
                    outcomes[item.data.ref] = item.outcome
    return saved


def _refs_wanted(records: list[FileRecord], *keys: str) -> set[str]:
    wanted: set[str] = set()
    for record in records:
        for key in keys:
            value = record.get(key)
            if isinstance(value, str):
                wanted.add(value)
    return wanted


def load_dataset(session: Session, dataset: object) -> LoadReport:
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
    source = _Ref("source", sources, "source", "a document needs the ref of its source")
    prepared = []
    for record in records.records:
        data = dict(record)
        _resolve(records, record, data, source)
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
    parent_ref = _Ref("parent", known, "actor")  # `known` grows by each level saved
    for current in range(max(depth.values(), default=-1) + 1):
        prepared = []
        for record in records.records:
            if depth[record["ref"]] != current:
                continue
            data = dict(record)
            _resolve(records, record, data, parent_ref)
            prepared.append((record, _validate(records, data, ActorCreate)))
        saved = _save(session, records, prepared, Actor, save_actors, report)
        ids.add(Actor, saved)
        known.update(saved)


def _load_events(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    """Events in two passes when they relate to events this file creates: first with the
    relations whose target is already stored, then those events again with all of them, once
    every event of the file has an id (relations may point either way: A follows B, B
    precedes A)."""
    actor_refs: set[str] = set()
    document_refs: set[str] = set()
    event_refs: set[str] = set()
    for record in records.records:
        for key, into, inner in (
            ("actors", actor_refs, "actor"),
            ("citations", document_refs, "document"),
            ("relations", event_refs, "event"),
        ):
            links = record.get(key)
            for link in links if isinstance(links, list) else []:
                if isinstance(link, dict) and isinstance(link.get(inner), str):
                    into.add(link[inner])
    actors = ids.get(Actor, actor_refs)
    documents = ids.get(Document, document_refs)
    stored_events = ids.get(Event, event_refs)
    in_file = {record["ref"] for record in records.records}
    pending = {ref: -1 for ref in (event_refs & in_file) - stored_events.keys()}  # ids come later
    events = {**stored_events, **pending}
    targets = [
        (key, _Ref(inner, known, inner, f"needs the ref of a {inner}"))
        for key, inner, known in (
            ("actors", "actor", actors),
            ("citations", "document", documents),
            ("relations", "event", events),
        )
    ]
    prepared = []
    deferred: list[tuple[FileRecord, FileRecord]] = []  # relations to events not yet stored
    for record in records.records:
        data = dict(record)
        for key, target in targets:
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
                _resolve(records, record, link, target, at=f"{key}.{position}.")
                converted.append(link)
            data[key] = converted
        relations = data.get("relations") or []
        if any(relation["event_id"] == -1 for relation in relations):
            deferred.append((record, data))
            data = {**data, "relations": [r for r in relations if r["event_id"] != -1]}
        prepared.append((record, _validate(records, data, EventCreate)))
    outcomes: dict[str, str] = {}
    saved = _save(session, records, prepared, Event, save_events, report, outcomes)
    ids.add(Event, saved)
    if not deferred:
        return
    again = []
    for record, data in deferred:
        for relation, link in zip(data["relations"], record["relations"], strict=True):
            if relation["event_id"] == -1:
                relation["event_id"] = saved[link["event"]]
        again.append((record, _validate(records, data, EventCreate)))
    _save(session, records, again, Event, save_events, empty_report())
    # The second pass completes records the first one counted: one that was unchanged there
    # has now gained relations, so it is an update.
    counts = report["events"]
    for record, _ in deferred:
        if outcomes[record["ref"]] == UNCHANGED:
            counts[UNCHANGED] -= 1
            counts[UPDATED] += 1


def _load_statements(session: Session, records: _Records, report: LoadReport, ids: _RefIds) -> None:
    actor_refs = _refs_wanted(records.records, "speaker")
    for record in records.records:
        mentions = record.get("mentions") or []
        if isinstance(mentions, list):
            actor_refs |= {m for m in mentions if isinstance(m, str)}
    actors = ids.get(Actor, actor_refs)
    events = ids.get(Event, _refs_wanted(records.records, "event"))
    documents = ids.get(Document, _refs_wanted(records.records, "document"))
    references = (
        _Ref("speaker", actors, "actor", "a statement needs the ref of its speaker"),
        _Ref("event", events, "event"),
        _Ref("document", documents, "document"),
    )
    prepared = []
    for record in records.records:
        data = dict(record)
        _resolve(records, record, data, *references)
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

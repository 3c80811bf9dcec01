"""Read forms: the one way each resource is read, as plain dicts ready to encode.

Every answer that shows a row — a list page, a single read, the ETag that `If-Match` compares,
the echo of a write, an export chunk — comes from `ReadForm.rows`: the resource's own columns in
one Core select, then what the rows embed (actors and roles, citations with their source grades,
aliases, speaker, mentions) in one query per kind of embedded row for the whole page or chunk.
No ORM entity and no pydantic model is built per row; the `*Out` models still document the
shapes in the OpenAPI, and a test validates real answers against them.

The columns a read form selects are the fields of its `*Out` model that are columns of its
table, so a field is declared once, in the model, and the read path follows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.db.base import in_param, in_param_value
from app.models import (
    Actor,
    ActorAlias,
    Citation,
    Document,
    Event,
    EventActor,
    Source,
    Statement,
    StatementMention,
)
from app.schemas.resources import ActorDetail, ActorOut, DocumentOut, EventOut, SourceOut, StatementOut

Row = dict[str, Any]
# Timestamps are UTC and written with `Z`, as the contract writes them.
JSON_OPTIONS = orjson.OPT_UTC_Z


def encode(value: Any) -> bytes:
    """JSON of read forms (and anything built from them), as every answer writes it."""
    return orjson.dumps(value, option=JSON_OPTIONS)


def encode_line(value: Any) -> bytes:
    """`encode` and a newline, as one line of NDJSON."""
    return orjson.dumps(value, option=JSON_OPTIONS | orjson.OPT_APPEND_NEWLINE)


Embed = Callable[[Session, list[Row], "Lookups"], None]

SOURCE = Source.__table__  # type: ignore[attr-defined]
DOCUMENT = Document.__table__  # type: ignore[attr-defined]
ACTOR = Actor.__table__  # type: ignore[attr-defined]
ALIAS = ActorAlias.__table__  # type: ignore[attr-defined]
EVENT = Event.__table__  # type: ignore[attr-defined]
EVENT_ACTOR = EventActor.__table__  # type: ignore[attr-defined]
CITATION = Citation.__table__  # type: ignore[attr-defined]
STATEMENT = Statement.__table__  # type: ignore[attr-defined]
MENTION = StatementMention.__table__  # type: ignore[attr-defined]


def _ids(values: Iterable[Any]) -> list[Any]:
    """Distinct ids in first-seen order (a stable statement for the same page)."""
    return list(dict.fromkeys(v for v in values if v is not None))


_SQL: dict[tuple[sa.Select[Any], str], str] = {}


def _fetch(session: Session, stmt: sa.Select[Any], ids: Sequence[Any]) -> list[Any]:
    """Rows (plain tuples) of a prebuilt statement whose one parameter `:ids` is the list given.

    The statement is compiled once per dialect and sent as text, and its rows are taken from
    the driver's cursor as they come: its columns are integers and strings that need no result
    processing, and skipping SQLAlchemy's per-execution and per-row handling is most of what a
    page of embedded rows costs. (Still through the Connection, so `before_cursor_execute`
    listeners see it.)"""
    if not ids:
        return []
    connection = session.connection()
    dialect = connection.dialect.name
    sql = _SQL.get((stmt, dialect))
    if sql is None:
        sql = _SQL[(stmt, dialect)] = str(stmt.compile(dialect=connection.dialect))
    value = in_param_value(connection.dialect, list(ids))
    params: Any = (value,) if connection.dialect.positional else {"ids": value}
    result = connection.exec_driver_sql(sql, params)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _grouped(session: Session, stmt: sa.Select[Any], ids: Sequence[Any]) -> dict[Any, list[Any]]:
    """Rows of a prebuilt statement grouped by their first column, in the statement's order."""
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in _fetch(session, stmt, ids):
        groups[row[0]].append(row)
    return groups


# --- what rows embed: one prebuilt statement per kind of embedded row, `:ids` a whole page ------

ALIASES_OF = (
    sa.select(ALIAS.c.actor_id, ALIAS.c.alias)
    .where(in_param(ALIAS.c.actor_id))
    .order_by(ALIAS.c.actor_id, ALIAS.c.position, ALIAS.c.id)
)
ACTOR_NAMES = sa.select(ACTOR.c.id, ACTOR.c.name).where(in_param(ACTOR.c.id))
CHILDREN_OF = (
    sa.select(ACTOR.c.parent_id, ACTOR.c.id, ACTOR.c.name)
    .where(in_param(ACTOR.c.parent_id))
    .order_by(ACTOR.c.parent_id, ACTOR.c.name_key, ACTOR.c.id)
)
SOURCE_BRIEFS = sa.select(SOURCE.c.id, SOURCE.c.name, SOURCE.c.reliability).where(in_param(SOURCE.c.id))
# Both orders are served by an index `(event_id, position, …)`: no sort per page or chunk.
EVENT_ACTORS_OF = (
    sa.select(EVENT_ACTOR.c.event_id, EVENT_ACTOR.c.actor_id, EVENT_ACTOR.c.role)
    .where(in_param(EVENT_ACTOR.c.event_id))
    .order_by(EVENT_ACTOR.c.event_id, EVENT_ACTOR.c.position, EVENT_ACTOR.c.actor_id)
)
CITATIONS_OF = (
    sa.select(
        CITATION.c.event_id,
        CITATION.c.document_id,
        CITATION.c.credibility,
        CITATION.c.excerpt,
        DOCUMENT.c.source_id,
        DOCUMENT.c.url,
    )
    .join(DOCUMENT, DOCUMENT.c.id == CITATION.c.document_id)
    .where(in_param(CITATION.c.event_id))
    .order_by(CITATION.c.event_id, CITATION.c.position, CITATION.c.id)
)
MENTIONS_OF = (
    sa.select(MENTION.c.statement_id, MENTION.c.actor_id)
    .where(in_param(MENTION.c.statement_id))
    .order_by(MENTION.c.statement_id, MENTION.c.position, MENTION.c.actor_id)
)
DOCUMENT_GRADES = (
    sa.select(DOCUMENT.c.id, SOURCE.c.reliability)
    .join(SOURCE, SOURCE.c.id == DOCUMENT.c.source_id)
    .where(in_param(DOCUMENT.c.id))
)


class Lookups:
    """What many embedded rows share — a source's name and grade, an actor's name — read once
    per page or export by id and looked up in memory: joining them into every embedded row
    cost more than reading the rows themselves. Held for one read transaction only; bounded,
    so an export over many distinct sources or actors stays in constant memory."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._sources: dict[int, tuple[str, str]] = {}
        self._names: dict[int, str] = {}

    def sources(self, session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """`{source id: (name, reliability)}` holding at least the ids given."""
        return self._fill(session, self._sources, SOURCE_BRIEFS, ids, lambda row: (row[1], row[2]))

    def names(self, session: Session, ids: Iterable[int]) -> dict[int, str]:
        """`{actor id: name}` holding at least the ids given."""
        return self._fill(session, self._names, ACTOR_NAMES, ids, lambda row: row[1])

    def _fill(
        self,
        session: Session,
        known: dict[int, Any],
        stmt: sa.Select[Any],
        ids: Iterable[int],
        value: Callable[[Any], Any],
    ) -> dict[int, Any]:
        wanted = _ids(ids)
        missing = [i for i in wanted if i not in known]
        if missing:
            if len(known) + len(missing) > self.LIMIT:
                known.clear()
                missing = wanted
            for row in _fetch(session, stmt, missing):
                known[row[0]] = value(row)
        return known


def aliases_of(session: Session, actor_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each actor's aliases, in their stored order."""
    aliases: dict[int, list[str]] = defaultdict(list)
    for actor_id, alias in _fetch(session, ALIASES_OF, _ids(actor_ids)):
        aliases[actor_id].append(alias)
    return aliases


def _embed_nothing(_: Session, __: list[Row], ___: Lookups) -> None:
    return None


def _embed_document_source(session: Session, rows: list[Row], lookups: Lookups) -> None:
    sources = lookups.sources(session, (row["source_id"] for row in rows))
    for row in rows:
        source_id = row["source_id"]
        name, reliability = sources[source_id]
        row["source"] = {"id": source_id, "name": name, "reliability": reliability}


def _embed_aliases(session: Session, rows: list[Row], _: Lookups) -> None:
    aliases = aliases_of(session, [row["id"] for row in rows])
    for row in rows:
        row["aliases"] = aliases.get(row["id"], [])


def _embed_actor_family(session: Session, rows: list[Row], lookups: Lookups) -> None:
    """The single read of an actor: aliases, its parent and its children as `{id, name}`."""
    _embed_aliases(session, rows, lookups)
    parent_ids = [row["parent_id"] for row in rows if row["parent_id"] is not None]
    parents = lookups.names(session, parent_ids)
    children = _grouped(session, CHILDREN_OF, [row["id"] for row in rows])
    for row in rows:
        parent_id = row["parent_id"]
        row["parent"] = None if parent_id is None else {"id": parent_id, "name": parents[parent_id]}
        row["children"] = [{"id": c[1], "name": c[2]} for c in children.get(row["id"], [])]


def _embed_event_links(session: Session, rows: list[Row], lookups: Lookups) -> None:
    """Actors with their roles and names; citations with their document and source grades;
    and what derives from the citations (distinct sources, best grade)."""
    ids = [row["id"] for row in rows]
    actors = _grouped(session, EVENT_ACTORS_OF, ids)
    citations = _grouped(session, CITATIONS_OF, ids)
    names = lookups.names(session, (a[1] for linked in actors.values() for a in linked))
    sources = lookups.sources(session, (c[4] for cited in citations.values() for c in cited))
    for row in rows:
        linked = actors.get(row["id"])
        row["actors"] = (
            [{"actor_id": actor_id, "role": role, "name": names[actor_id]} for _, actor_id, role in linked]
            if linked
            else []
        )
        cited = citations.get(row["id"])
        if not cited:
            row["citations"] = []
            row["source_count"] = 0
            row["best_reliability"] = None
            continue
        items = []
        for _, document_id, credibility, excerpt, source_id, url in cited:
            source_name, reliability = sources[source_id]
            items.append(
                {
                    "document_id": document_id,
                    "credibility": credibility,
                    "excerpt": excerpt,
                    "source_id": source_id,
                    "source_name": source_name,
                    "reliability": reliability,
                    "url": url,
                }
            )
        row["citations"] = items
        row["source_count"] = len({c[4] for c in cited}) if len(cited) > 1 else 1
        row["best_reliability"] = min(item["reliability"] for item in items)


def _embed_statement_links(session: Session, rows: list[Row], lookups: Lookups) -> None:
    """Speaker and mentions as `{id, name}`; the grade of the document's source."""
    mentions = _grouped(session, MENTIONS_OF, [row["id"] for row in rows])
    actor_ids = [row["speaker_id"] for row in rows] + [m[1] for ms in mentions.values() for m in ms]
    names = lookups.names(session, actor_ids)
    grades: dict[int, str] = dict(_fetch(session, DOCUMENT_GRADES, _ids(row["document_id"] for row in rows)))
    for row in rows:
        row["speaker"] = {"id": row["speaker_id"], "name": names[row["speaker_id"]]}
        row["mentions"] = [{"id": m[1], "name": names[m[1]]} for m in mentions.get(row["id"], [])]
        row["reliability"] = grades.get(row["document_id"])


# --- the read forms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadForm:
    """How one resource is read: the columns its `out` model takes from `table` as they are,
    and the one loader of everything its rows embed."""

    name: str  # the resource's plural path name
    out: type[BaseModel]
    table: sa.Table
    embed: Embed = _embed_nothing
    columns: tuple[sa.Column[Any], ...] = field(init=False)
    base: sa.Select[Any] = field(init=False)
    by_id: sa.Select[Any] = field(init=False)

    def __post_init__(self) -> None:
        own = [self.table.c[name] for name in self.out.model_fields if name in self.table.c]
        object.__setattr__(self, "columns", tuple(own))
        # Built once: constructing a select of twenty columns costs more than running it.
        object.__setattr__(self, "base", sa.select(*own))
        object.__setattr__(self, "by_id", self.base.where(self.table.c.id == sa.bindparam("id")))

    def select(self) -> sa.Select[Any]:
        """The statement that list filters, sorting and keyset pagination build on (statements
        are immutable: each `.where()` makes a new one)."""
        return self.base

    def rows(
        self,
        session: Session,
        stmt: sa.Select[Any],
        params: dict[str, Any] | None = None,
        *,
        strip: Sequence[str] = (),
    ) -> list[Row]:
        """The read forms of the rows `stmt` selects (columns as `select()` gives them, plus any
        extra ones named in `strip`, which are dropped after use, e.g. a sort key)."""
        result = session.connection().execute(stmt, params)
        keys = list(result.keys())
        rows = [dict(zip(keys, values, strict=True)) for values in result]
        return self.finish(session, rows, strip=strip)

    def finish(
        self,
        session: Session,
        rows: list[Row],
        *,
        strip: Sequence[str] = (),
        lookups: Lookups | None = None,
    ) -> list[Row]:
        """Drop the `strip` columns and embed what the rows embed; an export passes one
        `lookups` for all its chunks."""
        for row in rows:
            for name in strip:
                row.pop(name, None)
        if rows:
            self.embed(session, rows, lookups or Lookups())
        return rows

    def one(self, session: Session, row_id: int) -> Row | None:
        found = self.rows(session, self.by_id, {"id": row_id})
        return found[0] if found else None


SOURCES = ReadForm("sources", SourceOut, SOURCE)
DOCUMENTS = ReadForm("documents", DocumentOut, DOCUMENT, _embed_document_source)
ACTORS = ReadForm("actors", ActorOut, ACTOR, _embed_aliases)
ACTOR_DETAIL = ReadForm("actors", ActorDetail, ACTOR, _embed_actor_family)
EVENTS = ReadForm("events", EventOut, EVENT, _embed_event_links)
STATEMENTS = ReadForm("statements", StatementOut, STATEMENT, _embed_statement_links)

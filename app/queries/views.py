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


Embed = Callable[[Session, list[Row]], None]

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
    """Rows of a prebuilt statement whose one parameter `:ids` is the list given.

    The statement is compiled once per dialect and sent as text: its columns are integers and
    strings that need no result processing, and skipping SQLAlchemy's per-execution statement
    handling halves what a page of embedded rows costs. (Still through the Connection, so
    `before_cursor_execute` listeners see it.)"""
    if not ids:
        return []
    connection = session.connection()
    dialect = connection.dialect.name
    sql = _SQL.get((stmt, dialect))
    if sql is None:
        sql = _SQL[(stmt, dialect)] = str(stmt.compile(dialect=connection.dialect))
    value = in_param_value(connection.dialect, list(ids))
    params: Any = (value,) if connection.dialect.positional else {"ids": value}
    return list(connection.exec_driver_sql(sql, params))


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
EVENT_ACTORS_OF = (
    sa.select(EVENT_ACTOR.c.event_id, EVENT_ACTOR.c.actor_id, EVENT_ACTOR.c.role, ACTOR.c.name)
    .join(ACTOR, ACTOR.c.id == EVENT_ACTOR.c.actor_id)
    .where(in_param(EVENT_ACTOR.c.event_id))
    .order_by(EVENT_ACTOR.c.event_id, EVENT_ACTOR.c.position, EVENT_ACTOR.c.actor_id)
)
CITATIONS_OF = (
    sa.select(
        CITATION.c.event_id,
        CITATION.c.document_id,
        CITATION.c.credibility,
        CITATION.c.excerpt,
        SOURCE.c.id,
        SOURCE.c.name,
        SOURCE.c.reliability,
        DOCUMENT.c.url,
    )
    .join(DOCUMENT, DOCUMENT.c.id == CITATION.c.document_id)
    .join(SOURCE, SOURCE.c.id == DOCUMENT.c.source_id)
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


def aliases_of(session: Session, actor_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each actor's aliases, in their stored order."""
    aliases: dict[int, list[str]] = defaultdict(list)
    for actor_id, alias in _fetch(session, ALIASES_OF, _ids(actor_ids)):
        aliases[actor_id].append(alias)
    return aliases


def _embed_nothing(_: Session, __: list[Row]) -> None:
    return None


def _embed_document_source(session: Session, rows: list[Row]) -> None:
    sources = {
        source_id: {"id": source_id, "name": name, "reliability": reliability}
        for source_id, name, reliability in _fetch(
            session, SOURCE_BRIEFS, _ids(row["source_id"] for row in rows)
        )
    }
    for row in rows:
        row["source"] = sources[row["source_id"]]


def _embed_aliases(session: Session, rows: list[Row]) -> None:
    aliases = aliases_of(session, [row["id"] for row in rows])
    for row in rows:
        row["aliases"] = aliases.get(row["id"], [])


def _embed_actor_family(session: Session, rows: list[Row]) -> None:
    """The single read of an actor: aliases, its parent and its children as `{id, name}`."""
    _embed_aliases(session, rows)
    ids = [row["id"] for row in rows]
    parents = dict(_fetch(session, ACTOR_NAMES, _ids(row["parent_id"] for row in rows)))
    children = _grouped(session, CHILDREN_OF, ids)
    for row in rows:
        parent_id = row["parent_id"]
        row["parent"] = {"id": parent_id, "name": parents[parent_id]} if parent_id in parents else None
        row["children"] = [{"id": c.id, "name": c.name} for c in children.get(row["id"], [])]


def _embed_event_links(session: Session, rows: list[Row]) -> None:
    """Actors with their roles and names; citations with their document and source grades;
    and what derives from the citations (distinct sources, best grade)."""
    ids = [row["id"] for row in rows]
    actors = _grouped(session, EVENT_ACTORS_OF, ids)
    citations = _grouped(session, CITATIONS_OF, ids)
    no_rows: list[Any] = []
    for row in rows:
        row["actors"] = [
            {"actor_id": actor_id, "role": role, "name": name}
            for _, actor_id, role, name in actors.get(row["id"], no_rows)
        ]
        cited = citations.get(row["id"], no_rows)
        row["citations"] = [
            {
                "document_id": document_id,
                "credibility": credibility,
                "excerpt": excerpt,
                "source_id": source_id,
                "source_name": source_name,
                "reliability": reliability,
                "url": url,
            }
            for _, document_id, credibility, excerpt, source_id, source_name, reliability, url in cited
        ]
        row["source_count"] = len({c[4] for c in cited})
        row["best_reliability"] = min((c[6] for c in cited), default=None)


def _embed_statement_links(session: Session, rows: list[Row]) -> None:
    """Speaker and mentions as `{id, name}`; the grade of the document's source."""
    mentions = _grouped(session, MENTIONS_OF, [row["id"] for row in rows])
    actor_ids = _ids([row["speaker_id"] for row in rows] + [m[1] for ms in mentions.values() for m in ms])
    names: dict[int, str] = dict(_fetch(session, ACTOR_NAMES, actor_ids))
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

    def finish(self, session: Session, rows: list[Row], *, strip: Sequence[str] = ()) -> list[Row]:
        for row in rows:
            for name in strip:
                row.pop(name, None)
        if rows:
            self.embed(session, rows)
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

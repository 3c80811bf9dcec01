"""The history mirror of every table a resource's read touches, and which rows each resource
owns. A mirror has the table's columns (no keys, no constraints: a row appears once per
version), `valid_from`/`valid_to`, and the table's indexes, so a read as of an instant is served
the way the current read is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from app.actors.model import Actor, ActorAlias
from app.db.base import UTCDateTime, metadata, table_of
from app.events.model import Citation, Event, EventActor, EventRelation
from app.history.asof import MIRRORS, Mirror
from app.sources.model import Document, Source, SourceAlias
from app.statements.model import Statement, StatementMention

VALID_FROM, VALID_TO = "valid_from", "valid_to"
NAME_MAX = 63  # PostgreSQL's identifier length


def _index_name(table: str, columns: list[str]) -> str:
    name = f"ix_{table}_{'_'.join(columns)}"
    if len(name) <= NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: NAME_MAX - 9]}_{digest}"


def _indexed_columns(table: sa.Table) -> list[list[str]]:
    """The column lists the table is looked up by: its primary key, its unique columns and
    constraints, and its indexes, in that order, without repeats."""
    found: list[list[str]] = [[c.name for c in table.primary_key.columns]]
    found += [[c.name] for c in table.columns if c.unique or c.index]
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            found.append([c.name for c in constraint.columns])
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        found.append([c.name for c in index.columns])
    unique: list[list[str]] = []
    for columns in found:
        if columns and columns not in unique:
            unique.append(columns)
    return unique


def mirror_of(table: sa.Table) -> sa.Table:
    """Define `<table>_history` on the metadata and register it for as-of reads."""
    name = f"{table.name}_history"
    columns = [sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True)]
    columns += [sa.Column(c.name, c.type, nullable=c.nullable) for c in table.columns]
    columns += [
        sa.Column(VALID_FROM, UTCDateTime(), nullable=False),
        sa.Column(VALID_TO, UTCDateTime(), nullable=True),
    ]
    indexes = [sa.Index(_index_name(name, cols), *cols) for cols in _indexed_columns(table)]
    mirror = sa.Table(name, metadata, *columns, *indexes)
    MIRRORS[table.name] = Mirror(name, tuple(c.name for c in table.columns))
    return mirror


@dataclass(frozen=True)
class Owned:
    """Rows a resource row owns (they change only with it): the table and its owner column."""

    table: sa.Table
    owner: str


@dataclass(frozen=True)
class Versioned:
    """A resource whose rows keep history: its table and the tables of the rows it owns."""

    resource: str  # the plural path name, as in the change feed
    table: sa.Table
    owned: tuple[Owned, ...] = ()


VERSIONED = {
    v.resource: v
    for v in (
        Versioned("sources", table_of(Source), (Owned(table_of(SourceAlias), "source_id"),)),
        Versioned("documents", table_of(Document)),
        Versioned("actors", table_of(Actor), (Owned(table_of(ActorAlias), "actor_id"),)),
        Versioned(
            "events",
            table_of(Event),
            (
                Owned(table_of(EventActor), "event_id"),
                Owned(table_of(Citation), "event_id"),
                Owned(table_of(EventRelation), "event_id"),
            ),
        ),
        Versioned("statements", table_of(Statement), (Owned(table_of(StatementMention), "statement_id"),)),
    )
}

HISTORY_OF: dict[str, sa.Table] = {}
for _versioned in VERSIONED.values():
    for _table in (_versioned.table, *(owned.table for owned in _versioned.owned)):
        HISTORY_OF[_table.name] = mirror_of(_table)

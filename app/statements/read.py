"""How statements are read: speaker, mentions and the grade of the document's source."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from app.actors.read import actor_names
from app.db.base import in_param, table_of
from app.kit.export import CsvLayout, joined
from app.kit.pagination import (
    SortKey,
    date_key,
)
from app.kit.read import Lookups, ReadForm, Row, grouped
from app.sources.read import document_grades
from app.statements.model import Statement, StatementMention
from app.statements.schemas import StatementOut

STATEMENT = table_of(Statement)
MENTION = table_of(StatementMention)


MENTIONS_OF = (
    sa.select(MENTION.c.statement_id, MENTION.c.actor_id)
    .where(in_param(MENTION.c.statement_id))
    .order_by(MENTION.c.statement_id, MENTION.c.position, MENTION.c.actor_id)
)


def _embed_statement_links(session: Session, rows: list[Row], lookups: Lookups) -> None:
    """Speaker and mentions as `{id, name}`; the grade of the document's source."""
    mentions = grouped(session, MENTIONS_OF, [row["id"] for row in rows])
    actor_ids = [row["speaker_id"] for row in rows] + [m[1] for ms in mentions.values() for m in ms]
    names = actor_names(session, lookups, actor_ids)
    grades = document_grades(session, (row["document_id"] for row in rows))
    for row in rows:
        row["speaker"] = {"id": row["speaker_id"], "name": names[row["speaker_id"]]}
        row["mentions"] = [{"id": m[1], "name": names[m[1]]} for m in mentions.get(row["id"], [])]
        row["reliability"] = grades.get(row["document_id"])


STATEMENTS = ReadForm("statements", StatementOut, STATEMENT, _embed_statement_links)


class StatementSort(StrEnum):
    stated_on = "stated_on"
    stated_on_desc = "-stated_on"


@cache
def statement_sort_key(sort: StatementSort) -> SortKey:
    return date_key(col(Statement.stated_on), col(Statement.id), sort.value.startswith("-"))


STATEMENT_CSV = CsvLayout(
    STATEMENTS,
    {
        "speaker": (("speaker", lambda speaker: str(speaker["name"])),),
        "mentions": (
            ("mentions", joined(lambda m: str(m["name"]))),
            ("mention_ids", joined(lambda m: str(m["id"]))),
        ),
    },
)

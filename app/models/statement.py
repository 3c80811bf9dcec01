"""Statements: who said what, when, where, with which claimed figures."""

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.common import NO_ID_REUSE, ResourceRow, check
from app.models.enums import StatementKind, sql_in


class Statement(ResourceRow, table=True):
    __tablename__ = "statement"
    __table_args__ = (
        check(sql_in("kind", StatementKind), "kind"),
        check("credibility >= 1 AND credibility <= 6", "credibility"),
        check("length(text) >= 1", "text_not_empty"),
        check("value_low IS NULL OR value_best IS NULL OR value_low <= value_best", "value_low_best"),
        check(
            "value_best IS NULL OR value_high IS NULL OR value_best <= value_high",
            "value_best_high",
        ),
        check("value_low IS NULL OR value_high IS NULL OR value_low <= value_high", "value_low_high"),
        check(
            "measure IS NOT NULL OR (value_low IS NULL AND value_best IS NULL AND value_high IS NULL)",
            "value_needs_measure",
        ),
        sa.Index("ix_statement_stated_on_id", "stated_on", "id"),
        # an event's claims grouped by measure and unit, with their values: the contested test
        # (group, max of lows, min of highs) reads this index alone
        sa.Index(
            "ix_statement_event_id_measure_unit_values",
            "event_id",
            "measure",
            "unit",
            "value_low",
            "value_best",
            "value_high",
        ),
        NO_ID_REUSE,
    )

    speaker_id: int = Field(foreign_key="actor.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    stated_on: date
    kind: str = Field(default="other", max_length=20, index=True)
    text: str
    is_quote: bool = False
    credibility: int = 6
    measure: str | None = Field(default=None, max_length=100, index=True)
    value_low: float | None = None
    value_best: float | None = None
    value_high: float | None = None
    unit: str | None = Field(default=None, max_length=100)


class StatementMention(SQLModel, table=True):
    """An actor a statement is about; owned by the statement."""

    __tablename__ = "statement_mention"

    statement_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("statement.id", ondelete="CASCADE"), primary_key=True)
    )
    actor_id: int = Field(sa_column=sa.Column(sa.ForeignKey("actor.id"), primary_key=True, index=True))
    position: int = 0

"""Statements: who said what, when, where, with which claimed figures."""

from datetime import date

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from app.core.enums import StatementKind, sql_in
from app.db.base import NO_ID_REUSE, check
from app.kit.rows import Referenced, ResourceRow
from app.kit.schemas import Credibility, Figure, Id, LongText, ShortText


class StatementFields(Referenced):
    """A statement's own columns, declared once (see `kit.rows`), in the order its read
    form shows them; the mentioned actors are rows of `statement_mention`."""

    stated_on: date = Field(description="When it was said.")
    kind: StatementKind = Field(
        default=StatementKind.other,
        sa_type=AutoString(length=20),
        index=True,
        description="What sort of statement it is (an announcement, a denial, a threat…).",
    )
    speaker_id: Id = Field(foreign_key="actor.id", index=True, description="Id of the actor who said it.")
    event_id: Id | None = Field(
        default=None, foreign_key="event.id", description="Id of the event it is about, or null."
    )
    document_id: Id | None = Field(
        default=None,
        foreign_key="document.id",
        index=True,
        description="Id of the document where it was published or reported, or null.",
    )
    credibility: Credibility = 6
    is_quote: bool = Field(default=False, description="True when `text` is verbatim, false when paraphrased.")
    measure: ShortText | None = Field(
        default=None,
        sa_type=AutoString(length=100),
        index=True,
        description="What the claimed figure counts, e.g. `personnel`, `fatalities`; "
        "not null when any value is.",
    )
    value_low: Figure | None = Field(
        default=None, description="Lowest claimed value (≤ the best and high ones where given), or null."
    )
    value_best: Figure | None = Field(
        default=None, description="The claimed figure (between the low and high ones where given), or null."
    )
    value_high: Figure | None = Field(
        default=None, description="Highest claimed value (≥ the low and best ones where given), or null."
    )
    unit: ShortText | None = Field(
        default=None,
        sa_type=AutoString(length=100),
        description="Unit of the values, e.g. `persons`, or null.",
    )
    text: LongText = Field(
        sa_type=AutoString(), description="What was said, paraphrased or quoted (see `is_quote`)."
    )


class Statement(StatementFields, ResourceRow, table=True):
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


class StatementMention(SQLModel, table=True):
    """An actor a statement is about; owned by the statement."""

    __tablename__ = "statement_mention"

    statement_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("statement.id", ondelete="CASCADE"), primary_key=True)
    )
    actor_id: int = Field(sa_column=sa.Column(sa.ForeignKey("actor.id"), primary_key=True, index=True))
    position: int = 0

"""Events, the actors taking part in them and the documents citing them."""

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import AutoString, Field, SQLModel

from app.core.enums import ActorRole, DatePrecision, EventType, GeoPrecision, RelationType, sql_in
from app.db.base import NO_ID_REUSE, check
from app.kit.rows import Referenced, ResourceRow
from app.kit.schemas import (
    COUNTRY,
    Count,
    CountryCode,
    Credibility,
    FreeText,
    Id,
    Latitude,
    Line,
    Longitude,
    Title,
)


class EventFields(Referenced):
    """An event's own columns, declared once (see `kit.rows`)."""

    title: Title = Field(sa_type=AutoString(), description="What happened, in one line.")
    type: EventType = Field(sa_type=AutoString(length=40), description="What kind of event it is.")
    start_date: date = Field(description="First day of the event.")
    end_date: date = Field(
        description="Last day of the event, not before `start_date` (equal for a one-day event)."
    )
    date_precision: DatePrecision = Field(
        default=DatePrecision.day,
        sa_type=AutoString(length=10),
        description="How precisely the dates are known: to the day, week, month or year.",
    )
    country: CountryCode | None = Field(
        default=None,
        sa_type=AutoString(length=2),
        description=f"Where it happened: {COUNTRY}; null if unknown.",
    )
    admin1: Line | None = Field(
        default=None, description="First-level administrative region (province, oblast), or null."
    )
    location: Line | None = Field(default=None, description="Place name, or null.")
    latitude: Latitude | None = Field(
        default=None, description="Decimal degrees, −90..90; null exactly when `longitude` is null."
    )
    longitude: Longitude | None = Field(
        default=None, description="Decimal degrees, −180..180; null exactly when `latitude` is null."
    )
    geo_precision: GeoPrecision | None = Field(
        default=None,
        sa_type=AutoString(length=10),
        description="How precisely the place is known, from `exact` to `country`; null if not stated.",
    )
    description: FreeText | None = Field(default=None, description="Free-text account of the event, or null.")
    fatalities_low: Count | None = Field(
        default=None, description="Lowest estimate of deaths (≤ the best and high ones where given), or null."
    )
    fatalities_best: Count | None = Field(
        default=None,
        description="Best estimate of deaths (between the low and high ones where given), or null.",
    )
    fatalities_high: Count | None = Field(
        default=None, description="Highest estimate of deaths (≥ the low and best ones where given), or null."
    )


class Event(EventFields, ResourceRow, table=True):
    __tablename__ = "event"
    __table_args__ = (
        check(sql_in("type", EventType), "type"),
        check(sql_in("date_precision", DatePrecision), "date_precision"),
        check(f"geo_precision IS NULL OR {sql_in('geo_precision', GeoPrecision)}", "geo_precision"),
        check("end_date >= start_date", "date_order"),
        check("(latitude IS NULL) = (longitude IS NULL)", "coordinates_paired"),
        check("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", "latitude_range"),
        check("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", "longitude_range"),
        check("fatalities_low IS NULL OR fatalities_low >= 0", "fatalities_low_positive"),
        check("fatalities_best IS NULL OR fatalities_best >= 0", "fatalities_best_positive"),
        check("fatalities_high IS NULL OR fatalities_high >= 0", "fatalities_high_positive"),
        check(
            "fatalities_low IS NULL OR fatalities_best IS NULL OR fatalities_low <= fatalities_best",
            "fatalities_low_best",
        ),
        check(
            "fatalities_best IS NULL OR fatalities_high IS NULL OR fatalities_best <= fatalities_high",
            "fatalities_best_high",
        ),
        check(
            "fatalities_low IS NULL OR fatalities_high IS NULL OR fatalities_low <= fatalities_high",
            "fatalities_low_high",
        ),
        sa.Index("ix_event_start_date_id", "start_date", "id"),
        sa.Index("ix_event_end_date_start_date", "end_date", "start_date"),
        sa.Index("ix_event_fatalities_best_id", "fatalities_best", "id"),
        sa.Index("ix_event_updated_at_id", "updated_at", "id"),
        sa.Index("ix_event_type_start_date", "type", "start_date"),
        sa.Index("ix_event_country_start_date", "country", "start_date"),
        sa.Index("ix_event_longitude_latitude", "longitude", "latitude"),
        NO_ID_REUSE,
    )


class EventActor(SQLModel, table=True):
    """An actor's part in an event; owned by the event."""

    __tablename__ = "event_actor"
    __table_args__ = (
        check(sql_in("role", ActorRole), "role"),
        sa.Index("ix_event_actor_actor_id_role_event_id", "actor_id", "role", "event_id"),
        # an event's actors in their order, index-only: what every read of events embeds
        sa.Index("ix_event_actor_event_id_position", "event_id", "position", "actor_id", "role"),
    )

    event_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    )
    actor_id: int = Field(sa_column=sa.Column(sa.ForeignKey("actor.id"), primary_key=True))
    role: str = Field(sa_column=sa.Column(sa.String(20), primary_key=True))
    position: int = 0


class CitationFields(BaseModel):
    """What an event's citation says, declared once: the table, `CitationIn` and `CitationOut`
    derive from it."""

    document_id: Id = Field(
        foreign_key="document.id", description="Id of the document that reports the event."
    )
    credibility: Credibility = 6
    excerpt: FreeText | None = Field(
        default=None, description="What the document says about the event, or null."
    )


class Citation(CitationFields, SQLModel, table=True):
    """What one document says about one event, graded for information credibility."""

    __tablename__ = "citation"
    __table_args__ = (
        check("credibility >= 1 AND credibility <= 6", "credibility"),
        sa.Index("ix_citation_event_id_document_id", "event_id", "document_id"),
        # an event's citations in their order, without a sort per page or export chunk
        sa.Index("ix_citation_event_id_position_id", "event_id", "position", "id"),
        # documents to the events they cite, index-only: the source facet joins through it
        sa.Index("ix_citation_document_id_event_id", "document_id", "event_id"),
        NO_ID_REUSE,
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(sa_column=sa.Column(sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=False))
    position: int = 0


class EventRelation(SQLModel, table=True):
    """How an event stands to another (`event_id` is `type` of `related_id`); owned by the
    event that holds it. The event it points at cannot be deleted while it does."""

    __tablename__ = "event_relation"
    __table_args__ = (
        check(sql_in("type", RelationType), "type"),
        check("related_id <> event_id", "not_self"),
        # an event's relations in their order, index-only: what every read of events embeds
        sa.Index("ix_event_relation_event_id_position", "event_id", "position", "related_id", "type"),
        # the relations pointing at an event: incoming walks, the delete check, part_of cycles
        sa.Index("ix_event_relation_related_id_event_id", "related_id", "event_id", "type"),
        NO_ID_REUSE,
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(sa_column=sa.Column(sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=False))
    related_id: int = Field(sa_column=sa.Column(sa.ForeignKey("event.id"), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    position: int = 0


class StoredEventForm(SQLModel, table=True):
    """An event's read form as each export format writes it, kept so that a whole-table export reads
    stored bytes instead of rebuilding every row (`app.events.stored`). Never a source of
    truth: triggers (migration 0010) delete a row in the same transaction as any change to
    what it shows, so a stored form that a read can see is the current one; `form` names the
    code that wrote it, and rows of another form are ignored."""

    __tablename__ = "stored_event_form"

    # No foreign key: the event's delete trigger removes the row, and a key would make the
    # refresher's insert lock the event row a writer may hold (app.events.stored).
    event_id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    # indexed so that "any form of other code?" is answered without reading the table
    form: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    as_json: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    as_csv: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    # the GeoJSON feature; empty for an event without coordinates
    as_geojson: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class PendingEventForm(SQLModel, table=True):
    """Events whose stored form is missing or out of date, for the refresher to rebuild, and
    since when (the first time: queuing an event already queued keeps its time)."""

    __tablename__ = "pending_event_form"

    event_id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    queued_at: datetime = Field(
        sa_column=sa.Column(
            sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()
        )
    )

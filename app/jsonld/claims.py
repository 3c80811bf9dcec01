"""Statements as schema.org `Claim`s in JSON-LD, the form fact-checkers exchange claims in.

A claim is built from the statement's row and what it points at, read once per batch of
statements: the speaker and mentioned actors (a `Person` for an actor of kind `person`, else an
`Organization`), the document it appeared in with its source (`appearance`, a `CreativeWork`
with the document's URL), the event it is about and the claimed figures (`about`: an `Event`
and a `PropertyValue` named after the measure). `@id`s are the rows' addresses in this API
(relative references unless the server has a `PUBLIC_URL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.types import Scope

from app.actors.model import Actor
from app.core.enums import ActorKind
from app.db.base import any_of, table_of
from app.events.model import Event
from app.kit.read import distinct_ids
from app.kit.responses import service_url
from app.sources.model import Document, Source
from app.statements.model import Statement, StatementMention

SCHEMA_ORG = "https://schema.org"
ACTOR, DOCUMENT, EVENT, SOURCE = (table_of(m) for m in (Actor, Document, Event, Source))
STATEMENT, MENTION = table_of(Statement), table_of(StatementMention)


class _Node(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class AgentLD(_Node):
    type: Literal["Person", "Organization"] = Field(
        alias="@type", description="`Person` for an actor of kind `person`, else `Organization`."
    )
    id: str = Field(alias="@id", description="The actor's address in this API.")
    identifier: int = Field(description="The actor's id.")
    name: str = Field(description="The actor's name.")


class PublisherLD(_Node):
    type: Literal["Organization"] = Field(alias="@type", description="Always `Organization`.")
    id: str = Field(alias="@id", description="The source's address in this API.")
    name: str = Field(description="The source's name.")


class AppearanceLD(_Node):
    type: Literal["CreativeWork"] = Field(alias="@type", description="Always `CreativeWork`.")
    id: str = Field(alias="@id", description="The document's address in this API.")
    url: str | None = Field(default=None, description="Where the document was published; absent if unknown.")
    name: str = Field(description="The document's title.")
    datePublished: date | None = Field(default=None, description="Its publication date; absent if unknown.")
    publisher: PublisherLD = Field(description="The source that published it.")


class EventLD(_Node):
    type: Literal["Event"] = Field(alias="@type", description="Always `Event`.")
    id: str = Field(alias="@id", description="The event's address in this API.")
    name: str = Field(description="The event's title.")
    startDate: date = Field(description="Its first day.")
    endDate: date = Field(description="Its last day.")


class FigureLD(_Node):
    type: Literal["PropertyValue"] = Field(alias="@type", description="Always `PropertyValue`.")
    name: str = Field(description="What the claimed figure counts (the statement's `measure`).")
    minValue: float | None = Field(default=None, description="Lowest value claimed (`value_low`).")
    value: float | None = Field(default=None, description="The figure claimed (`value_best`).")
    maxValue: float | None = Field(default=None, description="Highest value claimed (`value_high`).")
    unitText: str | None = Field(default=None, description="The unit (`unit`).")


class ClaimNodeLD(_Node):
    type: Literal["Claim"] = Field(alias="@type", description="Always `Claim`.")
    id: str = Field(alias="@id", description="The statement's address in this API.")
    identifier: int = Field(description="The statement's id.")
    text: str = Field(description="What was said (the statement's `text`).")
    datePublished: date = Field(description="When it was said (`stated_on`).")
    author: AgentLD = Field(description="Who said it (the speaker).")
    appearance: AppearanceLD | None = Field(
        default=None, description="The document it was published or reported in; absent without one."
    )
    about: list[EventLD | FigureLD] = Field(
        description="The event it is about (if any) and the claimed figures (if any)."
    )
    mentions: list[AgentLD] = Field(description="The actors it is about.")


class ClaimLD(ClaimNodeLD):
    """A statement as a schema.org `Claim`."""

    context: Literal["https://schema.org"] = Field(
        alias="@context", description="Always `https://schema.org`."
    )


class ListItemLD(_Node):
    type: Literal["ListItem"] = Field(alias="@type", description="Always `ListItem`.")
    position: int = Field(description="1, 2, … in the order of the claims answer.")
    item: ClaimNodeLD = Field(description="The claim.")


class EventClaimsLD(_Node):
    """An event's quantitative claims as a schema.org `ItemList` of `Claim`s."""

    context: Literal["https://schema.org"] = Field(
        alias="@context", description="Always `https://schema.org`."
    )
    type: Literal["ItemList"] = Field(alias="@type", description="Always `ItemList`.")
    id: str = Field(alias="@id", description="This answer's address.")
    about: EventLD = Field(description="The event.")
    numberOfItems: int = Field(description="How many claims there are.")
    itemListElement: list[ListItemLD] = Field(description="The claims, in the order of the claims answer.")


def _url(scope: Scope, resource: str, row_id: int) -> str:
    return service_url(scope, f"/v1/{resource}/{row_id}")


def _events(session: Session, scope: Scope, ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        sa.select(EVENT.c.id, EVENT.c.title, EVENT.c.start_date, EVENT.c.end_date).where(
            any_of(EVENT.c.id, ids)
        )
    )
    return {
        row.id: {
            "@type": "Event",
            "@id": _url(scope, "events", row.id),
            "name": row.title,
            "startDate": row.start_date.isoformat(),
            "endDate": row.end_date.isoformat(),
        }
        for row in rows
    }


def claims(session: Session, scope: Scope, statement_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The `Claim` of each statement, in the order given, without `@context`: one query for
    the statements with their speakers, documents and sources, one for the mentions, one for
    the events."""
    if not statement_ids:
        return []
    rows = {
        row.id: row
        for row in session.execute(
            sa.select(
                STATEMENT.c.id,
                STATEMENT.c.text,
                STATEMENT.c.stated_on,
                STATEMENT.c.event_id,
                STATEMENT.c.measure,
                STATEMENT.c.value_low,
                STATEMENT.c.value_best,
                STATEMENT.c.value_high,
                STATEMENT.c.unit,
                ACTOR.c.id.label("speaker_id"),
                ACTOR.c.name.label("speaker_name"),
                ACTOR.c.kind.label("speaker_kind"),
                DOCUMENT.c.id.label("document_id"),
                DOCUMENT.c.title.label("document_title"),
                DOCUMENT.c.url.label("document_url"),
                DOCUMENT.c.published_on,
                SOURCE.c.id.label("source_id"),
                SOURCE.c.name.label("source_name"),
            )
            .join(ACTOR, ACTOR.c.id == STATEMENT.c.speaker_id)
            .outerjoin(DOCUMENT, DOCUMENT.c.id == STATEMENT.c.document_id)
            .outerjoin(SOURCE, SOURCE.c.id == DOCUMENT.c.source_id)
            .where(any_of(STATEMENT.c.id, list(statement_ids)))
        )
    }
    mentions: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(
        sa.select(MENTION.c.statement_id, ACTOR.c.id, ACTOR.c.name, ACTOR.c.kind)
        .join(ACTOR, ACTOR.c.id == MENTION.c.actor_id)
        .where(any_of(MENTION.c.statement_id, list(statement_ids)))
        .order_by(MENTION.c.statement_id, MENTION.c.position, MENTION.c.actor_id)
    ):
        mentions.setdefault(row.statement_id, []).append(_agent(scope, row.id, row.name, row.kind))
    event_ids = distinct_ids(row.event_id for row in rows.values())
    events = _events(session, scope, event_ids) if event_ids else {}
    return [_claim(scope, rows[i], events, mentions.get(i, [])) for i in statement_ids]


def _agent(scope: Scope, actor_id: int, name: str, kind: str) -> dict[str, Any]:
    return {
        "@type": "Person" if kind == ActorKind.person.value else "Organization",
        "@id": _url(scope, "actors", actor_id),
        "identifier": actor_id,
        "name": name,
    }


def _claim(
    scope: Scope, row: Any, events: dict[int, dict[str, Any]], mentions: list[dict[str, Any]]
) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "@type": "Claim",
        "@id": _url(scope, "statements", row.id),
        "identifier": row.id,
        "text": row.text,
        "datePublished": row.stated_on.isoformat(),
        "author": _agent(scope, row.speaker_id, row.speaker_name, row.speaker_kind),
    }
    if row.document_id is not None:
        appearance: dict[str, Any] = {
            "@type": "CreativeWork",
            "@id": _url(scope, "documents", row.document_id),
        }
        if row.document_url:
            appearance["url"] = row.document_url
        appearance["name"] = row.document_title
        if row.published_on:
            appearance["datePublished"] = row.published_on.isoformat()
        appearance["publisher"] = {
            "@type": "Organization",
            "@id": _url(scope, "sources", row.source_id),
            "name": row.source_name,
        }
        claim["appearance"] = appearance
    about: list[dict[str, Any]] = [events[row.event_id]] if row.event_id in events else []
    if row.measure is not None:
        figure: dict[str, Any] = {"@type": "PropertyValue", "name": row.measure}
        for key, value in (
            ("minValue", row.value_low),
            ("value", row.value_best),
            ("maxValue", row.value_high),
        ):
            if value is not None:
                figure[key] = value
        if row.unit is not None:
            figure["unitText"] = row.unit
        about.append(figure)
    claim["about"] = about
    claim["mentions"] = mentions
    return claim


def claim_document(session: Session, scope: Scope, statement_id: int) -> dict[str, Any]:
    """One statement as a JSON-LD document (`ClaimLD`)."""
    return {"@context": SCHEMA_ORG, **claims(session, scope, [statement_id])[0]}


def event_claims_document(
    session: Session, scope: Scope, event_id: int, statement_ids: Sequence[int]
) -> dict[str, Any]:
    """An event's claims as a JSON-LD `ItemList` (`EventClaimsLD`)."""
    return {
        "@context": SCHEMA_ORG,
        "@type": "ItemList",
        "@id": service_url(scope, f"/v1/events/{event_id}/claims"),
        "about": _events(session, scope, [event_id])[event_id],
        "numberOfItems": len(statement_ids),
        "itemListElement": [
            {"@type": "ListItem", "position": position, "item": claim}
            for position, claim in enumerate(claims(session, scope, statement_ids), start=1)
        ],
    }

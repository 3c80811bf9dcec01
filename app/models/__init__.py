"""Table classes; importing this module registers every table on the metadata."""

from app.models.actor import Actor, ActorAlias
from app.models.event import Citation, Event, EventActor
from app.models.ops import ApiKey, Change
from app.models.source import Document, Source
from app.models.statement import Statement, StatementMention

__all__ = [
    "Actor",
    "ActorAlias",
    "ApiKey",
    "Change",
    "Citation",
    "Document",
    "Event",
    "EventActor",
    "Source",
    "Statement",
    "StatementMention",
]

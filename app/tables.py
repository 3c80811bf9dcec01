"""Every table; importing this module registers them all on the metadata (Alembic, tests)."""

from app.actors.model import Actor, ActorAlias
from app.auth.model import ApiKey
from app.events.model import Citation, Event, EventActor, EventRelation, PendingEventForm, StoredEventForm
from app.feed.model import Change
from app.history.mirrors import HISTORY_OF
from app.history.model import HistoryStart, Version
from app.kit.model import SharedAnswer
from app.ratelimit.model import RateLimitWindow
from app.sources.model import Document, Source, SourceAlias
from app.statements.model import Statement, StatementMention

__all__ = [
    "HISTORY_OF",
    "Actor",
    "ActorAlias",
    "ApiKey",
    "Change",
    "Citation",
    "Document",
    "Event",
    "EventActor",
    "EventRelation",
    "HistoryStart",
    "PendingEventForm",
    "RateLimitWindow",
    "SharedAnswer",
    "Source",
    "SourceAlias",
    "Statement",
    "StatementMention",
    "StoredEventForm",
    "Version",
]

"""The write rules of every resource, applied to a batch of records at once.

The dataset loader, the UCDP importer and the HTTP `POST`/`PATCH` handlers all call these
functions, so a record is judged by one set of rules however it arrives. Each function checks a
whole batch with a constant number of queries (the importer writes thousands of rows a second),
compares every record with the stored row so that an identical record writes nothing, and
queues a change-feed entry for each row it creates or alters.
"""

from app.services.records.actors import save_actors
from app.services.records.base import CREATED, UNCHANGED, UPDATED, Item, RecordError
from app.services.records.events import EVENT_LINK_FIELDS, save_events
from app.services.records.sources import save_documents, save_sources
from app.services.records.statements import save_statements

__all__ = [
    "CREATED",
    "EVENT_LINK_FIELDS",
    "UNCHANGED",
    "UPDATED",
    "Item",
    "RecordError",
    "save_actors",
    "save_documents",
    "save_events",
    "save_sources",
    "save_statements",
]

"""Writes history with the change feed's entries, in the writing transaction.

Registered as a commit hook of `app.feed.changes`, which runs it just before a transaction
commits, after the feed's lock on PostgreSQL and with the instant and author the change rows
get: every path that writes (POST/PATCH/DELETE, `/v1/load`, the importer, the command line)
queues its changes there, so none can commit without its history, and a rolled-back write
leaves none. Set-based: one statement per table and resource, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors.read import ACTOR_DETAIL
from app.db.base import UTCDateTime, any_of, table_of
from app.db.bulk import bulk_insert
from app.events.read import EVENTS
from app.feed.changes import COMMIT_HOOKS, Pending
from app.history.mirrors import HISTORY_OF, VALID_FROM, VALID_TO, VERSIONED, Versioned
from app.history.model import Version
from app.kit.read import ReadForm, encode
from app.sources.read import DOCUMENTS, SOURCES
from app.statements.read import STATEMENTS

# The single read form of each resource: what `GET /v1/{resource}/{id}` answers.
READ_FORMS: dict[str, ReadForm] = {
    "sources": SOURCES,
    "documents": DOCUMENTS,
    "actors": ACTOR_DETAIL,
    "events": EVENTS,
    "statements": STATEMENTS,
}
VERSIONS = table_of(Version)
CHUNK = 5_000
# Session.info key: the session's versions are recorded without their read form (`data` null),
# which the history route rebuilds from the mirrors as of the version when it is asked for, as
# it does for the versions recorded when history began. For bulk loads (the importer): reading
# back and encoding the read form of every row written was a sixth of an import's time, and
# most imported versions are never asked for.
DEFERRED_READ_FORMS = "history_deferred_read_forms"


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# PostgreSQL: a transaction writing this many versions checks whether the versions table has
# outgrown its statistics (see `_keep_statistics_current`); a single write never does.
CHECK_STATISTICS_FROM = 100
# ... and analyzes it when the rows written since its last ANALYZE exceed this plus its size then.
STALE_ROWS = 500
STALE_STATISTICS = sa.text(
    "SELECT s.n_mod_since_analyze + :written > :slack + greatest(c.reltuples, 0)"
    " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.relid = CAST(:table AS regclass)"
)


def write_history(session: Session, pending: Pending, now: datetime, author: str | None) -> None:
    session.flush()  # ORM deletes and updates must reach the tables before they are copied
    deferred = bool(session.info.get(DEFERRED_READ_FORMS))
    by_resource: dict[str, tuple[list[int], list[int], set[int]]] = {}
    for (resource, row_id), (_, op, created) in pending.items():
        upserts, deletes, fresh = by_resource.setdefault(resource, ([], [], set()))
        (deletes if op == "delete" else upserts).append(row_id)
        if created and op != "delete":
            fresh.add(row_id)
    for resource, (upserts, deletes, fresh) in by_resource.items():
        versioned = VERSIONED[resource]
        fresh = _without_history(session, resource, versioned, fresh)
        for part in _chunks(upserts):
            # rows this transaction created have no open version to close (in a fresh import,
            # closing and looking up took 11 of the server's 145 µs per row, finding nothing)
            _close_mirrors(session, versioned, [i for i in part if i not in fresh], now)
            _copy_mirrors(session, versioned, part, now)
        for part in _chunks(deletes):
            _close_mirrors(session, versioned, part, now)
        for part in _chunks(upserts):
            _new_versions(
                session, resource, part, now, author, deleting=False, deferred=deferred, fresh=fresh
            )
        for part in _chunks(deletes):
            _new_versions(session, resource, part, now, author, deleting=True)
    _keep_statistics_current(session, len(pending))


def _keep_statistics_current(session: Session, written: int) -> None:
    """ANALYZE the versions table, in this transaction, once it has about doubled since its
    last ANALYZE, so the next transaction's lookup of open versions is planned for its size.

    Bulk loads (the importer's batches, `POST /v1/load`, the benchmark's generator) write
    thousands of versions per transaction, faster than autovacuum (once a minute) analyzes:
    planned with the statistics of an empty table, PostgreSQL looked up a batch's open versions
    by walking every open version of the resource and filtering by row (10 of 22 s of an import
    of 20,000 rows, growing with the square of the import). ANALYZE counts this transaction's
    own rows, and the check is one catalog row."""
    if written < CHECK_STATISTICS_FROM or session.get_bind().dialect.name != "postgresql":
        return
    stale = session.execute(
        STALE_STATISTICS, {"written": written, "slack": STALE_ROWS, "table": VERSIONS.name}
    ).scalar()
    if stale:
        session.execute(sa.text(f"ANALYZE {VERSIONS.name}"))


def _without_history(session: Session, resource: str, versioned: Versioned, created: set[int]) -> set[int]:
    """The rows of `created` that no version or mirror row can name: those above every row id
    the history holds. A row this transaction created normally has none, but an id can be
    handed out again (a table emptied and its sequence reset, as a restore does) while its
    history stays. One look at the end of each index, whatever the batch size."""
    if not created:
        return created
    highest = [
        sa.select(sa.func.max(VERSIONS.c.row_id)).where(VERSIONS.c.resource == resource).scalar_subquery(),
        *(
            sa.select(sa.func.max(HISTORY_OF[table.name].c[owner])).scalar_subquery()
            for table, owner in _tables(versioned)
        ),
    ]
    row = session.execute(sa.select(*highest)).one()
    above = max((value for value in row if value is not None), default=0)
    return {row_id for row_id in created if row_id > above}


def _tables(versioned: Versioned) -> list[tuple[sa.Table, str]]:
    return [(versioned.table, "id"), *((owned.table, owned.owner) for owned in versioned.owned)]


def _close_mirrors(session: Session, versioned: Versioned, ids: Sequence[int], now: datetime) -> None:
    if not ids:
        return
    for table, owner in _tables(versioned):
        mirror = HISTORY_OF[table.name]
        session.execute(
            sa.update(mirror)
            .where(any_of(mirror.c[owner], ids), mirror.c[VALID_TO].is_(None))
            .values({VALID_TO: now})
        )


def _copy_mirrors(session: Session, versioned: Versioned, ids: Sequence[int], now: datetime) -> None:
    for table, owner in _tables(versioned):
        names = [column.name for column in table.columns]
        rows = sa.select(*table.columns, sa.literal(now, UTCDateTime()).label(VALID_FROM)).where(
            any_of(table.c[owner], ids)
        )
        session.execute(sa.insert(HISTORY_OF[table.name]).from_select([*names, VALID_FROM], rows))


def _new_versions(
    session: Session,
    resource: str,
    ids: Sequence[int],
    now: datetime,
    author: str | None,
    *,
    deleting: bool,
    deferred: bool = False,
    fresh: AbstractSet[int] = frozenset(),
) -> None:
    """Close each row's open version and add the next: `create` for a row without one, else
    `update`, or `delete` keeping the data of the version it closes. A row created and deleted
    in one transaction was never visible and gets no history. `deferred`: the new versions
    leave their read form to be rebuilt from the mirrors (see DEFERRED_READ_FORMS). `fresh`:
    rows this transaction created, which have no version yet (not looked up)."""
    stored = [row_id for row_id in ids if row_id not in fresh]
    is_open = sa.and_(
        VERSIONS.c.resource == resource, any_of(VERSIONS.c.row_id, stored), VERSIONS.c.valid_to.is_(None)
    )
    current = (
        {
            row_id: (version, data)
            for row_id, version, data in session.execute(
                sa.select(VERSIONS.c.row_id, VERSIONS.c.version, VERSIONS.c.data).where(is_open)
            )
        }
        if stored
        else {}
    )
    if current:
        session.execute(sa.update(VERSIONS).where(is_open).values(valid_to=now))
    new: list[dict[str, object]] = []

    def upserted(row_id: int, data: str | None) -> dict[str, object]:
        if row_id in current:
            return _version(resource, row_id, current[row_id][0] + 1, now, "update", author, data)
        return _version(resource, row_id, 1, now, "create", author, data)

    if deleting:
        for row_id in ids:
            if row_id in current:
                version, data = current[row_id]
                new.append(_version(resource, row_id, version + 1, now, "delete", author, data))
    elif deferred:
        new = [upserted(row_id, None) for row_id in ids]
    else:
        form = READ_FORMS[resource]
        for row in form.rows(session, form.select().where(any_of(form.table.c.id, ids))):
            new.append(upserted(int(row["id"]), encode(row).decode()))
    if new:
        bulk_insert(session, VERSIONS, new)


def _version(
    resource: str,
    row_id: int,
    version: int,
    now: datetime,
    operation: str,
    author: str | None,
    data: str | None,
) -> dict[str, object]:
    return {
        "resource": resource,
        "row_id": row_id,
        "version": version,
        "valid_from": now,
        "valid_to": None,
        "operation": operation,
        "key_name": author,
        "data": data,
    }


if write_history not in COMMIT_HOOKS:
    COMMIT_HOOKS.append(write_history)

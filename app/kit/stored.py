"""Stored read forms: a resource's rows kept encoded, so a whole-table export reads bytes.

An export that rebuilds every row's read form (its own columns, then what it embeds, then the
encoding) spends most of its time in Python, whatever the database; reading each row's form
already encoded is several times faster. The stored forms are never a source of truth:

- database triggers (see the migration that creates the tables) delete a row's stored form
  and queue the row as *pending*, in the same transaction as any change to what its form
  shows, whatever path the write took;
- a refresher (`StoredForms.refresh`, run by the server in the background and by
  `conflict-events db refresh-forms`) rebuilds pending forms with the read form's own loader
  and encoder, in batches, each in one write transaction. On PostgreSQL it holds the
  triggers' advisory lock exclusively (they take it shared), so it never stores a form
  computed before a write that commits after it; SQLite has one writer at a time;
- an export reads the stored form where the snapshot it reads holds one of the current
  `form` (a hash of the read model's schema, the CSV columns and `REVISION`), and builds the
  others as it always did. So a stored form is only ever faster, never different.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.db.session import session_factory, transaction
from app.kit.pagination import SortKey, driver_position_of, driver_rows_after
from app.kit.read import Row

if TYPE_CHECKING:
    from app.kit.export import CsvLayout

log = logging.getLogger("conflict_events.stored")

# Bump when how a stored row is written changes without the read model's schema or the CSV
# columns changing (a cell's rendering, say): every stored form of an older revision is rebuilt.
REVISION = 1
BATCH = 1000  # rows per refresher transaction: the triggers' writers wait at most this long


# How a read form is written in each stored column: `{column: bytes}` per row, in order
Encodings = Callable[[list[Row]], list[dict[str, bytes]]]


@dataclass(frozen=True)
class StoredForms:
    """The stored forms of one resource: `table` is `(<resource id>, form, <one column per
    encoding>)`, `encodings` writes a row's forms exactly as an export would (see
    `app.kit.export.stored_encodings`), `pending` holds the ids waiting for the refresher, and
    `lock_key` is the triggers' advisory lock."""

    layout: CsvLayout
    table: sa.Table
    pending: sa.Table
    lock_key: int
    encodings: Encodings
    form: str = field(init=False)

    def __post_init__(self) -> None:
        schema = orjson.dumps(
            [self.layout.form.out.model_json_schema(), self.layout.columns, REVISION],
            option=orjson.OPT_SORT_KEYS,
        )
        object.__setattr__(self, "form", hashlib.sha256(schema).hexdigest()[:16])

    @property
    def id_column(self) -> sa.Column[Any]:
        return self.table.primary_key.columns.values()[0]

    def build(self, session: Session, ids: list[int]) -> dict[int, dict[str, bytes]]:
        """`{id: {column: bytes}}` of these rows, built by the read form's own loader."""
        form = self.layout.form
        rows = form.rows(session, form.base.where(form.table.c.id.in_(ids)))
        return {row["id"]: encoded for row, encoded in zip(rows, self.encodings(rows), strict=True)}

    def due(self, engine: Engine, delay: float) -> bool:
        """Whether the refresher has work worth a write transaction: a batch of pending rows,
        or one that has waited `delay` seconds. Fewer, newer ones cost an export little to
        build, and waiting lets a burst of writes to one row rebuild its form once."""
        pending_id = self.pending.primary_key.columns.values()[0]
        cutoff = datetime.now(UTC) - timedelta(seconds=delay)
        if engine.dialect.name == "sqlite":  # CURRENT_TIMESTAMP there: UTC text, no zone
            cutoff = cutoff.replace(tzinfo=None)
        with session_factory(engine)() as session:
            full = sa.select(pending_id).order_by(pending_id).offset(BATCH - 1).limit(1)
            waited = sa.select(pending_id).where(self.pending.c.queued_at <= cutoff).limit(1)
            return any(session.execute(query).first() is not None for query in (full, waited))

    def refresh(self, engine: Engine, *, limit: int | None = None) -> int:
        """Rebuild pending forms, `BATCH` rows per transaction, until none is pending (or
        `limit` rows are done); how many rows were taken off the queue."""
        done = 0
        while limit is None or done < limit:
            taken = self._refresh_batch(engine)
            if not taken:
                break
            done += taken
        return done

    def _refresh_batch(self, engine: Engine) -> int:
        pending_id = self.pending.primary_key.columns.values()[0]
        with session_factory(engine)() as session:  # most calls find nothing: no write lock then
            if session.execute(sa.select(pending_id).limit(1)).first() is None:
                return 0
        with transaction(engine) as session:
            self._lock(session)
            ids = list(session.execute(sa.select(pending_id).order_by(pending_id).limit(BATCH)).scalars())
            self._rebuild(session, ids)
        return len(ids)

    def refresh_in_order(self, engine: Engine, key: SortKey) -> int:
        """`refresh` of every pending row, walking the rows in `key`'s order (an export's
        default order) a batch per transaction, then any left behind (queued during the walk
        at a position it had passed) as `refresh` takes them.

        A bulk of new forms is then written in the order that export reads them. At 1,000,000
        events on PostgreSQL the forms take 2.2 GB: written in id order, nearly every row of
        the export lay on another page; written in its order, consecutive rows share pages."""
        table = self.layout.form.table
        pending_id = self.pending.primary_key.columns.values()[0]
        queued = sa.select(table.c.id).where(sa.exists().where(pending_id == table.c.id))
        done = 0
        after: tuple[object, int] | None = None
        while True:
            with transaction(engine) as session:
                self._lock(session)
                rows = driver_rows_after(session, queued, key, after, BATCH)
                if not rows:
                    break
                after = driver_position_of(session, key)(rows[-1])
                self._rebuild(session, [row[0] for row in rows])
            done += len(rows)
        return done + self.refresh(engine)

    def _lock(self, session: Session) -> None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(self.lock_key)))

    def _rebuild(self, session: Session, ids: list[int]) -> None:
        """Store the current forms of these pending rows, in this order, and dequeue them."""
        if not ids:
            return
        pending_id = self.pending.primary_key.columns.values()[0]
        built = self.build(session, ids)  # rows deleted since they were queued have none
        session.execute(sa.delete(self.table).where(self.id_column.in_(ids)))
        if built:
            session.execute(
                sa.insert(self.table),
                [{self.id_column.name: i, "form": self.form, **built[i]} for i in ids if i in built],
            )
        session.execute(sa.delete(self.pending).where(pending_id.in_(ids)))

    def forget_other_forms(self, engine: Engine) -> int:
        """Queue the rows whose stored form was written by other code (another `form`), and
        drop those forms; how many. Run before refreshing, once per process."""
        form = self.table.c.form
        # two ranges of its index rather than `!=`, which neither database plans as a range
        other = sa.select(self.id_column).where(sa.or_(form < self.form, form > self.form))
        with session_factory(engine)() as session:  # usually none: then no write transaction
            if session.execute(other.limit(1)).first() is None:
                return 0
        with transaction(engine) as session:
            ids = list(session.execute(other).scalars())
            for start in range(0, len(ids), BATCH):
                part = ids[start : start + BATCH]
                session.execute(sa.delete(self.table).where(self.id_column.in_(part)))
                # rows still pending stay so; the others are queued
                queued = sa.select(self.pending.c[self.id_column.name]).where(
                    self.pending.c[self.id_column.name].in_(part)
                )
                already = set(session.execute(queued).scalars())
                fresh = [{self.id_column.name: i} for i in part if i not in already]
                if fresh:
                    session.execute(sa.insert(self.pending), fresh)
        return len(ids)

    def pending_count(self, session: Session) -> int:
        return int(session.execute(sa.select(sa.func.count()).select_from(self.pending)).scalar_one())


class Refresher:
    """The server's background refresher: one daemon thread per process, on an engine of its
    own (so nothing it runs is seen by listeners on the request engine), looking every
    `interval` seconds while the process serves, and rebuilding when `StoredForms.due` (a
    batch pending, or one pending for `delay` seconds). Errors (the database away) are logged
    and retried."""

    def __init__(self, stored: StoredForms, url: str, interval: float, delay: float) -> None:
        self.stored = stored
        self.url = url
        self.interval = interval
        self.delay = delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stored-forms", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        from app.db.session import make_engine

        # The first look comes after one interval, not at start: a process that lives for less
        # (a test's client, a one-off command) never opens a connection for it.
        if self._stop.wait(self.interval):
            return
        engine = make_engine(self.url)
        forgotten = False
        try:
            while True:
                try:
                    if not forgotten:
                        self.stored.forget_other_forms(engine)
                        forgotten = True
                    if self.stored.due(engine, self.delay):
                        self.stored.refresh(engine, limit=20 * BATCH)
                except Exception:
                    log.warning("stored forms: refresh failed; retrying", exc_info=True)
                if self._stop.wait(self.interval):
                    return
        finally:
            engine.dispose()


def stored_values(
    session: Session, stored: StoredForms, rows: list[tuple[Any, ...]], column: str
) -> list[bytes]:
    """The stored `column` of each chunk row (the driver's `(id, stored bytes, …)`), building
    the missing ones (never stored here: a read may run on a replica, or in a read-only
    transaction)."""
    missing = [row[0] for row in rows if row[1] is None]
    if not missing:
        return [row[1] for row in rows]
    built = stored.build(session, missing)
    return [row[1] if row[1] is not None else built[row[0]][column] for row in rows]

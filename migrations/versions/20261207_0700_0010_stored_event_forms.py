"""stored event forms

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:00:00.000000

Two tables and the triggers that keep them true (see `app.events.stored`):

- `stored_event_form`: an event's read form as exports write it (its JSON, its CSV line and
  its GeoJSON feature),
  written by the refresher, never by a request;
- `pending_event_form`: events whose stored form is missing or out of date, since when.

Every change to what an event's read form shows — the event row; its actors, citations and
relations; a cited document's `url` or `source_id`; a cited source's `name` or
`reliability`; a linked actor's `name` — deletes the stored forms it touches and queues the
events, in the same transaction, by trigger, whatever path the write took. On PostgreSQL the
triggers are per statement (transition tables: one call per multi-row insert of a bulk load)
and take a shared transaction-level advisory lock first; the refresher takes it exclusively,
so it never stores a form computed before a write that commits after it; a TRUNCATE of any of
these tables forgets every stored form. SQLite has one writer at a time, which gives the same,
and fires delete triggers for a `DELETE` of a whole table.

Every existing event is queued: the refresher builds the stored forms after the upgrade.

A later migration that rebuilds one of these tables on SQLite (`batch_alter_table` copies a
table whole) drops its triggers with it, and must create them again (`_create_sqlite`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# pg_advisory_xact_lock(_shared) key of the stored event forms; app.events.stored uses the same
LOCK_KEY = 7_107_100_010

CHILDREN = ("event_actor", "citation", "event_relation")  # rows owned by an event (`event_id`)
# A table whose rows read forms show: (its columns they show, the events that show a row of
# it, as a join from the changed rows `n`)
REFERENCED = {
    "document": (("url", "source_id"), "citation c", "c.document_id = n.id", "c.event_id"),
    "source": (
        ("name", "reliability"),
        "citation c JOIN document d ON d.id = c.document_id",
        "d.source_id = n.id",
        "c.event_id",
    ),
    "actor": (("name",), "event_actor a", "a.actor_id = n.id", "a.event_id"),
}
OPERATIONS = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}


def _sqlite_forget(events: str) -> str:
    return (
        f"DELETE FROM stored_event_form WHERE event_id IN ({events});\n"
        f"INSERT OR IGNORE INTO pending_event_form (event_id) {events};\n"
    )


def _sqlite_triggers() -> dict[str, str]:
    """{name: CREATE TRIGGER statement} of every SQLite trigger (row by row)."""
    triggers = {}
    for table in ("event", *CHILDREN):
        column = "id" if table == "event" else "event_id"
        for operation, rows in OPERATIONS.items():
            events = " UNION ".join(f"SELECT {row}.{column}" for row in rows)
            name = f"stored_event_form_{table}_{operation}"
            triggers[name] = (
                f"CREATE TRIGGER {name} AFTER {operation.upper()} ON {table} BEGIN\n"
                f"{_sqlite_forget(events)}END"
            )
    for table, (columns, source, join, event_id) in REFERENCED.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        events = f"SELECT {event_id} FROM {source} WHERE {join.replace('n.', 'NEW.')}"
        name = f"stored_event_form_{table}_update"
        triggers[name] = (
            f"CREATE TRIGGER {name} AFTER UPDATE ON {table} WHEN {changed} BEGIN\n"
            f"{_sqlite_forget(events)}END"
        )
    return triggers


POSTGRESQL_HELPERS = f"""
CREATE FUNCTION stored_event_form_forget(events integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM stored_event_form WHERE event_id = ANY(events);
    INSERT INTO pending_event_form (event_id)
        SELECT DISTINCT unnest(events) ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION stored_event_form_lock() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock_shared({LOCK_KEY});
$$;

CREATE FUNCTION stored_event_form_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stored_event_form_lock();
    DELETE FROM stored_event_form;
    INSERT INTO pending_event_form (event_id) SELECT id FROM event ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
"""


def _postgresql_function(table: str) -> str:
    """The trigger function of one table: the lock first (always: see the docstring), then
    the events its changed rows touch."""
    if table in REFERENCED:
        columns, source, join, event_id = REFERENCED[table]
        changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in columns)
        forget = (
            f"PERFORM stored_event_form_forget(ARRAY(SELECT {event_id} FROM {source}"
            f" JOIN new_rows n ON {join} JOIN old_rows o ON o.id = n.id WHERE {changed}));"
        )
    else:  # each branch names only the transition tables its trigger has
        column = "id" if table == "event" else "event_id"
        forget = (
            f"IF TG_OP = 'INSERT' THEN\n"
            f"        PERFORM stored_event_form_forget(ARRAY(SELECT {column} FROM new_rows));\n"
            f"    ELSIF TG_OP = 'DELETE' THEN\n"
            f"        PERFORM stored_event_form_forget(ARRAY(SELECT {column} FROM old_rows));\n"
            f"    ELSE\n"
            f"        PERFORM stored_event_form_forget(\n"
            f"            ARRAY(SELECT {column} FROM new_rows UNION SELECT {column} FROM old_rows));\n"
            f"    END IF;"
        )
    return f"""
CREATE FUNCTION stored_event_form_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stored_event_form_lock();
    {forget}
    RETURN NULL;
END $$;
"""


def _postgresql_triggers(table: str) -> list[str]:
    """Statement-level triggers with transition tables (one per operation: a trigger with
    transition tables cannot fire on several)."""
    operations = ("update",) if table in REFERENCED else tuple(OPERATIONS)
    statements = []
    for operation in operations:
        tables = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows"}.get(
            operation, "OLD TABLE AS old_rows NEW TABLE AS new_rows"
        )
        statements.append(
            f"CREATE TRIGGER stored_event_form_{table}_{operation} AFTER {operation.upper()} ON {table}"
            f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION stored_event_form_{table}()"
        )
    # TRUNCATE fires no delete trigger; it forgets every stored form (ids may be reused after it)
    statements.append(
        f"CREATE TRIGGER stored_event_form_{table}_truncate AFTER TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION stored_event_form_truncated()"
    )
    return statements


TABLES = ("event", *CHILDREN, *REFERENCED)


def upgrade() -> None:
    op.create_table('stored_event_form',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('form', sa.String(length=16), nullable=False),
    sa.Column('as_json', sa.LargeBinary(), nullable=False),
    sa.Column('as_csv', sa.LargeBinary(), nullable=False),
    sa.Column('as_geojson', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_stored_event_form'))
    )
    op.create_table('pending_event_form',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_pending_event_form'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_HELPERS)
        for table in TABLES:
            op.execute(_postgresql_function(table))
            for statement in _postgresql_triggers(table):
                op.execute(statement)
    else:
        for statement in _sqlite_triggers().values():
            op.execute(statement)
    op.execute("INSERT INTO pending_event_form (event_id) SELECT id FROM event")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP FUNCTION stored_event_form_{table}() CASCADE")  # and its triggers
        op.execute("DROP FUNCTION stored_event_form_truncated() CASCADE")
        op.execute("DROP FUNCTION stored_event_form_forget(integer[])")
        op.execute("DROP FUNCTION stored_event_form_lock()")
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('pending_event_form')
    op.drop_table('stored_event_form')

"""embedded row order indexes: an event's actors and citations in their stored order

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:10:00.000000

Every read of events embeds its actors and citations in their `position` order. With indexes
led by `(event_id, position)` the database reads them in that order, instead of collecting a
page's or an export chunk's rows and sorting them; the actors' index holds every column read,
so they come from the index alone.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('event_actor', schema=None) as batch_op:
        batch_op.create_index(
            'ix_event_actor_event_id_position', ['event_id', 'position', 'actor_id', 'role'], unique=False
        )

    with op.batch_alter_table('citation', schema=None) as batch_op:
        batch_op.create_index('ix_citation_event_id_position_id', ['event_id', 'position', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('citation', schema=None) as batch_op:
        batch_op.drop_index('ix_citation_event_id_position_id')

    with op.batch_alter_table('event_actor', schema=None) as batch_op:
        batch_op.drop_index('ix_event_actor_event_id_position')

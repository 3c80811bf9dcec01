"""history mirrors of event relations and source aliases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000

The history mirrors (see 0007) of the two tables 0008 added, so that reads as of an instant
can embed an event's relations and a source's aliases. Both tables are empty when 0008 runs,
so the mirrors start empty too: a row added later is mirrored by the service when it is
written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_relation_history',
    sa.Column('history_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('related_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('history_id', name=op.f('pk_event_relation_history'))
    )
    with op.batch_alter_table('event_relation_history', schema=None) as batch_op:
        batch_op.create_index('ix_event_relation_history_event_id_position_related_id_type', ['event_id', 'position', 'related_id', 'type'], unique=False)
        batch_op.create_index('ix_event_relation_history_id', ['id'], unique=False)
        batch_op.create_index('ix_event_relation_history_related_id_event_id_type', ['related_id', 'event_id', 'type'], unique=False)

    op.create_table('source_alias_history',
    sa.Column('history_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('alias_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('history_id', name=op.f('pk_source_alias_history'))
    )
    with op.batch_alter_table('source_alias_history', schema=None) as batch_op:
        batch_op.create_index('ix_source_alias_history_alias_key', ['alias_key'], unique=False)
        batch_op.create_index('ix_source_alias_history_id', ['id'], unique=False)
        batch_op.create_index('ix_source_alias_history_source_id_position_alias', ['source_id', 'position', 'alias'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('source_alias_history', schema=None) as batch_op:
        batch_op.drop_index('ix_source_alias_history_source_id_position_alias')
        batch_op.drop_index('ix_source_alias_history_id')
        batch_op.drop_index('ix_source_alias_history_alias_key')

    op.drop_table('source_alias_history')
    with op.batch_alter_table('event_relation_history', schema=None) as batch_op:
        batch_op.drop_index('ix_event_relation_history_related_id_event_id_type')
        batch_op.drop_index('ix_event_relation_history_id')
        batch_op.drop_index('ix_event_relation_history_event_id_position_related_id_type')

    op.drop_table('event_relation_history')

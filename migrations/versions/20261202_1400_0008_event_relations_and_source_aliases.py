"""event relations and source aliases

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00.000000

Two new tables, empty after the upgrade (existing rows are untouched): `event_relation` (how an
event stands to another: part_of, follows, precedes, responds_to, related), owned by the event
that holds it and blocking the deletion of the one it points at; and `source_alias`, other
names of a source, unique case-insensitively like actor aliases. Both carry indexes led by the
owner and position, so the read forms embed them in order from the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_relation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('related_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("type IN ('part_of', 'follows', 'precedes', 'responds_to', 'related')", name=op.f('ck_event_relation_type')),
    sa.CheckConstraint('related_id <> event_id', name=op.f('ck_event_relation_not_self')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_relation_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['related_id'], ['event.id'], name=op.f('fk_event_relation_related_id_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_relation')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('event_relation', schema=None) as batch_op:
        batch_op.create_index('ix_event_relation_event_id_position', ['event_id', 'position', 'related_id', 'type'], unique=False)
        batch_op.create_index('ix_event_relation_related_id_event_id', ['related_id', 'event_id', 'type'], unique=False)

    op.create_table('source_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('alias_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('length(alias) >= 1', name=op.f('ck_source_alias_alias_not_empty')),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_source_alias_source_id_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_alias')),
    sa.UniqueConstraint('alias_key', name=op.f('uq_source_alias_alias_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('source_alias', schema=None) as batch_op:
        batch_op.create_index('ix_source_alias_source_id_position', ['source_id', 'position', 'alias'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('source_alias', schema=None) as batch_op:
        batch_op.drop_index('ix_source_alias_source_id_position')

    op.drop_table('source_alias')
    with op.batch_alter_table('event_relation', schema=None) as batch_op:
        batch_op.drop_index('ix_event_relation_related_id_event_id')
        batch_op.drop_index('ix_event_relation_event_id_position')

    op.drop_table('event_relation')

"""drop api_key.last_used_at: nothing ever wrote it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:10:00.000000

Recording the last use of a key would be a write on every authenticated read; the column was
declared for it and never filled, so it promised information it did not hold.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')


def downgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))

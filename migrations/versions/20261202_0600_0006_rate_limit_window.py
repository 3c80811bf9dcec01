"""rate limit window: the rate limits' counters, when they are kept in the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:00:00.000000

One row per bucket (an API key's hash, a client address) and fixed window, keyed window first
so that windows gone by are deleted as one range. PostgreSQL keeps the table UNLOGGED: a counter
that lives a minute needs no WAL record per request, and a crash only forgets the counts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_window',
        sa.Column('window_start', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('bucket', sa.String(length=100), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('window_start', 'bucket', name=op.f('pk_rate_limit_window')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE rate_limit_window SET UNLOGGED')


def downgrade() -> None:
    op.drop_table('rate_limit_window')

"""shared answer: expensive answers computed by one worker, for the others

One row per question (a hash of path and query) with its newest answer and the data version it
was computed from (`app.kit.answers.SharedAnswers`). PostgreSQL keeps the table UNLOGGED: a
cache needs no WAL record, and a crash merely empties it. SQLite has the table and does not use
it (its workers share one host and one write lock, which a read should not queue for).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'shared_answer',
        sa.Column('question', sa.String(length=64), nullable=False),
        sa.Column('version', sa.String(length=100), nullable=False),
        sa.Column('etag', sa.String(length=100), nullable=False),
        sa.Column('next_cursor', sa.Text(), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('question', name=op.f('pk_shared_answer')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE shared_answer SET UNLOGGED')


def downgrade() -> None:
    op.drop_table('shared_answer')

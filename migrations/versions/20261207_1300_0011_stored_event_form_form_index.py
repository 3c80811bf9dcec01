"""stored event forms: an index on `form`

The refresher asks once per process whether any stored form was written by other code (another
`form`: the code changed since). Without an index that question reads the whole table (350 ms
warm for 1,000,000 events on PostgreSQL, seconds cold), in every worker, at every start; with
it, two index range probes (`form < :current OR form > :current`) answer at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_stored_event_form_form', 'stored_event_form', ['form'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stored_event_form_form', table_name='stored_event_form')

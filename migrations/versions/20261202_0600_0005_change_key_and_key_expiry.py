"""change.key_name: the key that made each change; api_key.expires_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00.000000

Both columns are nullable: changes recorded before this revision have no author, and a key
without an expiry never expires.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_name', sa.String(length=200), nullable=True))
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.drop_column('key_name')

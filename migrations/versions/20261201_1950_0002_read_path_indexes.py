"""read path indexes: index-only facet joins and contested claims

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:50:00.000000

Each new index extends one it replaces by the columns a grouped read needs, so that read is
answered from the index alone; the replaced index's queries are served by the new one's prefix.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('citation', schema=None) as batch_op:
        batch_op.create_index('ix_citation_document_id_event_id', ['document_id', 'event_id'], unique=False)
        batch_op.drop_index('ix_citation_document_id')

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_source_id_id', ['source_id', 'id'], unique=False)
        batch_op.drop_index('ix_document_source_id')

    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.create_index(
            'ix_statement_event_id_measure_unit_values',
            ['event_id', 'measure', 'unit', 'value_low', 'value_best', 'value_high'],
            unique=False,
        )
        batch_op.drop_index('ix_statement_event_id_measure')


def downgrade() -> None:
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.create_index('ix_statement_event_id_measure', ['event_id', 'measure'], unique=False)
        batch_op.drop_index('ix_statement_event_id_measure_unit_values')

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_source_id'), ['source_id'], unique=False)
        batch_op.drop_index('ix_document_source_id_id')

    with op.batch_alter_table('citation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citation_document_id'), ['document_id'], unique=False)
        batch_op.drop_index('ix_citation_document_id_event_id')

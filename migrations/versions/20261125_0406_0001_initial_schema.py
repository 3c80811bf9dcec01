"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 04:06:55.883340
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('actor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('name_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.CheckConstraint("kind IN ('state', 'government_body', 'armed_force', 'armed_group', 'alliance', 'international_organization', 'political_group', 'person', 'civilian_group', 'media', 'other')", name=op.f('ck_actor_kind')),
    sa.CheckConstraint('length(name) >= 1', name=op.f('ck_actor_name_not_empty')),
    sa.CheckConstraint('parent_id IS NULL OR parent_id <> id', name=op.f('ck_actor_not_own_parent')),
    sa.ForeignKeyConstraint(['parent_id'], ['actor.id'], name=op.f('fk_actor_parent_id_actor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actor')),
    sa.UniqueConstraint('name_key', name=op.f('uq_actor_name_key')),
    sa.UniqueConstraint('ref', name=op.f('uq_actor_ref')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('actor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actor_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_actor_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_actor_name_key_id', ['name_key', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actor_parent_id'), ['parent_id'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("scope IN ('read', 'write')", name=op.f('ck_api_key_scope')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_key_name')),
    sqlite_autoincrement=True
    )
    op.create_table('change',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('op', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("op IN ('upsert', 'delete')", name=op.f('ck_change_op')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_change')),
    sqlite_autoincrement=True
    )
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('date_precision', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('admin1', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('geo_precision', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('fatalities_low', sa.Integer(), nullable=True),
    sa.Column('fatalities_best', sa.Integer(), nullable=True),
    sa.Column('fatalities_high', sa.Integer(), nullable=True),
    sa.CheckConstraint("date_precision IN ('day', 'week', 'month', 'year')", name=op.f('ck_event_date_precision')),
    sa.CheckConstraint("geo_precision IS NULL OR geo_precision IN ('exact', 'near', 'admin2', 'admin1', 'country')", name=op.f('ck_event_geo_precision')),
    sa.CheckConstraint("type IN ('armed_clash', 'remote_violence', 'ground_offensive', 'violence_against_civilians', 'military_exercise', 'troop_deployment', 'weapons_transfer', 'protest', 'riot', 'defection', 'diplomatic', 'other')", name=op.f('ck_event_type')),
    sa.CheckConstraint('(latitude IS NULL) = (longitude IS NULL)', name=op.f('ck_event_coordinates_paired')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_event_date_order')),
    sa.CheckConstraint('fatalities_best IS NULL OR fatalities_best >= 0', name=op.f('ck_event_fatalities_best_positive')),
    sa.CheckConstraint('fatalities_best IS NULL OR fatalities_high IS NULL OR fatalities_best <= fatalities_high', name=op.f('ck_event_fatalities_best_high')),
    sa.CheckConstraint('fatalities_high IS NULL OR fatalities_high >= 0', name=op.f('ck_event_fatalities_high_positive')),
    sa.CheckConstraint('fatalities_low IS NULL OR fatalities_best IS NULL OR fatalities_low <= fatalities_best', name=op.f('ck_event_fatalities_low_best')),
    sa.CheckConstraint('fatalities_low IS NULL OR fatalities_high IS NULL OR fatalities_low <= fatalities_high', name=op.f('ck_event_fatalities_low_high')),
    sa.CheckConstraint('fatalities_low IS NULL OR fatalities_low >= 0', name=op.f('ck_event_fatalities_low_positive')),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_event_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_event_longitude_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('ref', name=op.f('uq_event_ref')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_country_start_date', ['country', 'start_date'], unique=False)
        batch_op.create_index('ix_event_end_date_start_date', ['end_date', 'start_date'], unique=False)
        batch_op.create_index('ix_event_fatalities_best_id', ['fatalities_best', 'id'], unique=False)
        batch_op.create_index('ix_event_longitude_latitude', ['longitude', 'latitude'], unique=False)
        batch_op.create_index('ix_event_start_date_id', ['start_date', 'id'], unique=False)
        batch_op.create_index('ix_event_type_start_date', ['type', 'start_date'], unique=False)
        batch_op.create_index('ix_event_updated_at_id', ['updated_at', 'id'], unique=False)

    op.create_table('source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('name_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reliability', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.CheckConstraint("kind IN ('news_outlet', 'news_agency', 'government', 'military', 'international_organization', 'ngo', 'research', 'social_media', 'individual', 'other')", name=op.f('ck_source_kind')),
    sa.CheckConstraint("reliability IN ('A', 'B', 'C', 'D', 'E', 'F')", name=op.f('ck_source_reliability')),
    sa.CheckConstraint('length(name) >= 1', name=op.f('ck_source_name_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source')),
    sa.UniqueConstraint('name_key', name=op.f('uq_source_name_key')),
    sa.UniqueConstraint('ref', name=op.f('uq_source_ref')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_source_name_key_id', ['name_key', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_reliability'), ['reliability'], unique=False)

    op.create_table('actor_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('alias_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('length(alias) >= 1', name=op.f('ck_actor_alias_alias_not_empty')),
    sa.ForeignKeyConstraint(['actor_id'], ['actor.id'], name=op.f('fk_actor_alias_actor_id_actor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actor_alias')),
    sa.UniqueConstraint('alias_key', name=op.f('uq_actor_alias_alias_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('actor_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actor_alias_actor_id'), ['actor_id'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
    sa.CheckConstraint('length(title) >= 1', name=op.f('ck_document_title_not_empty')),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_document_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
    sa.UniqueConstraint('ref', name=op.f('uq_document_ref')),
    sa.UniqueConstraint('url', name=op.f('uq_document_url')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_published_on_id', ['published_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_source_id'), ['source_id'], unique=False)

    op.create_table('event_actor',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("role IN ('side_a', 'side_b', 'participant', 'supporter', 'host')", name=op.f('ck_event_actor_role')),
    sa.ForeignKeyConstraint(['actor_id'], ['actor.id'], name=op.f('fk_event_actor_actor_id_actor')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_actor_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'actor_id', 'role', name=op.f('pk_event_actor'))
    )
    with op.batch_alter_table('event_actor', schema=None) as batch_op:
        batch_op.create_index('ix_event_actor_actor_id_role_event_id', ['actor_id', 'role', 'event_id'], unique=False)

    op.create_table('citation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('credibility', sa.Integer(), nullable=False),
    sa.Column('excerpt', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('credibility >= 1 AND credibility <= 6', name=op.f('ck_citation_credibility')),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_citation_document_id_document')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_citation_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citation')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('citation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citation_document_id'), ['document_id'], unique=False)
        batch_op.create_index('ix_citation_event_id_document_id', ['event_id', 'document_id'], unique=False)

    op.create_table('statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('speaker_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('stated_on', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('is_quote', sa.Boolean(), nullable=False),
    sa.Column('credibility', sa.Integer(), nullable=False),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('value_low', sa.Float(), nullable=True),
    sa.Column('value_best', sa.Float(), nullable=True),
    sa.Column('value_high', sa.Float(), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.CheckConstraint("kind IN ('announcement', 'assessment', 'claim', 'denial', 'warning', 'threat', 'accusation', 'commitment', 'other')", name=op.f('ck_statement_kind')),
    sa.CheckConstraint('credibility >= 1 AND credibility <= 6', name=op.f('ck_statement_credibility')),
    sa.CheckConstraint('length(text) >= 1', name=op.f('ck_statement_text_not_empty')),
    sa.CheckConstraint('measure IS NOT NULL OR (value_low IS NULL AND value_best IS NULL AND value_high IS NULL)', name=op.f('ck_statement_value_needs_measure')),
    sa.CheckConstraint('value_best IS NULL OR value_high IS NULL OR value_best <= value_high', name=op.f('ck_statement_value_best_high')),
    sa.CheckConstraint('value_low IS NULL OR value_best IS NULL OR value_low <= value_best', name=op.f('ck_statement_value_low_best')),
    sa.CheckConstraint('value_low IS NULL OR value_high IS NULL OR value_low <= value_high', name=op.f('ck_statement_value_low_high')),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_statement_document_id_document')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_statement_event_id_event')),
    sa.ForeignKeyConstraint(['speaker_id'], ['actor.id'], name=op.f('fk_statement_speaker_id_actor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement')),
    sa.UniqueConstraint('ref', name=op.f('uq_statement_ref')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_document_id'), ['document_id'], unique=False)
        batch_op.create_index('ix_statement_event_id_measure', ['event_id', 'measure'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_measure'), ['measure'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_speaker_id'), ['speaker_id'], unique=False)
        batch_op.create_index('ix_statement_stated_on_id', ['stated_on', 'id'], unique=False)

    op.create_table('statement_mention',
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actor.id'], name=op.f('fk_statement_mention_actor_id_actor')),
    sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], name=op.f('fk_statement_mention_statement_id_statement'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('statement_id', 'actor_id', name=op.f('pk_statement_mention'))
    )
    with op.batch_alter_table('statement_mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_mention_actor_id'), ['actor_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statement_mention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_mention_actor_id'))

    op.drop_table('statement_mention')
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_stated_on_id')
        batch_op.drop_index(batch_op.f('ix_statement_speaker_id'))
        batch_op.drop_index(batch_op.f('ix_statement_measure'))
        batch_op.drop_index(batch_op.f('ix_statement_kind'))
        batch_op.drop_index('ix_statement_event_id_measure')
        batch_op.drop_index(batch_op.f('ix_statement_document_id'))

    op.drop_table('statement')
    with op.batch_alter_table('citation', schema=None) as batch_op:
        batch_op.drop_index('ix_citation_event_id_document_id')
        batch_op.drop_index(batch_op.f('ix_citation_document_id'))

    op.drop_table('citation')
    with op.batch_alter_table('event_actor', schema=None) as batch_op:
        batch_op.drop_index('ix_event_actor_actor_id_role_event_id')

    op.drop_table('event_actor')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_source_id'))
        batch_op.drop_index('ix_document_published_on_id')

    op.drop_table('document')
    with op.batch_alter_table('actor_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actor_alias_actor_id'))

    op.drop_table('actor_alias')
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_reliability'))
        batch_op.drop_index('ix_source_name_key_id')
        batch_op.drop_index(batch_op.f('ix_source_kind'))
        batch_op.drop_index(batch_op.f('ix_source_country'))

    op.drop_table('source')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_updated_at_id')
        batch_op.drop_index('ix_event_type_start_date')
        batch_op.drop_index('ix_event_start_date_id')
        batch_op.drop_index('ix_event_longitude_latitude')
        batch_op.drop_index('ix_event_fatalities_best_id')
        batch_op.drop_index('ix_event_end_date_start_date')
        batch_op.drop_index('ix_event_country_start_date')

    op.drop_table('event')
    op.drop_table('change')
    op.drop_table('api_key')
    with op.batch_alter_table('actor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actor_parent_id'))
        batch_op.drop_index('ix_actor_name_key_id')
        batch_op.drop_index(batch_op.f('ix_actor_kind'))
        batch_op.drop_index(batch_op.f('ix_actor_country'))

    op.drop_table('actor')

"""phone_numbers: tenants' SIP numbers (DIDs) in SQL, handed out by the operator, routed by the tenant

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f'{target}.id', name=f'fk_phone_numbers_{column}_{target}', ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        'phone_numbers',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), _fk('tenant_id', 'tenants', 'CASCADE'), nullable=False),
        sa.Column('number', sa.String(20), nullable=False),
        sa.Column('label', sa.String(100), nullable=False, server_default=''),
        sa.Column('queue_id', sa.String(36), _fk('queue_id', 'queues', 'SET NULL'), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_phone_numbers'),
        sa.UniqueConstraint('number', name='uq_phone_numbers_number'),
    )
    op.create_index('ix_phone_numbers_tenant_id', 'phone_numbers', ['tenant_id'])


def downgrade() -> None:
    op.drop_index('ix_phone_numbers_tenant_id', table_name='phone_numbers')
    op.drop_table('phone_numbers')

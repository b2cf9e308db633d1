"""sip_phones: agents' own SIP phones for remote seats, and where each is registered

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sip_phones',
        sa.Column('user_id', sa.String(36), sa.ForeignKey('users.id', name='fk_sip_phones_user_id_users', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('username', sa.String(64), nullable=False),
        sa.Column('ha1', sa.String(32), nullable=False),
        sa.Column('contact', sa.String(500), nullable=True),
        sa.Column('source', sa.String(100), nullable=True),
        sa.Column('user_agent', sa.String(200), nullable=True),
        sa.Column('registered_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name='pk_sip_phones'),
        sa.UniqueConstraint('username', name='uq_sip_phones_username'),
    )


def downgrade() -> None:
    op.drop_table('sip_phones')

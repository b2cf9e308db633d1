"""outbound mail: the center's own mail (chat transcripts), queued and retried

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outbound_mail',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), sa.ForeignKey('tenants.id', name='fk_outbound_mail_tenant_id_tenants', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('conversation_id', sa.String(36),
                  sa.ForeignKey('conversations.id', name='fk_outbound_mail_conversation_id_conversations', ondelete='CASCADE'),
                  nullable=True),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('to_address', sa.String(254), nullable=False),
        sa.Column('subject', sa.String(300), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(500), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_outbound_mail'),
    )
    op.create_index('ix_outbound_mail_due', 'outbound_mail', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_outbound_mail_due', table_name='outbound_mail')
    op.drop_table('outbound_mail')

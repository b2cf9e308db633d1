"""canned replies: a tenant's saved answers, typed as /shortcut in the inbox

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'canned_replies',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), sa.ForeignKey('tenants.id', name='fk_canned_replies_tenant_id_tenants', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('shortcut', sa.String(40), nullable=False),
        sa.Column('title', sa.String(100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_canned_replies'),
        sa.UniqueConstraint('tenant_id', 'shortcut', name='uq_canned_replies_tenant_id_shortcut'),
    )


def downgrade() -> None:
    op.drop_table('canned_replies')

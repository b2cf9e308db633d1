"""index task_events by tenant, type and time: reports find the work a tenant was offered in a range

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_task_events_tenant_type_created', 'task_events', ['tenant_id', 'type', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_task_events_tenant_type_created', table_name='task_events')

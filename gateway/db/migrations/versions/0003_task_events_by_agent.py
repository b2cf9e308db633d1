"""index task_events by agent: a rebuild reads each agent's latest offer outcomes

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_task_events_agent_id_id', 'task_events', ['agent_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_task_events_agent_id_id', table_name='task_events')

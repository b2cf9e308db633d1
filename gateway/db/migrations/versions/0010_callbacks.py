"""callbacks: customers' requests to be called back, each attempt, and tasks that wait for a time

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f'{target}.id', name=f'fk_{table}_{column}_{target}', ondelete=ondelete)


def upgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('not_before', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'callbacks',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), _fk('callbacks', 'tenant_id', 'tenants', 'CASCADE'), nullable=False),
        sa.Column('conversation_id', sa.String(36), _fk('callbacks', 'conversation_id', 'conversations', 'CASCADE'),
                  nullable=False),
        sa.Column('number', sa.String(32), nullable=False),
        sa.Column('topic', sa.String(500), server_default='', nullable=False),
        sa.Column('window_from', UTCDateTime(timezone=True), nullable=True),
        sa.Column('window_to', UTCDateTime(timezone=True), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('retry_seconds', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(36), _fk('callbacks', 'task_id', 'tasks', 'SET NULL'), nullable=True),
        sa.Column('call_id', sa.String(36), nullable=True),
        sa.Column('outcome', sa.String(200), server_default='', nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_callbacks'),
    )
    op.create_index('ix_callbacks_call_id', 'callbacks', ['call_id'])
    op.create_index('ix_callbacks_tenant_state', 'callbacks', ['tenant_id', 'state'])
    op.create_table(
        'callback_attempts',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), _fk('callback_attempts', 'tenant_id', 'tenants', 'CASCADE'), nullable=False),
        sa.Column('callback_id', sa.String(36), _fk('callback_attempts', 'callback_id', 'callbacks', 'CASCADE'),
                  nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.String(36), _fk('callback_attempts', 'agent_id', 'users', 'SET NULL'), nullable=True),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('result', sa.String(16), nullable=True),
        sa.Column('sip_status', sa.Integer(), nullable=True),
        sa.Column('talk_seconds', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_callback_attempts'),
    )
    op.create_index('ix_callback_attempts_callback_id', 'callback_attempts', ['callback_id'])


def downgrade() -> None:
    op.drop_table('callback_attempts')
    op.drop_table('callbacks')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('not_before')

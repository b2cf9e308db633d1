"""agent presence kept in SQL, so routing can be rebuilt after Redis is lost

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

import gateway.db.schema

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_states',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('presence', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False, server_default=''),
    sa.Column('updated_at', gateway.db.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_states_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_states'))
    )
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('ended_at', gateway.db.schema.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('ended_at')
    op.drop_table('agent_states')

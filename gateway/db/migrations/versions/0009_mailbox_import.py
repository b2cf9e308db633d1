"""mailboxes: which mail already in the folder is imported, and a warning for the admin that
outlives the next successful read

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mailboxes') as batch:
        batch.add_column(sa.Column('import_existing', sa.String(8), nullable=False, server_default='unseen'))
        batch.add_column(sa.Column('import_upto', sa.BigInteger, nullable=True))
        batch.add_column(sa.Column('warning', sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mailboxes') as batch:
        batch.drop_column('warning')
        batch.drop_column('import_upto')
        batch.drop_column('import_existing')

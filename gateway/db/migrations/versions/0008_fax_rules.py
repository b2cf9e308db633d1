"""fax rules on mailboxes: which mail is a fax from a fax-to-email service, and how to read it

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import JSONType

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mailboxes') as batch:
        batch.add_column(sa.Column('fax_rules', JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mailboxes') as batch:
        batch.drop_column('fax_rules')

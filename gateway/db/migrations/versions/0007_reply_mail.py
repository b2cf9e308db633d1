"""outbound mail carries agents' replies: sent through the tenant's mailbox, composed in full

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_mail') as batch:
        batch.add_column(sa.Column('mailbox_id', sa.String(36), nullable=True))
        batch.add_column(sa.Column('message_id', sa.String(36), nullable=True))
        batch.add_column(sa.Column('raw_key', sa.String(255), nullable=True))
        batch.create_foreign_key('fk_outbound_mail_mailbox_id_mailboxes', 'mailboxes', ['mailbox_id'], ['id'], ondelete='SET NULL')
        batch.create_foreign_key('fk_outbound_mail_message_id_messages', 'messages', ['message_id'], ['id'], ondelete='CASCADE')
        batch.create_unique_constraint('uq_outbound_mail_message_id', ['message_id'])


def downgrade() -> None:
    with op.batch_alter_table('outbound_mail') as batch:
        batch.drop_constraint('uq_outbound_mail_message_id', type_='unique')
        batch.drop_constraint('fk_outbound_mail_message_id_messages', type_='foreignkey')
        batch.drop_constraint('fk_outbound_mail_mailbox_id_mailboxes', type_='foreignkey')
        batch.drop_column('raw_key')
        batch.drop_column('message_id')
        batch.drop_column('mailbox_id')

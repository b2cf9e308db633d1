"""mailboxes, email threads and email messages: the email channel's intake and threading

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from gateway.db.schema import JSONType, UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f'{target}.id', name=f'fk_{table}_{column}_{target}', ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        'mailboxes',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), _fk('mailboxes', 'tenant_id', 'tenants', 'CASCADE'), nullable=False),
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('address', sa.String(254), nullable=False),
        sa.Column('imap_host', sa.String(255), nullable=False),
        sa.Column('imap_port', sa.Integer(), nullable=False),
        sa.Column('imap_security', sa.String(8), nullable=False),
        sa.Column('imap_username', sa.String(255), nullable=False),
        sa.Column('imap_password', sa.String(500), nullable=False),
        sa.Column('folder', sa.String(200), server_default='INBOX', nullable=False),
        sa.Column('after_store', sa.String(8), server_default='seen', nullable=False),
        sa.Column('move_to', sa.String(200), nullable=True),
        sa.Column('smtp_host', sa.String(255), nullable=True),
        sa.Column('smtp_port', sa.Integer(), nullable=True),
        sa.Column('smtp_security', sa.String(8), nullable=True),
        sa.Column('smtp_username', sa.String(255), nullable=True),
        sa.Column('smtp_password', sa.String(500), nullable=True),
        sa.Column('queue_id', sa.String(36), _fk('mailboxes', 'queue_id', 'queues', 'SET NULL'), nullable=True),
        sa.Column('signature', sa.Text(), server_default='', nullable=False),
        sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
        sa.Column('last_uid', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('state', sa.String(16), server_default='idle', nullable=False),
        sa.Column('last_error', sa.String(500), nullable=True),
        sa.Column('last_synced_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('lease_owner', sa.String(64), nullable=True),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_mailboxes'),
        sa.UniqueConstraint('tenant_id', 'name', name='uq_mailboxes_tenant_id_name'),
    )
    op.create_table(
        'email_threads',
        sa.Column('conversation_id', sa.String(36), _fk('email_threads', 'conversation_id', 'conversations', 'CASCADE'),
                  nullable=False),
        sa.Column('tenant_id', sa.String(36), _fk('email_threads', 'tenant_id', 'tenants', 'CASCADE'), nullable=False),
        sa.Column('mailbox_id', sa.String(36), _fk('email_threads', 'mailbox_id', 'mailboxes', 'SET NULL'), nullable=True),
        sa.Column('token', sa.String(16), nullable=False),
        sa.Column('customer_address', sa.String(254), nullable=False),
        sa.Column('participants', JSONType, nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('conversation_id', name='pk_email_threads'),
        sa.UniqueConstraint('tenant_id', 'token', name='uq_email_threads_tenant_id_token'),
    )
    op.create_table(
        'email_messages',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.String(36), _fk('email_messages', 'tenant_id', 'tenants', 'CASCADE'), nullable=False),
        sa.Column('conversation_id', sa.String(36), _fk('email_messages', 'conversation_id', 'conversations', 'CASCADE'),
                  nullable=False),
        sa.Column('message_id', sa.String(36), _fk('email_messages', 'message_id', 'messages', 'CASCADE'), nullable=True),
        sa.Column('mailbox_id', sa.String(36), _fk('email_messages', 'mailbox_id', 'mailboxes', 'SET NULL'), nullable=True),
        sa.Column('direction', sa.String(3), nullable=False),
        sa.Column('rfc_message_id', sa.String(500), nullable=False),
        sa.Column('uid', sa.BigInteger(), nullable=True),
        sa.Column('raw_key', sa.String(255), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_email_messages'),
        sa.UniqueConstraint('tenant_id', 'direction', 'rfc_message_id', name='uq_email_messages_tenant_id_direction_rfc_message_id'),
    )
    op.create_index('ix_email_messages_conversation_id', 'email_messages', ['conversation_id'])
    op.create_index('ix_email_messages_tenant_rfc', 'email_messages', ['tenant_id', 'rfc_message_id'])


def downgrade() -> None:
    op.drop_table('email_messages')
    op.drop_table('email_threads')
    op.drop_table('mailboxes')

"""The SQL schema: the system of record. Alembic migrations create exactly these tables.

Every row that belongs to a business carries tenant_id; ids are UUIDv7 strings (time-ordered, so
they double as a stable pagination key and reveal nothing about other tenants' volumes).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from uuid_utils import uuid7


def new_id() -> str:
    return str(uuid7())


def first_id_at(moment: datetime) -> str:
    """The smallest id new_id could have made at `moment`: a UUIDv7 starts with its time in
    milliseconds, so `id >= first_id_at(t)` selects by time through the primary key."""
    stamp = f"{int(moment.timestamp() * 1000):012x}"
    return f"{stamp[:8]}-{stamp[8:]}-0000-0000-000000000000"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite hands back naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


tenants = sa.Table(
    "tenants",
    metadata,
    _id(),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),  # active | suspended
    sa.Column("widget_key", sa.String(64), nullable=False, unique=True),
    sa.Column("widget_secret", sa.String(128), nullable=False),  # signs visitors' user ids (HMAC)
    sa.Column("allowed_origins", JSONType, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("seat_limit", sa.Integer, nullable=False, server_default="10"),
    sa.Column("settings", JSONType, nullable=False),
    _created(),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # stored lower-case
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("is_operator", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),  # active | disabled
    sa.Column("locale", sa.String(16), nullable=False, server_default="en"),
    _created(),
)

memberships = sa.Table(
    "memberships",
    metadata,
    _id(),
    _tenant(),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),  # tenant_admin | supervisor | agent
    sa.Column("skills", JSONType, nullable=False),  # {"billing": 3, "chinese": 5}
    sa.Column("capacity", JSONType, nullable=False),  # {"voice": 1, "chat": 3, ...}
    _created(),
    sa.UniqueConstraint("tenant_id", "user_id"),
)

skills = sa.Table(
    "skills",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    _created(),
    sa.UniqueConstraint("tenant_id", "name"),
)

queues = sa.Table(
    "queues",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("settings", JSONType, nullable=False),
    _created(),
    sa.UniqueConstraint("tenant_id", "name"),
)

canned_replies = sa.Table(
    "canned_replies",
    metadata,
    _id(),
    _tenant(),
    sa.Column("shortcut", sa.String(40), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "shortcut"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("vip_tier", sa.Integer, nullable=False, server_default="0"),
    # Set when this contact was merged into another: kept so old links still resolve.
    sa.Column("merged_into_id", sa.String(36), sa.ForeignKey("contacts.id"), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_contacts_tenant_name", "tenant_id", "name"),
)

contact_identities = sa.Table(
    "contact_identities",
    metadata,
    _id(),
    _tenant(),
    sa.Column("contact_id", sa.String(36), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # email | phone | fax | visitor | external
    sa.Column("value", sa.String(320), nullable=False),  # normalised
    _created(),
    sa.UniqueConstraint("tenant_id", "kind", "value"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    _id(),
    _tenant(),
    sa.Column("contact_id", sa.String(36), sa.ForeignKey("contacts.id"), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open | pending | closed
    sa.Column("subject", sa.String(500), nullable=False, server_default=""),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=True),
    sa.Column("assignee_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("attributes", JSONType, nullable=False),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("last_message_at", UTCDateTime(), nullable=True),
    sa.Index("ix_conversations_tenant_status", "tenant_id", "status"),
    sa.Index("ix_conversations_tenant_assignee", "tenant_id", "assignee_id"),
)

messages = sa.Table(
    "messages",
    metadata,
    _id(),
    _tenant(),
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    # Supplied by the sender so that a retried send is stored once.
    sa.Column("client_id", sa.String(64), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),  # message | note | system
    sa.Column("author_type", sa.String(16), nullable=False),  # contact | agent | system
    sa.Column("author_id", sa.String(36), nullable=True),
    sa.Column("body_text", sa.Text, nullable=False, server_default=""),
    sa.Column("body_html", sa.Text, nullable=True),  # always sanitised before storing
    sa.Column("meta", JSONType, nullable=False),
    _created(),
    sa.UniqueConstraint("conversation_id", "client_id"),
    sa.Index("ix_messages_conversation_created", "conversation_id", "id"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    _id(),
    _tenant(),
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(128), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(255), nullable=False),
    _created(),
)

tasks = sa.Table(
    "tasks",
    metadata,
    _id(),
    _tenant(),
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=True),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("required_skills", JSONType, nullable=False),  # {"billing": 2}
    sa.Column("preferred_agent_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("assigned_agent_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("sla_seconds", sa.Integer, nullable=True),
    _created(),
    sa.Column("enqueued_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    # Work that must not be offered before then (a callback's window, its next attempt): it waits
    # in SQL, outside routing, until routing's sweep wakes it and clears this.
    sa.Column("not_before", UTCDateTime(), nullable=True),
    sa.Index("ix_tasks_tenant_state", "tenant_id", "state"),
)

# An agent's presence (the person's, across tenants): routing state lives in Redis, but this is
# what it is rebuilt from when Redis is lost.
agent_states = sa.Table(
    "agent_states",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("presence", sa.String(16), nullable=False),  # offline | available | away | busy
    sa.Column("reason", sa.String(200), nullable=False, server_default=""),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

task_events = sa.Table(
    "task_events",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("agent_id", sa.String(36), nullable=True),
    sa.Column("data", JSONType, nullable=False),
    _created(),
    # an agent's history: missed-offer streaks after a rebuild, per-agent reports
    sa.Index("ix_task_events_agent_id_id", "agent_id", "id"),
    # reports: the work a tenant was offered ("queued") in a time range
    sa.Index("ix_task_events_tenant_type_created", "tenant_id", "type", "created_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("conversation_id", sa.String(36), nullable=True),
    sa.Column("actor", sa.String(80), nullable=True),
    sa.Column("data", JSONType, nullable=False),
    _created(),
    sa.Index("ix_events_tenant_type_created", "tenant_id", "type", "created_at"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    _id(),
    _tenant(),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("event_types", JSONType, nullable=False),  # [] means every event
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    _created(),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    _id(),
    _tenant(),
    sa.Column("webhook_id", sa.String(36), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("event_id", Serial, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

outbound_mail = sa.Table(
    "outbound_mail",
    metadata,
    _id(),
    _tenant(),
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),  # transcript | reply
    # A reply to a customer goes out through the tenant's mailbox, composed in full (raw_key);
    # message_id is the agent's message it carries, marked when it can't be delivered.
    sa.Column("mailbox_id", sa.String(36), sa.ForeignKey("mailboxes.id", ondelete="SET NULL"), nullable=True),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True, unique=True),
    sa.Column("raw_key", sa.String(255), nullable=True),
    sa.Column("to_address", sa.String(254), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body_text", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_outbound_mail_due", "status", "next_attempt_at"),
)

mailboxes = sa.Table(
    "mailboxes",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("address", sa.String(254), nullable=False),  # the business's address customers write to
    sa.Column("imap_host", sa.String(255), nullable=False),
    sa.Column("imap_port", sa.Integer, nullable=False),
    sa.Column("imap_security", sa.String(8), nullable=False),  # tls | starttls | none
    sa.Column("imap_username", sa.String(255), nullable=False),
    sa.Column("imap_password", sa.String(500), nullable=False),  # never returned by the API or logged
    sa.Column("folder", sa.String(200), nullable=False, server_default="INBOX"),
    sa.Column("after_store", sa.String(8), nullable=False, server_default="seen"),  # seen | move
    sa.Column("move_to", sa.String(200), nullable=True),
    sa.Column("smtp_host", sa.String(255), nullable=True),
    sa.Column("smtp_port", sa.Integer, nullable=True),
    sa.Column("smtp_security", sa.String(8), nullable=True),
    sa.Column("smtp_username", sa.String(255), nullable=True),
    sa.Column("smtp_password", sa.String(500), nullable=True),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id", ondelete="SET NULL"), nullable=True),
    sa.Column("signature", sa.Text(), nullable=False, server_default=""),
    # Which of its mail are faxes from a fax-to-email service, and how to read them (the fax
    # channel's FaxRule, as JSON); null: none.
    sa.Column("fax_rules", JSONType, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    # What of the mail already in the folder when intake first reads it (or the folder starts
    # over) is taken: all | unseen | none (only mail that arrives later).
    sa.Column("import_existing", sa.String(8), nullable=False, server_default="unseen"),
    # Intake's place in the folder: a restart resumes after last_uid unless UIDVALIDITY changed.
    sa.Column("uidvalidity", sa.BigInteger, nullable=True),
    sa.Column("last_uid", sa.BigInteger, nullable=False, server_default="0"),
    # While importing only unseen mail: the newest UID the folder had when it was first read;
    # up to it, mail already seen is passed over.
    sa.Column("import_upto", sa.BigInteger, nullable=True),
    # Health, for admins: connected | error | idle (not yet tried), and when it was last seen working.
    sa.Column("state", sa.String(16), nullable=False, server_default="idle"),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("last_synced_at", UTCDateTime(), nullable=True),
    # Something the admin must know that a later good read does not undo (a mail that could not
    # be stored and was left in the mailbox); kept until the admin dismisses it.
    sa.Column("warning", sa.String(500), nullable=True),
    # One gateway process at a time reads a mailbox: it holds the lease and renews it.
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)

email_threads = sa.Table(
    "email_threads",
    metadata,
    # The email side of a conversation: its subject token, the mailbox it came in on and the
    # customer's address replies go to.
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    _tenant(),
    sa.Column("mailbox_id", sa.String(36), sa.ForeignKey("mailboxes.id", ondelete="SET NULL"), nullable=True),
    sa.Column("token", sa.String(16), nullable=False),  # [#token] in subjects
    sa.Column("customer_address", sa.String(254), nullable=False),
    # Everyone the thread was addressed to, so a colleague on Cc may answer in it.
    sa.Column("participants", JSONType, nullable=False),
    _created(),
    sa.UniqueConstraint("tenant_id", "token"),
)

email_messages = sa.Table(
    "email_messages",
    metadata,
    # Every mail in or out, by its Message-ID: threading and de-duplication.
    _id(),
    _tenant(),
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True),
    sa.Column("mailbox_id", sa.String(36), sa.ForeignKey("mailboxes.id", ondelete="SET NULL"), nullable=True),
    sa.Column("direction", sa.String(3), nullable=False),  # in | out
    sa.Column("rfc_message_id", sa.String(500), nullable=False),
    sa.Column("uid", sa.BigInteger, nullable=True),
    sa.Column("raw_key", sa.String(255), nullable=True),  # the original, as received
    _created(),
    sa.UniqueConstraint("tenant_id", "direction", "rfc_message_id"),
    sa.Index("ix_email_messages_tenant_rfc", "tenant_id", "rfc_message_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the secret
    sa.Column("scopes", JSONType, nullable=False),
    sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _created(),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    sa.Column("actor_user_id", sa.String(36), nullable=True),
    sa.Column("actor_token_id", sa.String(36), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=True),
    sa.Column("target_id", sa.String(36), nullable=True),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    _created(),
    sa.Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),
)

# A customer's request to be called back (channels/voice/callbacks.py): the number, when, and
# how it went. Each attempt is a callback task in turn; the first keeps the requester's place.
callbacks = sa.Table(
    "callbacks",
    metadata,
    _id(),
    _tenant(),
    sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.String(32), nullable=False),  # E.164
    sa.Column("topic", sa.String(500), nullable=False, server_default=""),
    sa.Column("window_from", UTCDateTime(), nullable=True),
    sa.Column("window_to", UTCDateTime(), nullable=True),
    # waiting (for its window, an agent or its next attempt) | dialling | connected | done | failed | expired
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("retry_seconds", sa.Integer, nullable=False),
    sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True),
    sa.Column("call_id", sa.String(36), nullable=True, index=True),  # the call of the attempt to come, or under way
    sa.Column("outcome", sa.String(200), nullable=False, server_default=""),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_callbacks_tenant_state", "tenant_id", "state"),
)

callback_attempts = sa.Table(
    "callback_attempts",
    metadata,
    _id(),
    _tenant(),
    sa.Column("callback_id", sa.String(36), sa.ForeignKey("callbacks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("agent_id", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    # answered | busy | no_answer | declined | unreachable | failed | given_up
    sa.Column("result", sa.String(16), nullable=True),
    sa.Column("sip_status", sa.Integer, nullable=True),
    sa.Column("talk_seconds", sa.Integer, nullable=True),
)

# An agent's own SIP phone, for a remote seat (gateway/core/sip_phones.py): the digest
# credentials it registers with (only HA1 is kept) and where it was last registered.
sip_phones = sa.Table(
    "sip_phones",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("ha1", sa.String(32), nullable=False),  # MD5(username:realm:password)
    sa.Column("contact", sa.String(500), nullable=True),  # the registered Contact URI
    sa.Column("source", sa.String(100), nullable=True),  # ip|port|transport the REGISTER came from: INVITEs go there
    sa.Column("user_agent", sa.String(200), nullable=True),
    sa.Column("registered_until", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# The phone numbers (DIDs) a SIP trunk brings to the center, each a tenant's: a call to one rings
# in that tenant's queue (its own, or the tenant's default). The operator hands numbers out; the
# tenant admin routes and names them.
phone_numbers = sa.Table(
    "phone_numbers",
    metadata,
    _id(),
    _tenant(),
    sa.Column("number", sa.String(20), nullable=False, unique=True),  # E.164
    sa.Column("label", sa.String(100), nullable=False, server_default=""),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id", ondelete="SET NULL"), nullable=True),
    _created(),
    sa.Index("ix_phone_numbers_tenant_id", "tenant_id"),
)

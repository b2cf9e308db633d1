"""Received mail's bookkeeping, shared by every channel that takes mail (email, fax): a mail is
known by its Message-ID per tenant, and a mailbox's place in its folder (last UID) moves in the
same transaction that stores a mail — so a restart, a dropped connection or a second gateway
process neither misses a mail nor stores one twice."""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.mail.parse import ParsedEmail

_RFC_ID_MAX = 500


@dataclass(frozen=True)
class Mailbox:
    """What a channel storing mail needs of a mailboxes row."""

    id: str
    tenant_id: str
    address: str
    queue_id: str | None


class MailConsumer(abc.ABC):
    """A channel's part in mail intake (see Channel.mail_consumer). For each new mail the
    consumers are asked in order of `priority`, highest first; the first that claims it stores it."""

    priority: int = 0

    @abc.abstractmethod
    async def claims(self, mailbox: Mailbox, parsed: ParsedEmail) -> bool:
        """Whether this mail is this channel's (a fax by the tenant's rules; any mail for email)."""

    @abc.abstractmethod
    async def store(self, mailbox: Mailbox, raw: bytes, parsed: ParsedEmail, *, uid: int | None) -> None:
        """Store the mail, calling `record_received` in the same transaction."""


def rfc_message_id(parsed: ParsedEmail, raw: bytes) -> str:
    """The mail's Message-ID, or one made from its bytes when it has none (the same mail read
    twice gets the same one, whichever line endings the server stored it with)."""
    if parsed.message_id:
        return parsed.message_id[:_RFC_ID_MAX]
    digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()
    return f"sha256-{digest}@wecc.invalid"


async def already_received(conn: AsyncConnection, tenant_id: str, rfc_id: str) -> bool:
    m = t.email_messages
    return (await conn.execute(sa.select(m.c.id).where(
        m.c.tenant_id == tenant_id, m.c.direction == "in", m.c.rfc_message_id == rfc_id))).first() is not None


async def read_upto(conn: AsyncConnection, mailbox_id: str, uid: int | None) -> None:
    """The mailbox's folder has been read up to this UID."""
    if uid is not None:
        b = t.mailboxes
        await conn.execute(sa.update(b).where(b.c.id == mailbox_id, b.c.last_uid < uid).values(last_uid=uid))


async def record_received(conn: AsyncConnection, mailbox: Mailbox, *, rfc_id: str, uid: int | None, conversation_id: str,
                          message_id: str, raw_key: str) -> None:
    """A mail was stored as this conversation's message. The unique key on (tenant, direction,
    Message-ID) makes a racing second copy fail its whole transaction."""
    await conn.execute(sa.insert(t.email_messages).values(
        id=new_id(), tenant_id=mailbox.tenant_id, conversation_id=conversation_id, message_id=message_id, mailbox_id=mailbox.id,
        direction="in", rfc_message_id=rfc_id, uid=uid, raw_key=raw_key, created_at=utcnow()))
    await read_upto(conn, mailbox.id, uid)

"""An agent's reply as a mail to the customer: composed here, queued durably with its Message-ID
recorded (so the customer's answer threads back even before it is sent, and a bounce finds it),
then sent and retried by the mail worker through the tenant's mailbox (gateway/mail/outbox.py).

The mail threads in the customer's client: In-Reply-To the latest mail of the conversation,
References to the conversation's mails, and the conversation's token in the subject for clients
that drop those headers."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.channel import ChannelContext, DeliveryError, OutboundMessage
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.mail.outbox import queue_mail

from channels.email.threading import subject_with_token

# References lists the newest of the conversation's mails; a long thread's full list would only
# bloat every reply.
_MAX_REFERENCES = 20


def reply_subject(subject: str, token: str) -> str:
    subject = subject.strip() or "(no subject)"
    if not subject.lower().startswith(("re:", "aw:", "sv:", "回复:", "答复:")):
        subject = f"Re: {subject}"
    return subject_with_token(subject, token)


async def _context(conn: AsyncConnection, reply: OutboundMessage) -> tuple[Any, Any, Any, list[str]]:
    e, c = t.email_threads, t.conversations
    thread = (await conn.execute(sa.select(e, c.c.subject, t.tenants.c.name.label("tenant_name"))
                                 .join(c, c.c.id == e.c.conversation_id).join(t.tenants, t.tenants.c.id == e.c.tenant_id)
                                 .where(e.c.conversation_id == reply.conversation_id, e.c.tenant_id == reply.tenant_id))).first()
    if thread is None:
        raise DeliveryError("this conversation did not come in by mail: there is no address to reply to")
    if thread.mailbox_id is None:
        raise DeliveryError("the mailbox this conversation came in on was removed")
    mailbox = (await conn.execute(sa.select(t.mailboxes).where(t.mailboxes.c.id == thread.mailbox_id))).one()
    if not mailbox.smtp_host:
        raise DeliveryError(f"the mailbox {mailbox.name!r} has no SMTP server set up for replies")
    m = t.email_messages
    references = list(reversed((await conn.execute(
        sa.select(m.c.rfc_message_id).where(m.c.tenant_id == reply.tenant_id, m.c.conversation_id == reply.conversation_id)
        .order_by(m.c.created_at.desc()).limit(_MAX_REFERENCES))).scalars().all()))
    # In-Reply-To the customer's latest own mail: not their out-of-office note, nor a bounce.
    received = (await conn.execute(
        sa.select(m.c.rfc_message_id, t.messages.c.meta).join(t.messages, t.messages.c.id == m.c.message_id)
        .where(m.c.tenant_id == reply.tenant_id, m.c.conversation_id == reply.conversation_id, m.c.direction == "in")
        .order_by(m.c.created_at.desc()).limit(_MAX_REFERENCES))).all()
    written = [r.rfc_message_id for r in received if not _automatic((r.meta or {}).get("email") or {})]
    latest_in = written[0] if written else received[0].rfc_message_id if received else None
    return thread, mailbox, latest_in, references


def _automatic(email: dict[str, Any]) -> bool:
    return bool(email.get("auto_reply") or email.get("bounce"))


async def _attachments(ctx: ChannelContext, conn: AsyncConnection, reply: OutboundMessage) -> list[tuple[Any, bytes]]:
    ids = [a["id"] for a in reply.message.get("meta", {}).get("attachments", [])]
    if not ids:
        return []
    rows = (await conn.execute(sa.select(t.attachments).where(
        t.attachments.c.tenant_id == reply.tenant_id, t.attachments.c.id.in_(ids)))).all()
    rows.sort(key=lambda row: ids.index(row.id))  # in the order the agent attached them
    return [(row, await ctx.read_file(row.storage_key)) for row in rows]


def compose(*, thread: Any, mailbox: Any, latest_in: str | None, references: list[str], body: str,
            files: list[tuple[Any, bytes]]) -> EmailMessage:
    mail = EmailMessage()
    domain = mailbox.address.rsplit("@", 1)[-1]
    mail["From"] = formataddr((thread.tenant_name, mailbox.address))
    mail["To"] = thread.customer_address
    mail["Subject"] = reply_subject(thread.subject, thread.token)
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=domain)
    if latest_in:
        mail["In-Reply-To"] = f"<{latest_in}>"
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    signature = (mailbox.signature or "").strip()
    mail.set_content(f"{body}\n\n-- \n{signature}\n" if signature else f"{body}\n")
    for row, data in files:
        maintype, _, subtype = row.content_type.partition("/")
        mail.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=row.filename)
    return mail


async def queue_reply(ctx: ChannelContext, reply: OutboundMessage) -> None:
    """Raises DeliveryError (shown to the agent) when the reply can't be sent at all."""
    message = reply.message
    async with ctx.unit() as unit:
        queued = (await unit.conn.execute(sa.select(t.outbound_mail.c.id).where(
            t.outbound_mail.c.message_id == message["id"]))).first()
        if queued is not None:
            return  # handed over already
        thread, mailbox, latest_in, references = await _context(unit.conn, reply)
        files = await _attachments(ctx, unit.conn, reply)
    mail = compose(thread=thread, mailbox=mailbox, latest_in=latest_in, references=references, body=message["body_text"], files=files)
    raw = await ctx.store_file(reply.tenant_id, mail.as_bytes())
    rfc_id = mail["Message-ID"].strip("<>")
    async with ctx.unit() as unit:
        await unit.conn.execute(sa.insert(t.email_messages).values(
            id=new_id(), tenant_id=reply.tenant_id, conversation_id=reply.conversation_id, message_id=message["id"],
            mailbox_id=mailbox.id, direction="out", rfc_message_id=rfc_id, raw_key=raw.key, created_at=utcnow()))
        await queue_mail(unit.conn, reply.tenant_id, kind="reply", to_address=thread.customer_address, subject=str(mail["Subject"]),
                         body_text=message["body_text"], conversation_id=reply.conversation_id, mailbox_id=mailbox.id,
                         message_id=message["id"], raw_key=raw.key)
        # What the agent's message became, for the inbox to show on it.
        await unit.conn.execute(sa.update(t.messages).where(t.messages.c.id == message["id"]).values(meta={
            **message.get("meta", {}), "email": {"to": [thread.customer_address], "subject": str(mail["Subject"]),
                                                 "message_id": rfc_id, "mailbox_id": mailbox.id}}))
        await unit.mark_delivery(reply.tenant_id, message["id"], "queued")
    ctx.wake_mail()

"""Replying by fax: the agent's text and attached files made into a fax PDF (outgoing.py) and
mailed to the tenant's fax-to-email service at the address its fax rule names
(`{number}@fax.example`: the number in international digits, no "+"), through the mailbox the fax
came in on — queued, retried and its fate shown on the agent's message like any reply by mail
(gateway/mail/outbox.py)."""

from __future__ import annotations

import asyncio
import functools
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import sqlalchemy as sa

from gateway.channel import ChannelContext, DeliveryError, OutboundMessage
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.mail.outbox import queue_mail

from channels.fax.outgoing import Enclosure, NotFaxable, fax_document


def provider_address(template: str, number: str) -> str:
    return template.replace("{number}", number.lstrip("+"))


async def queue_fax_reply(ctx: ChannelContext, reply: OutboundMessage) -> None:
    """Raises DeliveryError (shown to the agent) when the reply can't be faxed at all."""
    message = reply.message
    async with ctx.unit() as unit:
        if (await unit.conn.execute(sa.select(t.outbound_mail.c.id).where(t.outbound_mail.c.message_id == message["id"]))).first():
            return  # handed over already
        row = (await unit.conn.execute(sa.select(t.conversations.c.attributes, t.tenants.c.name).join(
            t.tenants, t.tenants.c.id == t.conversations.c.tenant_id).where(
            t.conversations.c.id == reply.conversation_id, t.conversations.c.tenant_id == reply.tenant_id))).one()
        fax = row.attributes.get("fax") or {}
        if not fax.get("number"):
            raise DeliveryError("the fax's sender number is not known, so there is no number to fax back to")
        if not fax.get("reply_address"):
            raise DeliveryError("no reply address is set up for this fax service (an admin sets it in the mailbox's fax rule)")
        mailbox = (await unit.conn.execute(sa.select(t.mailboxes).where(
            t.mailboxes.c.id == fax.get("mailbox_id"), t.mailboxes.c.tenant_id == reply.tenant_id))).first()
        if mailbox is None or not mailbox.smtp_host:
            raise DeliveryError("the mailbox this fax came in on is gone or has no SMTP server set up for replies")
        ids = [a["id"] for a in message.get("meta", {}).get("attachments", [])]
        files = (await unit.conn.execute(sa.select(t.attachments).where(
            t.attachments.c.tenant_id == reply.tenant_id, t.attachments.c.id.in_(ids)))).all() if ids else []
    files = sorted(files, key=lambda f: ids.index(f.id))  # the fax's pages in the order the agent attached them
    enclosures = [Enclosure(f.filename, f.content_type, await ctx.read_file(f.storage_key)) for f in files]
    heading = f"Fax from {row.name} to {fax['number']}"
    make = functools.partial(fax_document, message["body_text"], enclosures, heading=heading)
    try:  # rendering pages is CPU work: off the event loop
        document, pages = await asyncio.get_running_loop().run_in_executor(None, make)
    except NotFaxable as exc:
        raise DeliveryError(str(exc)) from None
    to_address = provider_address(fax["reply_address"], fax["number"])
    mail = EmailMessage()
    mail["From"] = formataddr((row.name, mailbox.address))
    mail["To"] = to_address
    mail["Subject"] = f"Fax to {fax['number']}"
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=mailbox.address.rsplit("@", 1)[-1])
    mail.set_content(f"Fax to {fax['number']}, {pages} page(s), attached.\n")
    mail.add_attachment(document, maintype="application", subtype="pdf", filename="fax.pdf")
    raw = await ctx.store_file(reply.tenant_id, mail.as_bytes())
    async with ctx.unit() as unit:
        await queue_mail(unit.conn, reply.tenant_id, kind="fax", to_address=to_address, subject=str(mail["Subject"]),
                         body_text=message["body_text"], conversation_id=reply.conversation_id, mailbox_id=mailbox.id,
                         message_id=message["id"], raw_key=raw.key)
        await unit.conn.execute(sa.update(t.messages).where(t.messages.c.id == message["id"]).values(meta={
            **message.get("meta", {}), "fax": {"to": fax["number"], "pages": pages, "via": to_address}}))
        await unit.mark_delivery(reply.tenant_id, message["id"], "queued")
    ctx.wake_mail()

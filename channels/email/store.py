"""Storing one incoming email: its conversation, message, attachments and original, together.

Everything about one mail — the contact, the conversation (found by threading or opened), the
message with its attachments, its Message-ID, the task, and the mailbox's new place (last UID) —
is written in one transaction, so a crash or a dropped IMAP connection at any point leaves
either all of it or none, and the mail is simply read again (gateway/mail/mailboxes.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gateway.channel import ChannelContext, ChannelUnit
from gateway.core.conversations import AttachedFile, has_open_work
from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.db import schema as t
from gateway.mail.mailboxes import Mailbox, record_received, rfc_message_id
from gateway.mail.parse import ParsedEmail, split_quoted

from channels.email import threading

# A mail with no usable From: still has to be kept and answered by someone.
UNKNOWN_SENDER = "unknown-sender@invalid"


def _address(value: str | None) -> str | None:
    """A usable address (RFC 5321 caps a path at 254 characters), else None."""
    try:
        address = normalise_identity("email", value) if value else None
    except InvalidIdentity:
        return None
    return address if address and len(address) <= 254 else None


def _utf16_index(text: str, index: int) -> int:
    """The browser counts string positions in UTF-16 units."""
    return len(text[:index].encode("utf-16-le")) // 2


def _meta(parsed: ParsedEmail, text: str, rfc_id: str, mailbox: Mailbox, *, stranger_in: str | None) -> dict[str, Any]:
    _, quoted = split_quoted(text)
    email: dict[str, Any] = {
        "mailbox_id": mailbox.id,
        "message_id": rfc_id,
        "from": parsed.from_address, "from_name": parsed.from_name,
        "to": parsed.to, "cc": parsed.cc,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "size": parsed.size,
    }
    if quoted:  # where the quoted history starts in the text: the inbox folds it away
        email["quote_at"] = _utf16_index(text, text.rfind(quoted))
    if parsed.auto_reply:
        email["auto_reply"] = True
    if parsed.bulk:
        email["bulk"] = True
    if parsed.problems:
        email["problems"] = parsed.problems  # shown to agents as a warning
    if parsed.bounce is not None:
        email["bounce"] = {"original_message_id": parsed.bounce.original_message_id,
                           "recipients": [_recipient_json(r) for r in parsed.bounce.recipients]}
    if stranger_in:  # answered a thread it was not part of: a conversation of its own, linked
        email["replied_to_conversation_id"] = stranger_in
    return {"email": email}


def _recipient_json(recipient: Any) -> dict[str, Any]:
    return {"address": recipient.address, "action": recipient.action, "status": recipient.status,
            "diagnostic": recipient.diagnostic}


def _bounce_text(parsed: ParsedEmail) -> str:
    assert parsed.bounce is not None
    failed = [f"{r.address}: {r.diagnostic or r.status or r.action}" for r in parsed.bounce.recipients]
    headline = "Delivery failed" if parsed.bounce.failed else "Delivery delayed (the mail server is still trying)"
    return headline + (" — " + "; ".join(failed) if failed else "") + "\n\n" + parsed.text.replace("\r\n", "\n")


async def store_email(ctx: ChannelContext, mailbox: Mailbox, raw: bytes, parsed: ParsedEmail, *, uid: int | None) -> str:
    """Store one received mail (see the module's doc); returns its conversation. `uid`: its UID
    in the mailbox's folder, recorded as read in the same transaction."""
    tenant_id = mailbox.tenant_id
    rfc_id = rfc_message_id(parsed, raw)
    # Files first: they are content-addressed, so one left behind by a crash is harmless and a
    # retry finds it in place.
    raw_file = await ctx.store_file(tenant_id, raw)
    files = [AttachedFile(await ctx.store_file(tenant_id, a.data), a.filename, a.content_type, a.content_id, a.inline)
             for a in parsed.attachments]
    sender = _address(parsed.from_address) or UNKNOWN_SENDER
    text = parsed.text.replace("\r\n", "\n")
    noise = parsed.auto_reply or parsed.bounce is not None
    async with ctx.unit() as unit:
        contact_id = await unit.identify_contact(tenant_id, "email", sender, name=parsed.from_name)
        stranger_in = None
        if parsed.bounce is not None:
            # A bounce belongs with the mail of ours it returns, whoever's mail server sent it —
            # found by that mail's id only: a subject token or References would let anyone who
            # knows them slip text into a conversation by dressing it up as a bounce.
            thread = await threading.find_sent_thread(unit.conn, tenant_id, parsed.bounce.original_message_id)
        else:
            thread = await threading.find_thread(unit.conn, tenant_id, parsed.in_reply_to, parsed.references, parsed.subject)
            if thread is not None and not await threading.belongs_in(unit.conn, tenant_id, thread, sender, contact_id):
                stranger_in, thread = thread.conversation_id, None
        addressed = [a for a in map(_address, parsed.to + parsed.cc) if a and a != mailbox.address.lower()]
        if thread is None:
            # The inbox shows whom replies go to, and the token customers may quote.
            # Replies go where the customer asked (Reply-To), else to the sender.
            reply_to = _address(parsed.reply_to)
            email = {"customer_address": reply_to or sender, "token": threading.new_token()}
            attributes: dict[str, Any] = {"email": email}
            if stranger_in:
                attributes["replied_to_conversation_id"] = stranger_in
            conversation_id = await unit.open_conversation(
                tenant_id, contact_id, subject=parsed.subject or "(no subject)", queue_id=mailbox.queue_id, attributes=attributes)
            token = await threading.start_thread(unit.conn, tenant_id, conversation_id, token=email["token"], mailbox_id=mailbox.id,
                                                 customer_address=email["customer_address"],
                                                 participants=addressed + ([sender] if reply_to else []))
            if token != email["token"]:
                await unit.conn.execute(sa.update(t.conversations).where(t.conversations.c.id == conversation_id).values(
                    attributes={**attributes, "email": {**email, "token": token}}))
        else:
            conversation_id = thread.conversation_id
            if parsed.bounce is None:  # a bounce's To/Cc are whatever its sender wrote
                await threading.add_participants(unit.conn, thread, addressed)
            if not noise:
                await unit.reopen(tenant_id, conversation_id)
        meta = _meta(parsed, text, rfc_id, mailbox, stranger_in=stranger_in)
        if parsed.bounce is not None:
            appended = await unit.append(tenant_id, conversation_id, kind="system", author_type="system",
                                         body_text=_bounce_text(parsed), meta=meta, files=files)
            if parsed.bounce.failed:
                await _mark_bounced(unit, tenant_id, parsed)
        else:
            appended = await unit.append(tenant_id, conversation_id, body_text=text, body_html=parsed.html,
                                         meta=meta, files=files)
        await record_received(unit.conn, mailbox, rfc_id=rfc_id, uid=uid, conversation_id=conversation_id,
                              message_id=appended.message["id"], raw_key=raw_file.key)
        # Auto-replies and bounces are kept and flagged, never queued as work of their own.
        if not noise and not await has_open_work(unit.conn, tenant_id, conversation_id):
            await unit.enqueue_task(tenant_id, conversation_id, queue_id=mailbox.queue_id)
    return conversation_id


async def _mark_bounced(unit: ChannelUnit, tenant_id: str, parsed: ParsedEmail) -> None:
    """A bounce of a reply we sent marks that reply as not delivered, for the agent to see."""
    assert parsed.bounce is not None
    if not parsed.bounce.original_message_id:
        return
    m = t.email_messages
    sent = (await unit.conn.execute(sa.select(m.c.message_id, m.c.conversation_id).where(
        m.c.tenant_id == tenant_id, m.c.direction == "out", m.c.rfc_message_id == parsed.bounce.original_message_id))).first()
    if sent is None or sent.message_id is None:
        return
    reasons = [r.diagnostic or r.status or r.action for r in parsed.bounce.recipients]
    await unit.mark_delivery(tenant_id, sent.message_id, "failed", error="bounced: " + "; ".join(x for x in reasons if x))

"""Storing one received fax: a conversation of its own on the fax channel, its contact found by
the sender's fax number, the original documents and their pages rendered for the inbox's page
viewer, and a task — in one transaction with the mailbox's place (gateway/mail/mailboxes.py)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import phonenumbers

from gateway.channel import ChannelContext
from gateway.core.conversations import AttachedFile
from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.db.schema import new_id
from gateway.mail.mailboxes import Mailbox, record_received, rfc_message_id
from gateway.mail.parse import ParsedAttachment, ParsedEmail

from channels.fax.pages import RenderedFax, is_fax_document, render_pages
from channels.fax.profiles import FaxFacts


# A fax is a few documents of a few pages: more is not a fax but a load (each page is rendered).
MAX_DOCUMENTS = 5
MAX_PAGES = 100
RENDER_SECONDS = 120


def fax_documents(parsed: ParsedEmail) -> list[ParsedAttachment]:
    return [a for a in parsed.attachments if is_fax_document(a.content_type, a.filename, a.data[:1024])]


async def _render(document: ParsedAttachment, max_pages: int) -> RenderedFax:
    # CPU work (and a Ghostscript run for PostScript): off the event loop, and bounded in time.
    call = functools.partial(render_pages, document.data, document.content_type, document.filename, max_pages=max(1, max_pages))
    try:
        return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, call), RENDER_SECONDS)
    except asyncio.TimeoutError:
        return RenderedFax(problems=[f"{document.filename}: its pages took too long to render; download the original"])


async def _render_all(documents: list[ParsedAttachment]) -> tuple[list[RenderedFax], list[str]]:
    problems = []
    if len(documents) > MAX_DOCUMENTS:
        problems.append(f"Only the first {MAX_DOCUMENTS} of {len(documents)} documents are shown as pages; all are kept.")
    rendered: list[RenderedFax] = []
    for document in documents[:MAX_DOCUMENTS]:
        left = MAX_PAGES - sum(len(r.pages) for r in rendered)
        rendered.append(await _render(document, left) if left > 0 else RenderedFax(
            problems=[f"{document.filename}: not shown, the fax has more than {MAX_PAGES} pages; download the original"]))
    return rendered, problems


def _summary(facts: FaxFacts, page_count: int) -> str:
    lines = [f"Fax from {facts.number or facts.raw_number or 'an unknown number'}"]
    if facts.csid:
        lines.append(f"Station: {facts.csid}")
    if facts.caller_name:
        lines.append(f"Caller: {facts.caller_name}")
    lines.append(f"Pages: {page_count}")
    if facts.received_at:
        lines.append(f"Received: {facts.received_at}")
    return "\n".join(lines)


def _display(number: str | None) -> str:
    """+49 30 1234567, as people write it (the inbox can't tell where an area code ends)."""
    if not number:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


async def _identity(facts: FaxFacts, rfc_id: str) -> tuple[str, str]:
    """Whom the fax is from: the fax number; a fax without one is a caller of its own."""
    if facts.number:
        try:
            return "fax", normalise_identity("fax", facts.number)
        except InvalidIdentity:
            pass
    return "external", f"fax:{rfc_id[:180]}"


async def store_fax(ctx: ChannelContext, mailbox: Mailbox, raw: bytes, parsed: ParsedEmail, facts: FaxFacts, rule: dict[str, Any],
                    *, uid: int | None) -> str:
    """Returns the fax's conversation."""
    tenant_id = mailbox.tenant_id
    rfc_id = rfc_message_id(parsed, raw)
    documents = fax_documents(parsed)
    rendered, limits = await _render_all(documents)
    raw_file = await ctx.store_file(tenant_id, raw)
    originals = [AttachedFile(await ctx.store_file(tenant_id, d.data), d.filename, d.content_type, id=new_id()) for d in documents]
    pages = [AttachedFile(await ctx.store_file(tenant_id, p.png), f"page-{i}.png", "image/png", id=new_id())
             for i, p in enumerate((page for r in rendered for page in r.pages), 1)]
    page_count = sum(r.page_count or len(r.pages) for r in rendered)
    problems = [*parsed.problems, *limits, *(p for r in rendered for p in r.problems)]
    fax = {
        "number": facts.number, "raw_number": facts.raw_number, "csid": facts.csid, "caller_name": facts.caller_name,
        "pages": facts.pages or page_count, "quality": facts.quality, "received_at": facts.received_at,
        "reply_address": rule.get("reply_address") or "", "mailbox_id": mailbox.id,
        "number_display": _display(facts.number),
    }
    kind, value = await _identity(facts, rfc_id)
    async with ctx.unit() as unit:
        contact_id = await unit.identify_contact(tenant_id, kind, value, name=facts.caller_name or facts.csid)
        queue_id = rule.get("queue_id") or mailbox.queue_id
        conversation_id = await unit.open_conversation(
            tenant_id, contact_id, subject=f"Fax from {facts.number or facts.csid or 'unknown'} ({fax['pages']} pages)",
            queue_id=queue_id, attributes={"fax": fax})
        # The page viewer shows page_images, in order; the original documents stay downloadable.
        meta = {"fax": {**fax, "documents": [f.id for f in originals], "page_images": [f.id for f in pages],
                        "page_sizes": [[p.width, p.height] for r in rendered for p in r.pages]}, "email": {"mailbox_id": mailbox.id, "message_id": rfc_id, "from": parsed.from_address,
                                      "subject": parsed.subject, **({"problems": problems} if problems else {})}}
        appended = await unit.append(tenant_id, conversation_id, body_text=_summary(facts, page_count), meta=meta,
                                     files=originals + pages)
        await record_received(unit.conn, mailbox, rfc_id=rfc_id, uid=uid, conversation_id=conversation_id,
                              message_id=appended.message["id"], raw_key=raw_file.key)
        await unit.enqueue_task(tenant_id, conversation_id, queue_id=queue_id)
    return conversation_id

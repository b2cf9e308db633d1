"""Issue "Email and fax-to-email channels", the agent's side: mails a tenant's mailbox received show
in the inbox as a help desk shows them — each mail a card with its sender, recipients and date; its
HTML in a sandboxed frame where no script runs and remote images (tracking pixels) wait for the
agent's say-so while inline ones show; quoted history folded; a plain-text view; attachments and
the original .eml to download; badges for automatic replies; a warning for a mail that could not be
read cleanly; bounces in red; a mail that answered someone else's thread linked to it. The agent
replies from a letter-style composer that can quote the customer's last mail; the reply shows as an
outgoing mail, is stored, and says so when it could not be delivered.

The mails are stored through the email channel's own code (a real IMAP intake is tested against
Dovecot in tests/email)."""

from __future__ import annotations

import re
import struct
import zlib
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone

import sqlalchemy as sa
from aiohttp import web
from playwright.async_api import Page, expect

from channels.email.store import store_email
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.keys import CHANNELS, DB
from gateway.mail.mailboxes import Mailbox
from gateway.mail.parse import parse_email
from tests.browser.conftest import screenshot_path, until
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client

SUPPORT = "support@demo.example"
ANN = "Ann Customer <ann@customer.example>"
SUBJECT = "My order #77 never came"
FIRST_ID = "first.1@customer.example"
SENT_ID = "reply.1@demo.example"  # a mail of ours to Ann, which bounces
PIXEL = "http://example.invalid/pixel.png"


def png(width: int, height: int) -> bytes:
    """A real (red) PNG, so the browser reports its size once loaded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


LABEL_PNG = png(24, 16)


def mail(subject: str, *, message_id: str, sender: str = ANN, reply_to_id: str | None = FIRST_ID, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc))
    message["Message-ID"] = f"<{message_id}>"
    if reply_to_id:
        message["In-Reply-To"] = f"<{reply_to_id}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def html_mail() -> bytes:
    """Ann's first mail: HTML with an inline image, a tracking pixel, a script, Gmail's quoted history and a PDF."""
    message = mail(SUBJECT, message_id=FIRST_ID, reply_to_id=None, Cc="Bob Boss <bob@customer.example>")
    message.set_content("Hello,\nwhere is my parcel?\n\nOn Mon, 4 Mar 2024 at 10:00, Support <support@demo.example> wrote:\n"
                        "> We shipped it yesterday.\n")
    message.add_alternative(f"""<html><head><title>Order</title><script>document.title = 'HACKED'</script></head><body>
<div dir="ltr"><p>Hello,</p><p>where is <b>my parcel</b>? See the <a href="https://shop.example.com/track">tracking page</a>.</p>
<p><img src="cid:label.1@customer.example" alt="photo of the label"></p>
<img src="{PIXEL}" width="1" height="1" alt="">
<script>document.title = 'HACKED'; parent.document.title = 'HACKED'</script>
<img src="x" onerror="parent.document.title = 'HACKED'">
<div class="gmail_quote"><div class="gmail_attr">On Mon, 4 Mar 2024 at 10:00, Support &lt;support@demo.example&gt; wrote:<br></div>
<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">We shipped it yesterday.</blockquote>
</div></div></body></html>""", subtype="html")
    message.get_payload()[1].add_related(LABEL_PNG, maintype="image", subtype="png", cid="<label.1@customer.example>",
                                         filename="label.png", disposition="inline")
    message.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf")
    return message.as_bytes()


def broken_mail() -> bytes:
    """A multipart mail whose boundary never comes: kept, shown as raw text, with a warning."""
    return (f"From: {ANN}\r\nTo: {SUPPORT}\r\nSubject: Re: {SUBJECT}\r\nMessage-ID: <broken.2@customer.example>\r\n"
            f"In-Reply-To: <{FIRST_ID}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
            "--WRONG\r\nContent-Type: text/plain\r\n\r\nHere is the invoice again.\r\n--WRONG--\r\n").encode()


def auto_reply() -> bytes:
    message = mail(f"Automatic reply: {SUBJECT}", message_id="auto.3@customer.example", Auto_Submitted="auto-replied")
    message.set_content("I am out of the office until Monday.")
    return message.as_bytes()


def plain_reply() -> bytes:
    message = mail(f"Re: {SUBJECT}", message_id="plain.4@customer.example")
    message.set_content("Thanks, I found the parcel at my neighbour's.\n\nAnn\n\n"
                        "On Tue, 5 Mar 2024 at 15:30, Support <support@demo.example> wrote:\n> We shipped it yesterday.\n> Regards\n")
    return message.as_bytes()


def bounce() -> bytes:
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\nTo: {SUPPORT}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn.5@mx.customer.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n"
            "Final-Recipient: rfc822; ann@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{SENT_ID}>\r\nSubject: Re: {SUBJECT}\r\n\r\n--B--\r\n").encode()


def strangers_mail() -> bytes:
    """Someone not on Ann's thread answers it: a conversation of its own, linked to hers."""
    message = mail(f"Re: {SUBJECT}", message_id="carl.6@other.example", sender="Carl Other <carl@other.example>")
    message.set_content("I got the same problem with my order.")
    return message.as_bytes()


async def receive(app: web.Application, mailbox: Mailbox, raw: bytes) -> str:
    """What the intake does with a new mail in the mailbox: the email channel stores it."""
    return await store_email(app[CHANNELS]._contexts["email"], mailbox, raw, parse_email(raw), uid=None)


async def open_conversation(page: Page, conversation_id: str) -> None:
    await page.locator(f".conv-item[data-conversation-id='{conversation_id}']").click()
    await expect(page.locator(".mail-in").first).to_be_visible()


async def test_an_agent_reads_email_safely_and_replies_by_mail(browser, mail_gateway, smtp):
    app, base, config = mail_gateway
    smtp_server, smtp_port = smtp
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        created = await operator.post(f"/api/v1/tenants/{tenant_id}/mailboxes", 201, json={
            "name": "Support", "address": SUPPORT, "imap_host": "127.0.0.1", "imap_port": 9,
            "imap_username": "support", "imap_password": "imap secret 123"})
        mailbox = Mailbox(id=created["id"], tenant_id=tenant_id, address=SUPPORT, queue_id=None)
        conversation_id = await receive(app, mailbox, html_mail())
        async with app[DB].begin() as conn:  # as if an agent's reply had gone out (a bounce names the mail it returns)
            await conn.execute(sa.insert(t.email_messages).values(
                id=new_id(), tenant_id=tenant_id, conversation_id=conversation_id, direction="out", rfc_message_id=SENT_ID,
                created_at=utcnow()))
        for raw in (broken_mail(), auto_reply(), plain_reply(), bounce()):
            assert await receive(app, mailbox, raw) == conversation_id
        strangers = await receive(app, mailbox, strangers_mail())
        assert strangers != conversation_id
        stored = (await agent.get(f"/api/v1/conversations/{conversation_id}/messages?limit=50"))["items"]
        first, broken, auto, plain, bounced = stored
        assert [m["author_type"] for m in stored] == ["contact"] * 4 + ["system"]

        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="Europe/Berlin")
        remote: list[str] = []
        page.on("request", lambda request: remote.append(request.url) if "example.invalid" in request.url else None)
        await page.route("http://example.invalid/**", lambda route: route.fulfill(body=LABEL_PNG, content_type="image/png"))
        await log_in(page, base, config)
        await open_conversation(page, conversation_id)
        await expect(page.locator("#conv-title")).to_have_text("Ann Customer")

        # The first mail: who sent it to whom, when (in the agent's own time zone: 14:30 UTC is 15:30 in Berlin).
        card = page.locator(f".mail[data-message-id='{first['id']}']")
        head = card.locator(".mail-head")
        await expect(head).to_contain_text("Ann Customer")
        await expect(head).to_contain_text("<ann@customer.example>")
        await expect(head).to_contain_text("To: support@demo.example")
        await expect(head).to_contain_text("Cc: bob@customer.example")
        await expect(head.locator(".mail-date")).to_contain_text("3:30")
        await expect(head.locator(".mail-subject")).to_have_count(0)  # the conversation's own subject is not repeated

        # Its HTML, in a frame sandboxed without scripts; the inline image loads, the script never ran.
        frame_element = card.locator("iframe.mail-frame")
        assert "allow-scripts" not in (await frame_element.get_attribute("sandbox") or "")
        frame = page.frame_locator(f"#mail-body-{first['id']}")
        await expect(frame.locator("b")).to_have_text("my parcel")
        await expect(frame.get_by_role("link", name="tracking page")).to_have_attribute("target", "_blank")
        label = frame.get_by_role("img", name="photo of the label")
        assert await until(lambda: label.evaluate("img => img.complete && img.naturalWidth === 24"))
        await expect(frame.locator("script")).to_have_count(0)
        assert "HACKED" not in await page.title()
        assert "HACKED" not in await frame.locator("html").evaluate("el => el.ownerDocument.title")
        assert (await frame_element.bounding_box())["height"] > 100  # sized to its content, not a 150px default

        # Remote images wait for the agent: none was requested until they asked.
        await expect(card).to_contain_text("Remote images are blocked")
        assert remote == []
        # The quoted history is folded away behind a toggle.
        quoted = frame.get_by_text("We shipped it yesterday.")
        await expect(quoted).to_be_hidden()
        toggle = card.get_by_role("button", name="Show quoted text")
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await page.screenshot(path=screenshot_path("inbox-email"))
        await card.screenshot(path=screenshot_path("inbox-email-html-mail"))
        await toggle.click()
        await expect(quoted).to_be_visible()
        await expect(card.get_by_role("button", name="Hide quoted text")).to_have_attribute("aria-expanded", "true")
        await card.get_by_role("button", name="Hide quoted text").click()
        await expect(quoted).to_be_hidden()
        await card.get_by_role("button", name="Show remote images").click()
        async def pixel_requested() -> bool:
            return PIXEL in remote

        assert await until(pixel_requested)
        pixel = frame.locator(f"img[src='{PIXEL}']")
        assert await until(lambda: pixel.evaluate("img => img.complete && img.naturalWidth > 0"))
        await expect(card.get_by_role("button", name="Show remote images")).to_have_count(0)
        await expect(quoted).to_be_hidden()  # still folded after the frame was drawn again

        # Attachments: the PDF is listed (the inline image shows in the HTML, so not), and downloads.
        attachments = card.locator(".mail-atts")
        await expect(attachments).to_contain_text("receipt.pdf")
        await expect(attachments).to_contain_text("16 B")
        await expect(attachments).not_to_contain_text("label.png")
        pdf = await page.request.get(base + await attachments.get_by_role("link", name="receipt.pdf").get_attribute("href"))
        assert pdf.status == 200 and await pdf.body() == b"%PDF-1.4 receipt"
        original = await page.request.get(base + await card.get_by_role("link", name="Download original (.eml)").get_attribute("href"))
        assert original.status == 200 and f"Subject: {SUBJECT}".encode() in await original.body()

        # Plain text instead: the text part, its history folded too; the inline image is now listed.
        await card.get_by_role("button", name="Plain text").click()
        await expect(card.locator("iframe")).to_have_count(0)
        text = card.locator(".mail-text")
        await expect(text).to_contain_text("where is my parcel?")
        await expect(text).not_to_contain_text("We shipped it yesterday.")
        await expect(attachments).to_contain_text("label.png")
        await card.get_by_role("button", name="Show quoted text").click()
        await expect(text).to_contain_text("> We shipped it yesterday.")
        await expect(card.get_by_role("button", name="Plain text")).to_have_attribute("aria-pressed", "true")

        # A plain-text reply with ">" history: only the new words show at first.
        reply = page.locator(f".mail[data-message-id='{plain['id']}']")
        await expect(reply.locator(".mail-text")).to_contain_text("Thanks, I found the parcel at my neighbour's.")
        await expect(reply.locator(".mail-text")).not_to_contain_text("Regards")
        await reply.get_by_role("button", name="Show quoted text").click()
        await expect(reply.locator(".mail-text")).to_contain_text("> Regards")

        # The out-of-office: badged, its own subject shown; the broken mail: a warning; the bounce: red.
        out_of_office = page.locator(f".mail[data-message-id='{auto['id']}']")
        await expect(out_of_office.locator(".badge")).to_have_text("Automatic reply")
        await expect(out_of_office.locator(".mail-subject")).to_have_text(f"Subject: Automatic reply: {SUBJECT}")
        warning = page.locator(f".mail[data-message-id='{broken['id']}'] .mail-problems")
        await expect(warning).to_contain_text("boundary was not found")
        await expect(page.locator(f".mail[data-message-id='{broken['id']}'] .mail-text")).to_contain_text("Here is the invoice again.")
        notice = page.locator(f".mail-bounce[data-message-id='{bounced['id']}']")
        await expect(notice).to_contain_text("Delivery failed to ann@customer.example: 550 5.1.1 User unknown")

        # The reply: to the customer's address, Ctrl+Enter sends, Enter is a new line; the last mail quoted on request.
        composer = page.locator(".composer-email textarea")
        await expect(page.locator(".composer-email .composer-to")).to_have_text("To: ann@customer.example")
        await composer.fill("Glad it arrived!")
        quote = page.get_by_label("Quote the customer's last mail")
        await quote.check()
        value = await composer.input_value()
        assert value.startswith("Glad it arrived!\n\nOn "), value
        assert "Ann Customer <ann@customer.example> wrote:\n> Thanks, I found the parcel at my neighbour's.\n>\n> Ann" in value
        assert "Regards" not in value  # Ann's own quoted history is not quoted again
        await quote.uncheck()
        assert await composer.input_value() == "Glad it arrived!"
        await quote.check()
        await composer.press("Control+End")
        await composer.press("Enter")
        await composer.press("Control+Enter")
        mine = page.locator(".mail-out")
        await expect(mine).to_have_count(1)
        await expect(composer).to_have_value("")
        await expect(mine.locator(".mail-head")).to_contain_text("Demo Agent")
        await expect(mine.locator(".mail-head")).to_contain_text("to ann@customer.example")
        await expect(mine.locator(".mail-text")).to_contain_text("Glad it arrived!")
        await expect(mine.locator(".mail-text")).to_contain_text("> Thanks, I found the parcel")
        # This mailbox has no way to send mail: the agent is told the reply was not delivered.
        await expect(mine.locator(".mail-delivery-failed")).to_contain_text("Not delivered", timeout=15000)
        sent = (await agent.get(f"/api/v1/conversations/{conversation_id}/messages?limit=50"))["items"][-1]
        assert sent["author_type"] == "agent" and sent["kind"] == "message"
        assert sent["body_text"].startswith("Glad it arrived!\n\nOn ") and "> Thanks, I found the parcel" in sent["body_text"]
        await page.screenshot(path=screenshot_path("inbox-email-reply"))
        # The admin sets the mailbox's SMTP server up; the agent sends the failed reply again.
        await operator.patch(f"/api/v1/tenants/{tenant_id}/mailboxes/{created['id']}", 200, json={
            "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"})
        await mine.get_by_role("button", name="Try again").click()
        await expect(mine.locator(".mail-delivery-sent")).to_be_visible(timeout=15000)
        assert [rcpt for _, rcpt, _ in smtp_server.mails] == [["ann@customer.example"]]

        # A stranger's answer to Ann's thread is a conversation of its own that links back to hers.
        await open_conversation(page, strangers)
        await expect(page.locator("#conv-title")).to_have_text("Carl Other")
        linked = page.locator(".mail-replied-to")
        await expect(linked).to_contain_text("In reply to another customer's conversation")
        await linked.get_by_role("button", name=f"Open it: {SUBJECT}").click()
        await expect(page.locator("#conv-title")).to_have_text("Ann Customer")
        await expect(page.locator(f".mail[data-message-id='{first['id']}']")).to_be_visible()

        # In Chinese too.
        await page.get_by_label("Language").select_option("zh-CN")
        await expect(page.locator(f".mail[data-message-id='{auto['id']}'] .badge")).to_have_text("自动回复")
        await expect(page.locator(f".mail[data-message-id='{first['id']}']").get_by_role("button", name="纯文本")).to_be_visible()
        await expect(page.get_by_label("引用客户的上一封邮件")).to_be_visible()


async def test_an_agent_sends_two_files_in_one_reply_and_the_customer_gets_them_in_one_mail(browser, mail_gateway, smtp):
    app, base, config = mail_gateway
    smtp_server, smtp_port = smtp
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        created = await operator.post(f"/api/v1/tenants/{tenant_id}/mailboxes", 201, json={
            "name": "Support", "address": SUPPORT, "imap_host": "127.0.0.1", "imap_port": 9,
            "imap_username": "support", "imap_password": "imap secret 123",
            "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"})
        mailbox = Mailbox(id=created["id"], tenant_id=tenant_id, address=SUPPORT, queue_id=None)
        question = mail(SUBJECT, message_id=FIRST_ID, reply_to_id=None)
        question.set_content("Could you send me the return label and the receipt?\nAnn")
        conversation_id = await receive(app, mailbox, question.as_bytes())

        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        await log_in(page, base, config)
        await open_conversation(page, conversation_id)

        # Two files picked at once, a third added, then that one taken off again.
        composer = page.locator(".composer-email")
        picker = composer.locator("input[type=file]")
        await picker.set_input_files([{"name": "label.png", "mimeType": "image/png", "buffer": LABEL_PNG},
                                      {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 receipt"}])
        chips = composer.locator(".composer-file")
        await expect(chips).to_have_count(2)
        await picker.set_input_files([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"internal notes\n"}])
        await expect(chips).to_have_text([re.compile("label.png"), re.compile("receipt.pdf"), re.compile("notes.txt")])
        await composer.get_by_role("button", name="Remove notes.txt").click()
        await expect(chips).to_have_text([re.compile("label.png"), re.compile("receipt.pdf")])
        await composer.locator("textarea").fill("Here are both.")
        await page.screenshot(path=screenshot_path("inbox-email-two-files"))
        await composer.locator("textarea").press("Control+Enter")

        # One reply carrying both; the composer is empty again.
        mine = page.locator(".mail-out")
        await expect(mine).to_have_count(1)
        await expect(chips).to_have_count(0)
        await expect(mine.locator(".mail-text")).to_have_text("Here are both.")
        await expect(mine.locator(".att")).to_have_count(2)
        await expect(mine.locator(".atts")).to_contain_text("label.png")
        await expect(mine.get_by_role("link", name="receipt.pdf")).to_be_visible()
        await expect(mine.locator(".mail-delivery-sent")).to_be_visible(timeout=15000)
        await expect(mine.locator(".att")).to_have_count(2)  # the server's copy replaced the one shown while sending

        # The customer gets one mail with both files.
        [(_, recipients, sent)] = smtp_server.mails
        assert recipients == ["ann@customer.example"]
        assert {part.get_filename(): part.get_content() for part in sent.iter_attachments()} == {
            "label.png": LABEL_PNG, "receipt.pdf": b"%PDF-1.4 receipt"}
        replies = [m for m in (await agent.get(f"/api/v1/conversations/{conversation_id}/messages?limit=50"))["items"]
                   if m["author_type"] == "agent"]
        assert [[a["filename"] for a in m["meta"]["attachments"]] for m in replies] == [["label.png", "receipt.pdf"]]

        # In Chinese too.
        await page.get_by_label("Language").select_option("zh-CN")
        await picker.set_input_files([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"internal notes\n"}])
        await expect(composer.get_by_role("button", name="移除 notes.txt")).to_be_visible()
        await expect(composer.get_by_role("list", name="已添加的附件（1）")).to_be_visible()

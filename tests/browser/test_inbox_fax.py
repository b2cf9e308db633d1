"""Issue "Email and fax-to-email channels", the agent's side of a fax: a fax a fax-to-email service
mailed in shows in the inbox with who sent it (the number, readably; the station id and the
caller's name), its pages, resolution and arrival; its pages in a viewer the agent can page
through (buttons, thumbnails, arrow keys), zoom (fit width, in, out, 100%) and rotate (a page or the
whole fax); the original document downloads. The reply composer says which number a reply will be
faxed to — or, for a fax without a number, why it can't be — and a reply shows as an outgoing card
with how its sending went. A fax whose document could not be read says so.

The faxes are stored through the fax channel's own code (the mail intake is tested in tests/fax)."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web
from PIL import Image, ImageDraw
from playwright.async_api import Locator, Page, expect

from channels.fax.profiles import FaxFacts
from channels.fax.store import store_fax
from gateway.keys import CHANNELS
from gateway.mail.mailboxes import Mailbox
from gateway.mail.parse import parse_email
from tests.browser.conftest import screenshot_path, until
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client

FAX_INBOX = "fax@demo.example"
SERVICE = "FaxMaster <faxmaster@fax.example>"
PAGE_SIZE = (1728, 2292)  # a fine-resolution A4 fax page, 204×196 dpi
RULE = {"profile": "hylafax", "sender_pattern": "*@fax.example", "reply_address": "{number}@fax.example"}


def fax_tiff() -> bytes:
    """Three G4 pages, each with a shape of its own: a box, a disc, a triangle."""
    pages = []
    for number in range(3):
        page = Image.new("1", PAGE_SIZE, 1)
        draw = ImageDraw.Draw(page)
        draw.text((150, 120), f"PAGE {number + 1}", fill=0)
        if number == 0:
            draw.rectangle((300, 400, 1400, 1000), fill=0)
        elif number == 1:
            draw.ellipse((400, 600, 1300, 1500), fill=0)
        else:
            draw.polygon([(864, 500), (1400, 1600), (300, 1600)], fill=0)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "TIFF", compression="group4", dpi=(204, 196), save_all=True, append_images=pages[1:])
    return out.getvalue()


def fax_mail(document: bytes, filename: str, content_type: str, *, message_id: str, csid: str) -> bytes:
    """How HylaFAX's faxrcvd mails a received fax."""
    message = EmailMessage()
    message["From"] = SERVICE
    message["To"] = FAX_INBOX
    message["Subject"] = f'Fax received from "{csid}"'
    message["Date"] = format_datetime(datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc))
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(f"          Sender: {csid}\n           Pages: 3\n         Quality: Fine\n        Received: 2024:03:05 14:30:12\n")
    maintype, subtype = content_type.split("/")
    message.add_attachment(document, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


async def receive_fax(app: web.Application, mailbox: Mailbox, raw: bytes, facts: FaxFacts, rule: dict[str, Any]) -> str:
    """What the intake does with a mail its fax rule matched: the fax channel stores it."""
    return await store_fax(app[CHANNELS]._contexts["fax"], mailbox, raw, parse_email(raw), facts, rule, uid=None)


async def loaded(image: Locator) -> bool:
    return await until(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"))


async def rotation(image: Locator) -> int:
    """The clockwise turn the page is drawn with, in degrees, from its computed transform."""
    return await image.evaluate("""img => {
        const m = new DOMMatrix(getComputedStyle(img).transform);
        return (Math.round(Math.atan2(m.b, m.a) * 180 / Math.PI) + 360) % 360;
    }""")


async def rendered_width(image: Locator) -> float:
    return await image.evaluate("img => img.getBoundingClientRect().width")


async def open_conversation(page: Page, conversation_id: str) -> None:
    await page.locator(f".conv-item[data-conversation-id='{conversation_id}']").click()
    await expect(page.locator(".fax-in").first).to_be_visible()


async def test_an_agent_reads_a_fax_page_by_page_and_replies_by_fax(browser, mail_gateway):
    app, base, config = mail_gateway
    tiff = fax_tiff()
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        created = await operator.post(f"/api/v1/tenants/{tenant_id}/mailboxes", 201, json={
            "name": "Fax", "address": FAX_INBOX, "imap_host": "127.0.0.1", "imap_port": 9,
            "imap_username": "fax", "imap_password": "imap secret 123", "fax_rules": [RULE]})
        mailbox = Mailbox(id=created["id"], tenant_id=tenant_id, address=FAX_INBOX, queue_id=None)
        facts = FaxFacts(number="+49301234567", raw_number="+49 30 1234567", csid="ACME SALES", caller_name="Hans Meier",
                         pages=3, quality="fine", received_at="2024:03:05 14:30:12")
        conversation_id = await receive_fax(
            app, mailbox, fax_mail(tiff, "fax000123.tif", "image/tiff", message_id="fax.123@fax.example", csid="ACME SALES"),
            facts, created["fax_rules"][0])
        # A fax from a machine that sent no number, whose document is damaged, on a service with no reply address.
        anonymous = await receive_fax(
            app, mailbox, fax_mail(b"%PDF-1.4 torn", "fax000124.pdf", "application/pdf", message_id="fax.124@fax.example", csid="OFFICE"),
            FaxFacts(number=None, raw_number="", csid="OFFICE", caller_name="", pages=None, quality="", received_at=""),
            {"profile": "hylafax"})
        stored = (await agent.get(f"/api/v1/conversations/{conversation_id}/messages?limit=50"))["items"]
        assert len(stored[0]["meta"]["fax"]["page_images"]) == 3

        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="Europe/Berlin")
        await log_in(page, base, config)
        await open_conversation(page, conversation_id)
        await expect(page.locator("#conv-title")).to_have_text("Hans Meier")

        # The header: from whom (the number as people write it), the machine, the pages, the resolution, when.
        card = page.locator(f".fax-in[data-message-id='{stored[0]['id']}']")
        head = card.locator(".fax-head")
        await expect(head).to_be_in_viewport()  # opened at the fax's top, not scrolled to its end
        await expect(head.locator(".fax-from")).to_have_text("Fax from +49 30 1234567")
        await expect(head.locator("[data-fact='csid']")).to_contain_text("ACME SALES")
        await expect(head.locator("[data-fact='caller']")).to_contain_text("Hans Meier")
        await expect(head.locator("[data-fact='pages']")).to_contain_text("3 pages")
        await expect(head.locator("[data-fact='quality']")).to_contain_text("Fine (204×196 dpi)")
        await expect(head.locator("[data-fact='received']")).to_contain_text("2024:03:05 14:30:12")
        await expect(card.locator(".fax-problems")).to_have_count(0)

        # Page 1 of 3, loaded, its width filling the viewer.
        viewer = card.locator(".fax-viewer")
        first = viewer.get_by_role("img", name="Page 1 of 3")
        await expect(first).to_be_visible()
        assert await loaded(first)
        assert await first.evaluate("img => img.naturalWidth") == PAGE_SIZE[0]
        await expect(viewer.locator(".fax-counter")).to_have_text("Page 1 of 3")
        await expect(viewer.get_by_role("button", name="Previous page")).to_be_disabled()
        await expect(viewer.get_by_role("button", name="Go to page 1")).to_have_attribute("aria-current", "page")
        viewport_width = await viewer.locator(".fax-viewport").evaluate("el => el.clientWidth")
        fit = await rendered_width(first)
        assert viewport_width - 40 < fit <= viewport_width
        await page.screenshot(path=screenshot_path("inbox-fax"))

        # Paging: the next button, a thumbnail, the arrow keys on the focused viewer.
        await viewer.get_by_role("button", name="Next page").click()
        await expect(viewer.get_by_role("img", name="Page 2 of 3")).to_be_visible()
        await viewer.get_by_role("button", name="Go to page 1").click()
        await expect(viewer.get_by_role("img", name="Page 1 of 3")).to_be_visible()
        viewport = viewer.get_by_role("region", name="Fax pages")
        await viewport.focus()
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        third = viewer.get_by_role("img", name="Page 3 of 3")
        await expect(third).to_be_visible()
        assert await loaded(third)
        await expect(viewer.locator(".fax-counter")).to_have_text("Page 3 of 3")
        await expect(viewer.get_by_role("button", name="Next page")).to_be_disabled()
        await expect(viewer.get_by_role("button", name="Go to page 3")).to_have_attribute("aria-current", "page")
        await page.keyboard.press("ArrowLeft")
        await expect(viewer.locator(".fax-counter")).to_have_text("Page 2 of 3")
        await page.keyboard.press("ArrowRight")
        await expect(third).to_be_visible()

        # Zoom: in and out change the size drawn; 100% is the image's own pixels; fit width again.
        await viewer.get_by_role("button", name="Zoom in").click()
        assert await rendered_width(third) == pytest.approx(fit * 1.25, abs=2)
        await viewer.get_by_role("button", name="Zoom out").click()
        await viewer.get_by_role("button", name="Zoom out").click()
        assert await rendered_width(third) == pytest.approx(fit / 1.25, abs=2)
        await viewer.get_by_role("button", name="Actual size (100%)").click()
        assert await rendered_width(third) == pytest.approx(PAGE_SIZE[0], abs=1)
        await expect(viewer.locator(".fax-zoom")).to_contain_text("100%")
        assert await viewer.locator(".fax-viewport").evaluate("el => el.scrollWidth > el.clientWidth")  # scrolls across
        await viewer.get_by_role("button", name="Fit width").click()
        assert await rendered_width(third) == pytest.approx(fit, abs=1)

        # Rotate: this page a quarter turn (still fitting the width, now lying on its side), then the whole fax.
        assert await rotation(third) == 0
        await viewer.get_by_role("button", name="Rotate page").click()
        assert await rotation(third) == 90
        box = await third.bounding_box()
        assert box["width"] > box["height"] and box["width"] == pytest.approx(fit, abs=2)
        await viewer.get_by_role("button", name="Rotate all").click()
        assert await rotation(third) == 180
        await viewer.get_by_role("button", name="Previous page").click()
        assert await rotation(viewer.get_by_role("img", name="Page 2 of 3")) == 90  # the others turned once
        await card.screenshot(path=screenshot_path("inbox-fax-rotated"))

        # The original TIFF downloads as it came.
        link = card.get_by_role("link", name="Download original fax000123.tif")
        await expect(card.locator(".fax-originals")).to_contain_text("TIFF")
        original = await page.request.get(base + await link.get_attribute("href"))
        assert original.status == 200 and await original.body() == tiff

        # The reply: where it will be faxed; Ctrl+Enter sends it; it shows as an outgoing fax.
        await expect(page.locator(".composer-fax-to")).to_contain_text("Will be faxed to +49 30 1234567")
        composer = page.locator(".composer-fax textarea")
        await composer.fill("Dear Mr Meier,\nthank you for your order.")
        # What a fax can't carry is refused at once; a PDF goes along after the text.
        picker = page.locator(".composer-fax input[type=file]")
        await picker.set_input_files([{"name": "archive.zip", "mimeType": "application/zip", "buffer": b"PK\x03\x04"}])
        await expect(page.locator(".composer-fax [role=alert]")).to_contain_text("archive.zip can't be faxed")
        await expect(page.locator(".composer-fax .composer-file")).to_have_count(0)
        await picker.set_input_files([{"name": "terms.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 terms"}])
        await expect(page.locator(".composer-fax .composer-file")).to_contain_text("terms.pdf")
        await expect(page.locator(".composer-fax [role=alert]")).to_have_count(0)
        await composer.press("Control+Enter")
        mine = page.locator(".fax-out")
        await expect(mine).to_have_count(1)
        await expect(composer).to_have_value("")
        await expect(mine.locator(".mail-head")).to_contain_text("Demo Agent")
        await expect(mine.locator(".mail-head")).to_contain_text("to +49 30 1234567")
        await expect(mine.locator(".mail-text")).to_have_text("Dear Mr Meier,\nthank you for your order.")
        await expect(mine.locator(".atts")).to_contain_text("terms.pdf")
        # This mailbox has no way to send mail: the agent is told the fax did not go out.
        await expect(mine.locator(".fax-delivery-failed")).to_contain_text("Not faxed", timeout=15000)
        sent = (await agent.get(f"/api/v1/conversations/{conversation_id}/messages?limit=50"))["items"][-1]
        assert sent["author_type"] == "agent" and sent["meta"]["attachments"][0]["filename"] == "terms.pdf"
        # (a text sent along with a file comes as multipart form data, where browsers write line ends as CRLF)
        assert sent["body_text"].replace("\r\n", "\n") == "Dear Mr Meier,\nthank you for your order."
        await page.screenshot(path=screenshot_path("inbox-fax-reply"))

        # A fax without a number on a service without a reply address: no pages, a warning, no fax back.
        await open_conversation(page, anonymous)
        other = page.locator(".fax-in")
        await expect(other.locator(".fax-from")).to_have_text("Fax from an unknown number")
        await expect(other.locator(".fax-problems")).to_contain_text("not a valid PDF")
        await expect(other.locator(".fax-no-pages")).to_be_visible()
        await expect(other.get_by_role("link", name="Download original fax000124.pdf")).to_be_visible()
        await expect(page.locator(".composer-fax-to")).to_have_count(0)
        await expect(page.locator(".composer-fax-warning")).to_contain_text("can't be faxed")

        # In Chinese too.
        await page.get_by_label("Language").select_option("zh-CN")
        await expect(page.locator(".composer-fax-warning")).to_contain_text("无法以传真回复")
        await open_conversation(page, conversation_id)
        await expect(page.locator(".fax-in .fax-counter")).to_have_text("第 1 页，共 3 页")
        await expect(page.locator(".composer-fax-to")).to_contain_text("将传真至 +49 30 1234567")

        # On a phone: the page still fits the width, nothing scrolls sideways, the thumbnails make room.
        await page.set_viewport_size({"width": 390, "height": 844})
        if await page.get_by_role("button", name="隐藏客户信息").is_visible():
            await page.get_by_role("button", name="隐藏客户信息").click()
        small = page.locator(".fax-in .fax-viewer")
        await expect(small.get_by_role("img", name="第 1 页，共 3 页")).to_be_visible()
        await expect(small.locator(".fax-thumbs")).to_have_count(0)
        assert await page.locator(".fax-in").evaluate("card => card.scrollWidth <= card.clientWidth")
        assert await small.locator(".fax-page").evaluate(
            "img => img.getBoundingClientRect().width <= img.closest('.fax-viewport').clientWidth")
        await page.screenshot(path=screenshot_path("inbox-fax-phone"))

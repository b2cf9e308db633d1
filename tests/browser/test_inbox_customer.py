"""Issue 4, the inbox around a chat: the customer panel finds the customer's other record (an
earlier e-mail with the same address) and merges it, so the history shows every channel; files go
both ways as previews and download links; what a customer typed stays text; and a colleague who
opens or answers the same chat is announced to the agent."""

from __future__ import annotations

import re
import struct
import zlib

from playwright.async_api import Browser, Page, expect

from tests.api.test_conversations import customer_writes
from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_chat import ask_order_number_before_chat, log_in, until_agents_available
from tests.browser.test_inbox_shell import app_memberships
from tests.realtime.support import Sockets


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x1f\x6f\xeb" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def add_colleague(browser: Browser, base: str, config, tenant_id: str) -> None:
    """The operator adds a second agent to the demo tenant, through the API."""
    context = await browser.new_context()
    try:
        login = await context.request.post(f"{base}/api/v1/auth/login",
                                           data={"email": config.demo.operator_email, "password": config.demo.operator_password})
        assert login.ok, await login.text()
        csrf = (await login.json())["csrf_token"]
        added = await context.request.post(f"{base}/api/v1/tenants/{tenant_id}/members", headers={"X-CSRF-Token": csrf},
                                           data={"email": "bea@demo.example", "name": "Bea Colleague", "password": "password-123", "role": "agent"})
        assert added.status == 201, await added.text()
    finally:
        await context.close()


async def log_in_as(page: Page, base: str, email: str, password: str, name: str) -> None:
    await page.goto(f"{base}/")
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.click("button[type=submit]")
    await expect(page.get_by_text(name, exact=True)).to_be_visible()
    await expect(page.locator(".live-connected")).to_be_visible()


async def test_customer_panel_merge_files_and_colleagues(browser, gateway):
    app, base, config = gateway
    tenant_id = (await app_memberships(app, config))[config.demo.tenant_slug]
    await ask_order_number_before_chat(app, config)
    # Ada wrote an e-mail last week: a contact of her own, known by her address.
    await customer_writes(app, tenant_id, "ada@example.com", "email", "My invoice 7731 is wrong", subject="Invoice 7731")
    await add_colleague(browser, base, config, tenant_id)
    sockets = Sockets(base)
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
        await log_in(page, base, config)
        await page.get_by_label("Your status").select_option("available")
        ada = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-panel-ada1"})
        await until_agents_available(ada)
        started = await ada.call("start_chat", {
            "client_id": "c-panel-00001", "name": "Ada Lovelace", "email": "ada@example.com", "fields": {"order_number": "A-17"},
            "text": "Label: https://example.com/track?id=7 and javascript:alert(1) <b>not bold</b> <img src=x onerror=alert(2)>",
        })
        assert started["ok"], started
        conversation_id = started["conversation_id"]
        await page.locator(".offer").get_by_role("button", name="Accept").click()
        await expect(page.locator("#conv-title")).to_have_text("Ada Lovelace")

        # What the customer typed is text; only the http(s) address became a link.
        incoming = page.locator(".msg-in").first
        await expect(incoming).to_contain_text("<b>not bold</b> <img src=x onerror=alert(2)>")
        await expect(incoming.locator("b, img")).to_have_count(0)
        links = incoming.locator("a")
        await expect(links).to_have_count(1)
        await expect(links).to_have_attribute("href", "https://example.com/track?id=7")
        await expect(links).to_have_attribute("rel", "noopener noreferrer nofollow ugc")

        # The panel sees the e-mail contact with the same address; the agent merges it into this one.
        panel = page.locator(".customer-panel")
        dupes = panel.locator(".panel-section", has_text="Possible duplicates")
        await expect(dupes.locator(".dupe")).to_have_count(1)
        await expect(dupes).to_contain_text("ada@example.com")
        await expect(panel.locator(".history-item")).to_have_count(1)
        await page.screenshot(path=screenshot_path("inbox-customer-duplicate"))
        await dupes.get_by_role("button", name="Merge…").click()
        merge = page.locator("dialog.dialog")
        await expect(merge.get_by_role("radio", name="Ada Lovelace · this customer")).to_be_checked()
        await merge.get_by_role("button", name="Merge", exact=True).click()
        await expect(merge).to_have_count(0)
        await expect(panel.locator(".history-item")).to_have_count(2)
        await expect(panel.locator(".history")).to_contain_text("Invoice 7731")
        await expect(panel.locator(".identities")).to_contain_text("ada@example.com")
        await expect(panel.locator(".dupe")).to_have_count(0)

        # Files: an image shows as a preview, a document as a download link; the visitor gets both.
        file_input = page.locator(".composer input[type=file]")
        await file_input.set_input_files({"name": "label.png", "mimeType": "image/png", "buffer": tiny_png()})
        await expect(page.locator(".composer-file")).to_contain_text("label.png")
        composer = page.locator(".composer textarea")
        await composer.fill("Here is your return label")
        await composer.press("Enter")
        image = page.locator(".msg-out .att-image img")
        await expect(image).to_have_count(1)
        await expect(image).to_have_attribute("src", re.compile(r"^/api/v1/attachments/[0-9a-f-]+$"))
        await page.wait_for_function("() => { const i = document.querySelector('.msg-out .att-image img'); return i && i.complete && i.naturalWidth === 24; }")
        await page.locator(".att-thumb").click()
        await expect(page.locator("dialog.lightbox img")).to_be_visible()
        await page.locator("dialog.lightbox").get_by_role("button", name="Close").click()
        await file_input.set_input_files({"name": "steps.txt", "mimeType": "text/plain", "buffer": b"1. Print the label\n2. Drop it off\n"})
        await page.locator(".composer").get_by_role("button", name="Send").click()
        download = page.locator(".msg-out .att-file a")
        await expect(download).to_have_text("steps.txt")
        await expect(download).to_have_attribute("download", "steps.txt")
        sent = await ada.wait_for("message.created", lambda d: d["message"]["body_text"] == "Here is your return label")
        assert sent["message"]["author_type"] == "agent"
        await page.screenshot(path=screenshot_path("inbox-customer-files"))

        # A colleague opens the same chat and starts answering: both are told.
        bea = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
        await log_in_as(bea, base, "bea@demo.example", "password-123", "Bea Colleague")
        await bea.locator(f".conv-item[data-conversation-id='{conversation_id}']").click()
        await expect(bea.locator("#conv-title")).to_have_text("Ada Lovelace")
        await expect(page.locator(".collision")).to_contain_text("Also viewing this conversation: Bea Colleague")
        await expect(bea.locator(".collision")).to_contain_text("Demo Agent")
        await bea.locator(".composer textarea").press_sequentially("I can take th", delay=20)
        await expect(page.locator(".collision-typing")).to_contain_text("Bea Colleague")
        await page.screenshot(path=screenshot_path("inbox-customer-colleague"))
        await bea.close()
        await expect(page.locator(".collision")).to_have_count(0)

        # The same screen in Simplified Chinese.
        await page.get_by_label("Language").select_option("zh-CN")
        await expect(page.locator(".customer-panel")).to_contain_text("所有渠道的历史记录")
        await expect(page.locator(".conv-actions")).to_contain_text("关闭")
        await page.screenshot(path=screenshot_path("inbox-customer-zh"))
    finally:
        await sockets.close()

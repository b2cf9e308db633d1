"""Issue 4 follow-up: a chat the agent transferred away stays away after a reload. The conversation
keeps its last assignee until someone takes the transferred work, so the inbox must not bring it
back under "Working on" or "Mine"; "All" still lists it, unassigned while it waits and the new
agent's once taken."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client, until_agents_available
from tests.browser.test_inbox_customer import add_colleague, log_in_as
from tests.realtime.support import Sockets


async def transfer(page: Page, kind: str, target: str) -> None:
    await page.locator(".conv-actions").get_by_role("button", name="Transfer").click()
    dialog = page.locator("dialog.dialog")
    await expect(dialog.locator("#transfer-target")).to_be_visible()
    await dialog.locator("label.segment", has_text=kind).click()
    await dialog.locator("#transfer-target").select_option(label=target)
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_text("Conversation transferred.")).to_be_visible()


async def show(page: Page, view: str) -> None:
    await page.locator(".tabs").get_by_role("button", name=view, exact=True).click()
    await expect(page.locator(".tabs").get_by_role("button", name=view, exact=True)).to_have_attribute("aria-pressed", "true")


async def test_a_transferred_chat_stays_away_after_a_reload(browser, gateway):
    app, base, config = gateway
    sockets = Sockets(base)
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201, json={"name": "Billing"})
    await add_colleague(browser, base, config, tenant_id)
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
        await log_in(page, base, config)
        await page.get_by_label("Your status").select_option("available")

        # A chat taken, then handed to the Billing queue, where nobody is free to take it.
        ann = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-xfer-ann1"})
        await until_agents_available(ann)
        started = await ann.call("start_chat", {"client_id": "c-xfer-00001", "text": "Wrong invoice", "name": "Ann Queue"})
        assert started["ok"], started
        ann_id = started["conversation_id"]
        await page.locator(".offer").get_by_role("button", name="Accept").click()
        await expect(page.locator(".active-item", has_text="Ann Queue")).to_have_count(1)
        await transfer(page, "Queue", "Billing")
        await expect(page.locator(".active-item")).to_have_count(0)
        ann_row = page.locator(f".conv-item[data-conversation-id='{ann_id}']")
        await expect(ann_row.locator(".conv-assignee")).to_have_text("Unassigned")

        await page.reload()
        await expect(page.locator(".live-connected")).to_be_visible()
        await expect(ann_row.locator(".conv-assignee")).to_have_text("Unassigned")
        await expect(page.locator(".active-item")).to_have_count(0)
        await show(page, "Mine")
        await expect(page.get_by_text("No conversations yet")).to_be_visible()
        await expect(ann_row).to_have_count(0)
        await show(page, "Unassigned")
        await expect(ann_row).to_have_count(1)
        await show(page, "All")

        # A second chat handed to a colleague, who takes it: hers from then on.
        bob = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-xfer-bob1"})
        started = await bob.call("start_chat", {"client_id": "c-xfer-00002", "text": "Refund please", "name": "Bob Agent"})
        assert started["ok"], started
        bob_id = started["conversation_id"]
        await page.locator(".offer").get_by_role("button", name="Accept").click()
        await expect(page.locator("#conv-title")).to_have_text("Bob Agent")
        bea = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
        await log_in_as(bea, base, "bea@demo.example", "password-123", "Bea Colleague")
        await bea.get_by_label("Your status").select_option("available")
        await transfer(page, "Agent", "Bea Colleague — Available")
        await bea.locator(".offer", has_text="Bob Agent").get_by_role("button", name="Accept").click()
        await expect(bea.locator(".active-item", has_text="Bob Agent")).to_have_count(1)

        await page.reload()
        await expect(page.locator(".live-connected")).to_be_visible()
        bob_row = page.locator(f".conv-item[data-conversation-id='{bob_id}']")
        await expect(bob_row.locator(".conv-assignee")).to_have_text("Assigned")
        await expect(page.locator(".active-item")).to_have_count(0)
        await page.screenshot(path=screenshot_path("inbox-transfer-reloaded"))
        await show(page, "Mine")
        await expect(page.get_by_text("No conversations yet")).to_be_visible()
        await expect(page.locator(".conv-item")).to_have_count(0)
        await bea.reload()
        await expect(bea.locator(".active-item", has_text="Bob Agent")).to_have_count(1)
        await expect(bea.locator(f".conv-item[data-conversation-id='{bob_id}'] .conv-assignee")).to_have_text("Assigned to you")
    finally:
        await sockets.close()

"""Issue 4 follow-up: what customers and admins type can be long — a 120-character name, a business
(tenant) or queue name as long, a 300-character URL without a space as a message or a subject. The
inbox stays within the screen at 1280×720 and on a tablet: rows and headers never scroll sideways,
long names end in an ellipsis with the whole name in their tooltip, and every control stays visible
and clickable."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.api.test_conversations import customer_writes
from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client, until_agents_available
from tests.realtime.support import Sockets

NAME = ("Adolph Blaine Charles David Earl Frederick Gerald Hubert Irvin John Kenneth Lloyd Martin Nero Oliver Paul "
        "Wolfeschlegelsteinhausenbergerdorff")[:120]
BUSINESS = ("Northwind Traders International Holdings " * 3)[:120]
QUEUE = ("Returns-and-Refunds-for-Damaged-Goods-" * 3)[:100]
URL = ("https://shop.example.com/track?" + "&".join(f"parcel{i}=ABCDEFGHIJ{i:04d}" for i in range(20)))[:300]
assert (len(NAME), len(BUSINESS), len(QUEUE), len(URL)) == (120, 120, 100, 300) and " " not in URL

# Boxes that must never be wider inside than they are (what would scroll sideways or spill over).
BOXES = [".list-pane", ".active-chats", ".active-item", ".list-scroll", ".conv-item", ".conv-pane", ".conv-header",
         ".conv-heading", ".conv-subline", ".thread", ".msg", ".composer", ".customer-panel", ".panel-header",
         ".panel-scroll", "dialog.dialog[open]", ".canned-list", ".canned-list li"]

SPILLS = """(selectors) => {
  const found = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) found.push(`the page scrolls sideways by ${doc.scrollWidth - doc.clientWidth}px`);
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      if (el.clientWidth && el.scrollWidth > el.clientWidth + 1) found.push(`${selector} is ${el.scrollWidth - el.clientWidth}px too wide`);
    }
  }
  return found;
}"""

# Controls that are on screen but cut off, or covered by something (e.g. text spilling over them).
HIDDEN_CONTROLS = """(scopes) => {
  const found = [];
  const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
  for (const scope of scopes) {
    for (const el of document.querySelectorAll(`${scope} button, ${scope} a, ${scope} select, ${scope} textarea`)) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || r.bottom < 0 || r.top > vh) continue;
      const name = `${scope} ${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.textContent).trim().slice(0, 30)}"`;
      if (r.left < 0 || r.right > vw) { found.push(`${name} is cut off`); continue; }
      const top = document.elementFromPoint(r.left + r.width / 2, Math.min(r.top + r.height / 2, vh - 1));
      if (top && !el.contains(top) && !top.contains(el)) found.push(`${name} is covered by ${top.tagName.toLowerCase()}.${top.className}`);
    }
  }
  return found;
}"""

TRUNCATED = """(el) => ({
  cut: el.scrollWidth > el.clientWidth && getComputedStyle(el).textOverflow === 'ellipsis',
  lines: Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)),
})"""


async def fits(page: Page, scopes: list[str]) -> None:
    assert await page.evaluate(SPILLS, BOXES) == []
    assert await page.evaluate(HIDDEN_CONTROLS, scopes) == []


async def shows_in_full_on_hover(page: Page, selector: str, text: str) -> None:
    """Cut short on one line with an ellipsis, the whole text in its tooltip."""
    element = page.locator(selector)
    await expect(element).to_have_attribute("title", text)
    await expect(element).to_have_text(text)
    assert await element.evaluate(TRUNCATED) == {"cut": True, "lines": 1}, selector


async def test_long_names_and_a_long_url_stay_on_screen(browser, gateway):
    app, base, config = gateway
    sockets = Sockets(base)
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201, json={"name": QUEUE})
        await agent.post(f"/api/v1/tenants/{tenant_id}/canned-replies", 201, json={"shortcut": "track", "title": "Tracking link", "body": URL})
        # The agent also serves a second business, so the inbox names the business of each conversation.
        other: dict[str, Any] = await operator.post("/api/v1/tenants", 201, json={"slug": "northwind", "name": BUSINESS,
                                                                                 "branding": {"color": "#aa3300"}})
        await operator.post(f"/api/v1/tenants/{other['id']}/members", 201, json={"email": config.demo.agent_email, "role": "agent"})
    mail_id = await customer_writes(app, other["id"], "orders@northwind.example", "email", URL, subject=URL)
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
        await log_in(page, base, config)
        await page.get_by_label("Your status").select_option("available")
        visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-long-0001"})
        await until_agents_available(visitor)
        started = await visitor.call("start_chat", {"client_id": "c-long-00001", "text": URL, "name": NAME})
        assert started["ok"], started
        await expect(page.locator(".offer .offer-name")).to_have_attribute("title", NAME)
        await page.locator(".offer").get_by_role("button", name="Accept").click()
        await expect(page.locator("#conv-title")).to_have_text(NAME)
        composer = page.locator(".composer textarea")
        await composer.fill(URL)
        await composer.press("Enter")
        await expect(page.locator(".msg-out .msg-body a")).to_have_attribute("href", URL)
        await expect(page.locator(".msg-in .msg-body a")).to_have_attribute("href", URL)
        row = f".conv-item[data-conversation-id='{started['conversation_id']}']"

        # 1280×720, list | conversation | customer.
        await expect(page.locator(".customer-panel")).to_be_visible()
        await page.screenshot(path=screenshot_path("inbox-layout-1280"))
        await fits(page, [".list-pane", ".conv-pane", ".customer-panel"])
        for selector in (".active-item .active-name", f"{row} .conv-name", "#conv-title", "#customer-title", ".msg-in .msg-author"):
            await shows_in_full_on_hover(page, selector, NAME)
        await expect(page.locator(".customer-panel .fields").first).to_contain_text(NAME)  # the profile has it all
        await composer.press_sequentially("/tr")
        await expect(page.get_by_role("listbox", name="Canned replies").get_by_role("option")).to_contain_text("Tracking link")
        await fits(page, [])  # the picker covers the Reply/Note chips on purpose
        await composer.press("Escape")
        await composer.fill("")
        await shows_in_full_on_hover(page, f"{row} .conv-tenant", "Demo Company")  # not cut, but never squeezes the row

        # The transfer dialog with a queue name as long as they may be.
        await page.locator(".conv-actions").get_by_role("button", name="Transfer").click()
        dialog = page.locator("dialog.dialog")
        await dialog.locator("#transfer-target").select_option(label=QUEUE)
        await fits(page, ["dialog.dialog"])
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_have_count(0)

        # The other business's e-mail: the URL is its subject and its message.
        mail_row = f".conv-item[data-conversation-id='{mail_id}']"
        await page.locator(mail_row).click()
        await expect(page.locator(".msg-in .msg-body a")).to_have_attribute("href", URL)
        await page.screenshot(path=screenshot_path("inbox-layout-1280-subject"))
        await fits(page, [".list-pane", ".conv-pane", ".customer-panel"])
        await shows_in_full_on_hover(page, f"{mail_row} .conv-subject", URL)
        await shows_in_full_on_hover(page, f"{mail_row} .conv-tenant", BUSINESS)
        # Its brand colour marks its work; the demo business has none.
        await expect(page.locator(f"{mail_row} .conv-tenant")).to_have_css("border-left-color", "rgb(170, 51, 0)")
        await expect(page.locator(f"{row} .conv-tenant")).to_have_css("border-left-width", "0px")
        await shows_in_full_on_hover(page, ".conv-subline-text >> nth=0", URL)
        await shows_in_full_on_hover(page, ".conv-subline-text >> nth=1", BUSINESS)
        await shows_in_full_on_hover(page, ".panel-sub", f"Customer · {BUSINESS}")

        # A tablet in portrait: list | conversation, the customer as a drawer.
        await page.set_viewport_size({"width": 820, "height": 1180})
        if await page.locator(".customer-panel").is_visible():
            await page.get_by_role("button", name="Hide customer details").click()
        await expect(page.locator(".customer-panel")).to_have_count(0)
        await page.locator(".active-item").click()
        await expect(page.locator("#conv-title")).to_have_text(NAME)
        await page.screenshot(path=screenshot_path("inbox-layout-tablet"))
        await fits(page, [".list-pane", ".conv-pane"])
        for selector in (".active-item .active-name", f"{row} .conv-name", "#conv-title", ".msg-in .msg-author"):
            await shows_in_full_on_hover(page, selector, NAME)
        await page.get_by_role("button", name="Customer details").click()
        await expect(page.locator(".customer-panel")).to_be_visible()
        await page.wait_for_timeout(300)  # the drawer slides in
        await fits(page, [".customer-panel"])
        await shows_in_full_on_hover(page, "#customer-title", NAME)
    finally:
        await sockets.close()

"""Co-browsing end to end, in two browser contexts: a visitor chatting from a shop's checkout page
(the widget embedded on another origin) and the agent in the inbox. The agent asks; the visitor
sees who asks and what they will see, and allows it; the agent sees the page live in the inbox and
a change on the page shows up there; what the visitor types in the password, card-number and
masked fields never reaches the gateway; the visitor stops it with the banner's button."""

from __future__ import annotations

import json

import sqlalchemy as sa
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from gateway.cobrowse import CobrowseSessions
from gateway.db import schema as t
from gateway.keys import DB, REDIS
from tests.browser.conftest import screenshot_path, serve_gateway
from tests.browser.test_inbox_chat import log_in
from tests.browser.test_widget import start_chat

SECRETS = ("hunter2-secret", "4111111111111111", "Ada Secret-Name", "PRIVATE NOTE 77")


def shop_page(base: str) -> str:
    return f"""<!doctype html><meta charset=utf-8><title>Checkout</title>
<h1>Checkout</h1>
<form onsubmit="return false">
  <input id=name name=fullname placeholder="Your full name" aria-label="Customer">
  <input id=password type=password placeholder="Account password" aria-label="Secret">
  <input id=card autocomplete=cc-number placeholder="Card" aria-label="Card">
</form>
<p data-wecc-mask id=note>PRIVATE NOTE 77</p>
<button id=coupon onclick="document.body.insertAdjacentHTML('beforeend', '<p id=applied>Coupon applied</p>')">Apply coupon</button>
<script src="{base}/widget.js" data-tenant="demo-widget-key" async></script>"""


async def test_the_agent_sees_the_visitors_page_live_with_consent_and_nothing_private_leaves_it(
        browser: Browser, aiohttp_server, tmp_path) -> None:
    app, base, config = await serve_gateway(aiohttp_server, tmp_path)

    async def checkout(request: web.Request) -> web.Response:
        return web.Response(text=shop_page(base), content_type="text/html")

    shop = web.Application()
    shop.router.add_get("/", checkout)
    site = str((await aiohttp_server(shop)).make_url("")).rstrip("/")
    agent_page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in(agent_page, base, config)
    await _allow_origin(app, site)  # the shop is one of the tenant's sites
    await agent_page.get_by_label("Your status").select_option("available")

    visitor: Page = await (await browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")).new_page()
    await visitor.goto(f"{site}/")
    await start_chat(visitor, "Can you help me with the checkout?")
    await agent_page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(agent_page.locator("#conv-title")).to_be_visible()

    # The agent asks; the visitor is told who asks and what they will see.
    await agent_page.get_by_role("button", name="Co-browse").click()
    await expect(agent_page.locator(".cobrowse-state")).to_have_text("Asking the customer to share their page…")
    ask = visitor.get_by_role("alertdialog")
    await expect(ask).to_contain_text("Demo would like to see this page with you")
    await expect(ask).to_contain_text("passwords and card numbers are never shown")
    await visitor.screenshot(path=screenshot_path("cobrowse-consent"))
    await ask.get_by_role("button", name="Allow").click()
    await expect(visitor.get_by_role("status").filter(has_text="Demo can see this page")).to_be_visible()

    # The agent sees the page live, and a change on it.
    await expect(agent_page.locator(".cobrowse-state")).to_have_text("You see the customer's page live")
    replay = agent_page.frame_locator(".cobrowse-stage iframe")
    await expect(replay.locator("h1")).to_have_text("Checkout", timeout=10000)
    await visitor.locator("#name").fill("Ada Secret-Name")
    await visitor.locator("#password").fill("hunter2-secret")
    await visitor.locator("#card").fill("4111111111111111")
    await visitor.locator("#coupon").click()
    await expect(replay.locator("#applied")).to_have_text("Coupon applied", timeout=10000)
    await agent_page.screenshot(path=screenshot_path("cobrowse-agent-view"))

    # Nothing private reached the gateway: not in what it keeps, not in what it relayed.
    session = await _the_session(app)
    kept = json.dumps(await CobrowseSessions(app[REDIS]).since_snapshot(session))
    assert "Checkout" in kept and "Coupon applied" in kept
    for secret in SECRETS:
        assert secret not in kept, secret
    replayed = await agent_page.frame_locator(".cobrowse-stage iframe").locator("body").inner_html()
    for secret in SECRETS:
        assert secret not in replayed, secret

    # The visitor stops it at once.
    await visitor.get_by_role("button", name="Stop sharing").click()
    await expect(agent_page.locator(".cobrowse-state")).to_have_text("The customer stopped sharing their page")
    await expect(visitor.get_by_role("status").filter(has_text="can see this page")).to_have_count(0)


async def _allow_origin(app, site: str) -> None:
    async with app[DB].begin() as conn:
        row = (await conn.execute(sa.select(t.tenants.c.id, t.tenants.c.allowed_origins).where(t.tenants.c.slug == "demo"))).one()
        await conn.execute(sa.update(t.tenants).where(t.tenants.c.id == row.id).values(allowed_origins=[*row.allowed_origins, site]))


async def _the_session(app):
    [key] = [key async for key in app[REDIS].scan_iter("wecc:cb:s:*")]
    found = await CobrowseSessions(app[REDIS]).get((key.decode() if isinstance(key, bytes) else key).rsplit(":", 1)[1])
    assert found is not None
    return found

"""Co-browsing end to end, in two browser contexts: a visitor chatting from a shop's checkout page
(the widget embedded on another origin) and the agent in the inbox. The agent asks; the visitor
sees who asks and what they will see, and allows it; the agent sees the page live in the inbox and
a change on the page shows up there; what the visitor types in the password, card-number and
masked fields never reaches the gateway; the visitor stops it with the banner's button.

Then what the agent does on the page: their pointer and highlight appear on the visitor's page, on
the element they point at; with a second consent their clicks and typing change it (never a
password field), and their navigation to another of the shop's pages carries the session there;
the visitor takes control back at once. And the other ways in and out: a decline, a visitor who
reads out a code, an agent whose inbox reloads (catching up from the latest snapshot)."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from gateway.cobrowse import CobrowseSessions
from gateway.core.tenant_settings import write_section
from gateway.db import schema as t
from gateway.keys import DB, REDIS
from tests.browser.conftest import screenshot_path, serve_gateway, until
from tests.browser.test_inbox_chat import log_in
from tests.browser.test_widget import start_chat

# Typed into the password, card and name fields; a text marked data-wecc-mask; and two of the shop's
# own private parts, named by the tenant's co-browsing selectors.
SECRETS = ("hunter2-secret", "4111111111111111", "Ada Secret-Name", "PRIVATE NOTE 77", "ACCT-99-1187", "LOYAL-5521")


def shop_page(base: str) -> str:
    return f"""<!doctype html><meta charset=utf-8><title>Checkout</title>
<h1>Checkout</h1>
<form onsubmit="return false">
  <input id=name name=fullname placeholder="Your full name" aria-label="Customer">
  <input id=password type=password placeholder="Account password" aria-label="Secret">
  <input id=card autocomplete=cc-number placeholder="Card" aria-label="Card">
  <input id=member data-wecc-mask placeholder="Member number" aria-label="Member">
</form>
<p data-wecc-mask id=note>PRIVATE NOTE 77</p>
<p>Account <span class=account-number>ACCT-99-1187</span></p>
<div id=loyalty-card>Loyalty card LOYAL-5521</div>
<button id=coupon onclick="document.body.insertAdjacentHTML('beforeend', '<p id=applied>Coupon applied</p>')">Apply coupon</button>
<script src="{base}/widget.js" data-tenant="demo-widget-key" async></script>"""


def help_page(base: str) -> str:
    return f"""<!doctype html><meta charset=utf-8><title>Help</title>
<h1>Help centre</h1><p>Shipping takes two days.</p>
<script src="{base}/widget.js" data-tenant="demo-widget-key" async></script>"""


async def chatting(browser: Browser, aiohttp_server, tmp_path) -> tuple[web.Application, Page, Page, str]:
    """A visitor on the shop's checkout page chatting with the agent, who has accepted the chat."""
    app, base, config = await serve_gateway(aiohttp_server, tmp_path)
    pages = {"/": shop_page(base), "/help": help_page(base)}

    async def shop_handler(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.path], content_type="text/html")

    shop = web.Application()
    shop.router.add_get("/", shop_handler)
    shop.router.add_get("/help", shop_handler)
    site = str((await aiohttp_server(shop)).make_url("")).rstrip("/")
    agent_page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in(agent_page, base, config)
    await _allow_origin(app, site)  # the shop is one of the tenant's sites
    await _private_parts(app, mask=[".account-number"], block=["#loyalty-card"])
    await agent_page.get_by_label("Your status").select_option("available")
    visitor: Page = await (await browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")).new_page()
    await visitor.goto(f"{site}/")
    await start_chat(visitor, "Can you help me with the checkout?")
    await agent_page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(agent_page.locator("#conv-title")).to_be_visible()
    return app, agent_page, visitor, site


async def watching(agent_page: Page, visitor: Page) -> None:
    """The agent asks, the visitor allows, the replay shows the page."""
    await agent_page.get_by_role("button", name="Co-browse").click()
    await visitor.get_by_role("alertdialog").get_by_role("button", name="Allow").click()
    await expect(agent_page.frame_locator(".cobrowse-stage iframe").locator("h1")).to_have_text("Checkout", timeout=10000)


async def test_the_agent_sees_the_visitors_page_live_with_consent_and_nothing_private_leaves_it(
        browser: Browser, aiohttp_server, tmp_path) -> None:
    app, agent_page, visitor, _ = await chatting(browser, aiohttp_server, tmp_path)

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
    assert "Checkout" in kept and "Coupon applied" in kept and "Account" in kept
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


async def _private_parts(app, mask: list[str], block: list[str]) -> None:
    """What the tenant admin sets in the widget's co-browsing settings."""
    async with app[DB].begin() as conn:
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
        await write_section(conn, tenant_id, "widget", {"cobrowse": {"mask_selectors": mask, "block_selectors": block}})


async def _the_session(app):
    [key] = [key async for key in app[REDIS].scan_iter("wecc:cb:s:*")]
    found = await CobrowseSessions(app[REDIS]).get((key.decode() if isinstance(key, bytes) else key).rsplit(":", 1)[1])
    assert found is not None
    return found


async def _agents_pointer(visitor: Page) -> list[float] | None:
    """Where the agent's pointer is drawn on the visitor's page (its tip), or None when not shown."""
    return await visitor.evaluate("""() => {
        const pointer = document.querySelector('wecc-cobrowse')?.shadowRoot?.querySelector('.pointer');
        const at = pointer && pointer.style.display === 'block' && /translate\\(([-\\d.]+)px, ([-\\d.]+)px\\)/.exec(pointer.style.transform);
        return at ? [Number(at[1]) + 2, Number(at[2]) + 2] : null;
    }""")


async def _highlighted(visitor: Page) -> dict | None:
    return await visitor.evaluate("""() => {
        const box = document.querySelector('wecc-cobrowse')?.shadowRoot?.querySelector('.highlight');
        return box && box.style.display === 'block' ? box.getBoundingClientRect().toJSON() : null;
    }""")


async def _point_at(agent_page: Page, selector: str, click: bool = False) -> None:
    """The agent's mouse over that element of the customer's page, in the replay."""
    box = await agent_page.frame_locator(".cobrowse-stage iframe").locator(selector).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await agent_page.mouse.move(x - 3, y - 3)
    await agent_page.mouse.move(x, y, steps=3)
    if click:
        await agent_page.mouse.click(x, y)


async def test_the_agent_points_then_with_control_clicks_types_and_leads_the_visitor_to_another_page(
        browser: Browser, aiohttp_server, tmp_path) -> None:
    app, agent_page, visitor, site = await chatting(browser, aiohttp_server, tmp_path)
    await watching(agent_page, visitor)

    # The agent points at the coupon button: the pointer shows on the visitor's page, on that button
    # (the two screens differ in size: it is anchored to the element).
    await _point_at(agent_page, "#coupon")
    coupon = await visitor.locator("#coupon").bounding_box()
    tip = await until(lambda: _agents_pointer(visitor))
    assert tip is not None, "the agent's pointer never showed on the visitor's page"
    assert coupon["x"] <= tip[0] <= coupon["x"] + coupon["width"] and coupon["y"] <= tip[1] <= coupon["y"] + coupon["height"]
    # A click without control highlights the button and does not press it.
    await _point_at(agent_page, "#coupon", click=True)
    lit = await until(lambda: _highlighted(visitor))
    assert lit is not None and abs(lit["x"] - coupon["x"]) < 8 and abs(lit["width"] - coupon["width"]) < 12
    await visitor.screenshot(path=screenshot_path("cobrowse-pointer"))
    await expect(visitor.locator("#applied")).to_have_count(0)

    # Control needs the visitor's second yes.
    await agent_page.get_by_role("button", name="Ask for control").click()
    ask = visitor.get_by_role("alertdialog")
    await expect(ask).to_contain_text("Demo would like to click and type on this page for you")
    await ask.get_by_role("button", name="Allow").click()
    await expect(agent_page.locator(".cobrowse-state")).to_have_text("You control the customer's page")
    await expect(visitor.get_by_role("status").filter(has_text="Demo is controlling this page")).to_be_visible()

    # Now the agent's click presses the button, and what they type lands in an ordinary field...
    await _point_at(agent_page, "#coupon", click=True)
    await expect(visitor.locator("#applied")).to_have_text("Coupon applied")
    await _point_at(agent_page, "#name", click=True)
    await agent_page.get_by_label("Type into the field you clicked").fill("Grace Hopper")
    await agent_page.get_by_role("button", name="Fill in").click()
    await expect(visitor.locator("#name")).to_have_value("Grace Hopper")
    # ...but never in a password field (in the replay, a blocked box without even its id).
    await _point_at(agent_page, "form > :nth-child(2)", click=True)
    await agent_page.get_by_label("Type into the field you clicked").fill("not-yours")
    await agent_page.get_by_role("button", name="Fill in").click()
    await _point_at(agent_page, "#name", click=True)  # a later action shows the earlier one was handled
    await agent_page.get_by_label("Type into the field you clicked").fill("Grace B. Hopper")
    await agent_page.get_by_role("button", name="Fill in").click()
    await expect(visitor.locator("#name")).to_have_value("Grace B. Hopper")
    await expect(visitor.locator("#password")).to_have_value("")
    # Nor in a field the site marked as masked (the agent can't see what is in it).
    await _point_at(agent_page, "form > :nth-child(4)", click=True)
    await agent_page.get_by_label("Type into the field you clicked").fill("12345")
    await agent_page.get_by_role("button", name="Fill in").click()
    await _point_at(agent_page, "#name", click=True)
    await agent_page.get_by_label("Type into the field you clicked").fill("Grace Brewster Hopper")
    await agent_page.get_by_role("button", name="Fill in").click()
    await expect(visitor.locator("#name")).to_have_value("Grace Brewster Hopper")
    await expect(visitor.locator("#member")).to_have_value("")

    # Another site is not the agent's to open: the visitor stays.
    await agent_page.get_by_label("Open a page of their site").fill("//evil.example/login")
    await agent_page.get_by_role("button", name="Open page").click()

    # The agent opens another page of the shop: the visitor goes there and the session carries on.
    await agent_page.screenshot(path=screenshot_path("cobrowse-agent-control"))
    await agent_page.get_by_label("Open a page of their site").fill("/help")
    await agent_page.get_by_role("button", name="Open page").click()
    await visitor.wait_for_url(f"{site}/help")
    await expect(agent_page.frame_locator(".cobrowse-stage iframe").locator("h1")).to_have_text("Help centre", timeout=10000)
    await expect(agent_page.locator(".cobrowse-away")).to_have_count(0)  # "the page is away" lasted only till it came back
    await expect(visitor.get_by_role("status").filter(has_text="Demo is controlling this page")).to_be_visible()

    # The visitor takes control back: the agent is told, and their clicks are pointing again.
    await visitor.get_by_role("button", name="Take back control").click()
    await expect(agent_page.locator(".cobrowse-bar .cobrowse-note")).to_have_text("The customer has control of their page")
    await expect(agent_page.get_by_role("button", name="Ask for control")).to_be_visible()
    await expect(visitor.get_by_role("status").filter(has_text="Demo can see this page")).to_be_visible()
    kinds = await _cobrowse_events(app)
    assert kinds == ["cobrowse.requested", "cobrowse.started", "cobrowse.control_requested", "cobrowse.control_granted",
                     "cobrowse.control_ended"]


async def test_a_decline_a_code_read_out_and_a_reloaded_inbox(browser: Browser, aiohttp_server, tmp_path) -> None:
    app, agent_page, visitor, _ = await chatting(browser, aiohttp_server, tmp_path)

    # The visitor declines: the agent is told, nothing is shared.
    await agent_page.get_by_role("button", name="Co-browse").click()
    await visitor.get_by_role("alertdialog").get_by_role("button", name="Decline").click()
    await expect(agent_page.locator(".cobrowse-state")).to_have_text("The customer declined to share their page")
    await agent_page.locator(".cobrowse-bar").get_by_role("button", name="Close").click()

    # Later the visitor shares the page themselves, with a code they read out. The page now holds a
    # long Chinese text with emoji: 264 KB as sent, more than two messages may carry, so its snapshot
    # goes in parts (cut by bytes, never inside an emoji).
    await visitor.evaluate("document.body.insertAdjacentHTML('beforeend', '<p id=terms>' + '条款和细则😀'.repeat(12000) + '</p>')")
    await visitor.get_by_role("button", name="Share this page").click()
    offer = visitor.get_by_role("alertdialog")
    await expect(offer).to_contain_text("Share this page with the agent you are talking to?")
    await offer.get_by_role("button", name="Get a code").click()
    shown = visitor.locator("wecc-widget .cobrowse-code .code")
    await expect(shown).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    await visitor.screenshot(path=screenshot_path("cobrowse-code"))
    code = (await shown.text_content() or "").replace(" ", "")
    await agent_page.get_by_label("Customer's code").fill("000 000" if code != "000000" else "111 111")
    await agent_page.get_by_role("button", name="Connect").click()
    await expect(agent_page.locator(".cobrowse-problem")).to_contain_text("No such code is waiting")
    await agent_page.get_by_label("Customer's code").fill(f"{code[:3]} {code[3:]}")
    await agent_page.get_by_role("button", name="Connect").click()
    replay = agent_page.frame_locator(".cobrowse-stage iframe")
    await expect(replay.locator("h1")).to_have_text("Checkout", timeout=10000)
    await expect(visitor.get_by_role("status").filter(has_text="Demo can see this page")).to_be_visible()
    assert await replay.locator("#terms").evaluate("p => p.textContent === '条款和细则😀'.repeat(12000)")

    # The agent's inbox reloads: asking again joins the running session and catches up at once.
    await visitor.locator("#coupon").click()
    await expect(replay.locator("#applied")).to_have_count(1, timeout=10000)
    await agent_page.reload()
    await agent_page.locator(".conv-item").first.click()
    await agent_page.get_by_role("button", name="Co-browse").click()
    await expect(agent_page.locator(".cobrowse-state")).to_have_text("You see the customer's page live")
    await expect(agent_page.frame_locator(".cobrowse-stage iframe").locator("#applied")).to_have_text("Coupon applied", timeout=10000)
    assert (await _cobrowse_events(app))[-2:] == ["cobrowse.declined", "cobrowse.started"]


async def _cobrowse_events(app) -> list[str]:
    async with app[DB].connect() as conn:
        return list((await conn.execute(sa.select(t.events.c.type).where(t.events.c.type.like("cobrowse.%"))
                                        .order_by(t.events.c.id))).scalars())

"""Issue 4, the agent's side of web chat: the demo agent goes available, a visitor starts a chat from
the widget's socket, the offer rings with a countdown, the agent accepts and sees who the customer
is, replies (the visitor gets it), writes an internal note (the visitor never does), keeps two
chats at once with unread counts, and closes the conversation. Also looked at on a tablet."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import sqlalchemy as sa
from playwright.async_api import Page, expect

from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import screenshot_path
from tests.helpers import Api
from tests.realtime.support import Listener, Sockets, session_cookie

# Counts the oscillators the page starts: the offer's ring is synthesised with WebAudio.
COUNT_RINGS = """
(() => {
  window.__oscillators = 0;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  const original = Ctx.prototype.createOscillator;
  Ctx.prototype.createOscillator = function () {
    window.__oscillators += 1;
    return original.call(this);
  };
})();
"""


async def ask_order_number_before_chat(app, config) -> None:
    """What the tenant admin sets up: the pre-chat form asks for an order number."""
    async with app[DB].begin() as conn:
        tenant_id, settings = (await conn.execute(
            sa.select(t.tenants.c.id, t.tenants.c.settings).where(t.tenants.c.slug == config.demo.tenant_slug))).one()
        settings = dict(settings or {})
        settings["widget"] = {"prechat": {"enabled": True, "name": "optional", "email": "optional",
                                          "fields": [{"name": "order_number", "label": "Order number", "type": "text"}]}}
        await conn.execute(sa.update(t.tenants).where(t.tenants.c.id == tenant_id).values(settings=settings))


async def log_in(page: Page, base: str, config) -> None:
    await page.goto(f"{base}/")
    await page.fill("#login-email", config.demo.agent_email)
    await page.fill("#login-password", config.demo.agent_password)
    await page.click("button[type=submit]")
    await expect(page.get_by_text("Demo Agent")).to_be_visible()
    await expect(page.locator(".live-connected")).to_be_visible()


@asynccontextmanager
async def rest_client(base: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client of the gateway on its real port, for tests.helpers.Api (each Api keeps its own cookies)."""
    async with aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def demo_staff(http: aiohttp.ClientSession, config: Config) -> tuple[Api, Api, str]:
    """The demo agent and the operator, logged in, and the demo tenant's id."""
    agent = await Api.login(http, config.demo.agent_email, config.demo.agent_password)  # type: ignore[arg-type]
    operator = await Api.login(http, config.demo.operator_email, config.demo.operator_password)  # type: ignore[arg-type]
    return agent, operator, agent.tenant_id(config.demo.tenant_slug)


async def viewer_names(colleague: Listener, conversation_id: str) -> list[str]:
    """Who the gateway says has the conversation open, as a colleague following it (unviewed) hears it."""
    answer = await colleague.call("join_conversation", {"conversation_id": conversation_id, "view": False})
    assert answer["ok"], answer
    return [v["name"] for v in answer["viewers"]]


async def until_viewers(colleague: Listener, conversation_id: str, expected: list[str]) -> None:
    names: list[str] = []
    for _ in range(100):
        names = await viewer_names(colleague, conversation_id)
        if names == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"viewers of {conversation_id}: {names}, expected {expected}")


async def until_agents_available(visitor: Listener) -> None:
    for _ in range(100):
        answer = await visitor.call("availability", {})
        if answer.get("ok") and answer.get("agents_available"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the agent never became available: {answer}")


async def seconds_left(page: Page, offer) -> int:
    text = await offer.locator(".offer-countdown").inner_text()
    match = re.search(r"(\d+)", text)
    assert match, text
    return int(match.group(1))


async def test_agent_takes_a_chat_from_offer_to_close(browser, gateway):
    app, base, config = gateway
    sockets = Sockets(base)
    await ask_order_number_before_chat(app, config)
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
        await page.add_init_script(COUNT_RINGS)
        await log_in(page, base, config)
        await page.get_by_label("Your status").select_option("available")

        # A visitor fills in the pre-chat form and starts a chat.
        ada = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-inbox-ada1"})
        await until_agents_available(ada)
        started = await ada.call("start_chat", {
            "client_id": "c-ada-000001", "text": "Hello, my parcel never arrived",
            "name": "Ada Lovelace", "email": "ada@example.com", "fields": {"order_number": "A-17"},
        })
        assert started["ok"], started
        ada_conversation = started["conversation_id"]

        # The offer rings, says who it is, and counts down to its expiry.
        offer = page.locator(".offer")
        await expect(offer).to_have_count(1)
        await expect(offer).to_contain_text("Ada Lovelace")
        await expect(offer).to_contain_text("Hello, my parcel never arrived")
        first = await seconds_left(page, offer)
        assert 5 <= first <= 20, first
        await page.wait_for_timeout(1300)
        assert await seconds_left(page, offer) < first
        assert await page.evaluate("window.__oscillators") > 0, "the offer did not ring"
        await page.screenshot(path=screenshot_path("inbox-chat-offer"))

        # Accepting opens the conversation with the customer panel (the screen pop).
        await offer.get_by_role("button", name="Accept").click()
        await expect(page.locator(".offer")).to_have_count(0)
        await expect(page.locator("#conv-title")).to_have_text("Ada Lovelace")
        await expect(page.locator(".thread")).to_contain_text("Hello, my parcel never arrived")
        panel = page.locator(".customer-panel")
        await expect(panel.locator("#customer-title")).to_have_text("Ada Lovelace")
        prechat = panel.locator(".panel-section", has_text="Pre-chat form")
        await expect(prechat).to_contain_text("ada@example.com")
        await expect(prechat).to_contain_text("Order number")
        await expect(prechat).to_contain_text("A-17")
        await expect(panel.locator(".history-item.current")).to_have_count(1)
        await expect(page.locator(".active-item")).to_have_count(1)

        # Typing shows both ways.
        assert (await ada.call("typing", {"conversation_id": ada_conversation, "typing": True}))["ok"]
        await expect(page.get_by_text("Ada Lovelace is typing…")).to_be_visible()
        composer = page.locator(".composer textarea")
        await composer.click()
        await composer.press_sequentially("Sorry to hear", delay=20)
        await ada.wait_for("conversation.typing", lambda d: d.get("typing") is True)
        await composer.fill("")

        # A reply reaches the visitor; an internal note never does.
        await composer.fill("I'm checking your parcel now.")
        await composer.press("Enter")
        reply = await ada.wait_for("message.created", lambda d: d["message"]["author_type"] == "agent")
        assert reply["message"]["body_text"] == "I'm checking your parcel now."
        await expect(page.locator(".msg-out:not(.msg-note)")).to_contain_text("I'm checking your parcel now.")
        ticks = page.locator(".msg-out:not(.msg-note) .ticks")
        await expect(ticks).to_have_attribute("data-receipt", "sent")
        # The widget shows it and says so: the agent's message gets its read ticks.
        assert (await ada.call("receipt", {"conversation_id": ada_conversation, "message_id": reply["message"]["id"], "status": "read"}))["ok"]
        await expect(ticks).to_have_attribute("data-receipt", "read")

        await page.get_by_role("button", name="Note").click()
        await composer.fill("Courier lost it — refund approved by Sam")
        await composer.press("Enter")
        note = page.locator(".msg-note")
        await expect(note).to_contain_text("Courier lost it — refund approved by Sam")
        await expect(note).to_contain_text("Internal note")
        await page.get_by_role("button", name="Reply", exact=True).click()
        await composer.fill("A refund is on its way.")
        await composer.press("Enter")
        await ada.wait_for("message.created", lambda d: d["message"]["body_text"] == "A refund is on its way.")
        assert not [e for e in ada.events if "Courier lost it" in str(e)], "the visitor received the internal note"

        # A second chat at once: the first one counts what arrives while it is not open.
        bob = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-inbox-bob1"})
        bob_started = await bob.call("start_chat", {"client_id": "c-bob-000001", "text": "Do you ship to Norway?", "name": "Bob Berg"})
        assert bob_started["ok"], bob_started
        await expect(page.locator(".offer")).to_contain_text("Bob Berg")
        await page.locator(".offer").get_by_role("button", name="Accept").click()
        await expect(page.locator("#conv-title")).to_have_text("Bob Berg")
        await expect(page.locator(".active-item")).to_have_count(2)
        # Colleagues see the agent on the chat they have open, not on every chat they hold.
        async with rest_client(base) as http:
            operator = await Api.login(http, config.demo.operator_email, config.demo.operator_password)  # type: ignore[arg-type]
        colleague = await sockets.connect("/agent", cookie=session_cookie(operator), origin=base)
        await until_viewers(colleague, bob_started["conversation_id"], ["Demo Agent"])
        await until_viewers(colleague, ada_conversation, [])
        assert (await ada.call("send_message", {"conversation_id": ada_conversation, "client_id": "c-ada-000002", "text": "Thank you!"}))["ok"]
        ada_row = page.locator(".active-item", has_text="Ada Lovelace")
        await expect(ada_row.locator(".unread-count")).to_have_attribute("title", "1 unread")
        await page.screenshot(path=screenshot_path("inbox-chat-two-chats"))
        await ada_row.click()
        await expect(page.locator("#conv-title")).to_have_text("Ada Lovelace")
        await expect(page.locator(".thread")).to_contain_text("Thank you!")
        await expect(ada_row.locator(".unread-count")).to_have_count(0)
        # Switching: the chat now open is viewed, the one left (still held) only followed.
        await until_viewers(colleague, ada_conversation, ["Demo Agent"])
        await until_viewers(colleague, bob_started["conversation_id"], [])
        await page.screenshot(path=screenshot_path("inbox-chat-conversation"))

        # Closing ends the agent's task and the conversation.
        await page.locator(".conv-actions").get_by_role("button", name="Close").click()
        dialog = page.locator("dialog.dialog")
        await expect(dialog).to_be_visible()
        await dialog.get_by_role("button", name="Close conversation").click()
        await expect(page.locator(".conv-header .pill")).to_have_text("Closed")
        await expect(page.get_by_text("This conversation is closed: you can add internal notes.")).to_be_visible()
        await expect(page.locator(".active-item")).to_have_count(1)
        async with app[DB].connect() as conn:
            status = (await conn.execute(sa.select(t.conversations.c.status).where(t.conversations.c.id == ada_conversation))).scalar_one()
            task_states = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.conversation_id == ada_conversation))).scalars().all()
        assert status == "closed"
        assert task_states == ["done"]

        # A reload keeps the agent's status and the chat still held, with its task actions.
        await page.reload()
        await expect(page.get_by_label("Your status")).to_have_value("available")
        await expect(page.locator(".active-item")).to_have_count(1)

        # On a tablet in portrait: list and conversation side by side, the customer panel as a drawer.
        await page.locator(".active-item", has_text="Bob Berg").click()
        await expect(page.locator(".conv-actions").get_by_role("button", name="Transfer")).to_be_visible()
        await expect(page.locator("#conv-title")).to_have_text("Bob Berg")
        await page.set_viewport_size({"width": 820, "height": 1180})
        await expect(page.locator(".list-pane")).to_be_visible()
        await expect(page.locator(".conv-pane")).to_be_visible()
        if not await page.locator(".customer-panel").is_visible():
            await page.get_by_role("button", name="Customer details").click()
        await expect(page.locator(".customer-panel #customer-title")).to_have_text("Bob Berg")
        await page.wait_for_timeout(300)  # the drawer slides in
        await page.screenshot(path=screenshot_path("inbox-chat-tablet"))
        await page.get_by_role("button", name="Hide customer details").click()
        await expect(page.locator(".customer-panel")).to_have_count(0)
        await page.screenshot(path=screenshot_path("inbox-chat-tablet-conversation"))
    finally:
        await sockets.close()

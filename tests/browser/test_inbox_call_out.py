"""Calls the gateway places, in the inbox: the agent calls a customer's number from the customer
panel, or answers a callback offer (its number and topic on the card); either way the call bar
says it is calling until the customer (baresip, reached through the trunk) picks up, they hear
the agent's microphone, and hanging up ends the customer's call too."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.async_api import Page, expect

from gateway.core.contacts import add_identity
from gateway.db import schema as t
from gateway.keys import DB
from tests.api.test_conversations import customer_writes
from tests.browser.conftest import chromium_with_fake_microphone, screenshot_path, serve_gateway, until
from tests.browser.test_inbox_chat import log_in
from tests.browser.test_inbox_shell import app_memberships
from tests.media.support import ClientPeer, is_silent, until_heard
from tests.realtime.support import Sockets
from tests.sip.baresip import Baresip, free_port_pair

NUMBER = "+4930555123"


async def test_an_agent_calls_the_customer_from_the_customer_panel(aiohttp_server, tmp_path):
    customer = Baresip(tmp_path / "customer", 440.0, user=NUMBER)
    await customer.start()
    try:
        sip = {"listen": f"127.0.0.1:{free_port_pair()}", "numbers": [{"number": "+4930123456", "tenant": "demo"}],
               "trunks": [{"name": "carrier", "addresses": ["127.0.0.1"], "outbound": {"proxy": f"127.0.0.1:{customer.sip_port}"}}]}
        app, base, config = await serve_gateway(aiohttp_server, tmp_path, media={"workers": 1},
                                                channels={"chat": {"enabled": True}, "voice": {"enabled": True, "sip": sip}})
        tenant_id = (await app_memberships(app, config))[config.demo.tenant_slug]
        conversation_id = await customer_writes(app, tenant_id, "ada@example.com", "chat", "Please call me back", subject="Refund")
        async with app[DB].begin() as conn:
            contact_id = (await conn.execute(sa.select(t.conversations.c.contact_id).where(
                t.conversations.c.id == conversation_id))).scalar_one()
            await add_identity(conn, tenant_id, contact_id, "phone", NUMBER)

        async with chromium_with_fake_microphone() as browser:
            page: Page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            await log_in(page, base, config)
            await page.locator(".conv-item").first.click()
            call_button = page.locator(".customer-panel .call-number")
            await expect(call_button).to_have_attribute("aria-label", f"Call {NUMBER}")
            await call_button.click()

            bar = page.locator(".call-bar")
            await expect(bar).to_have_attribute("data-phase", "talking", timeout=15000)
            await customer.wait_for("CALL_ESTABLISHED")  # their phone rang; they picked up
            await expect(bar.locator(".call-state")).to_have_text("On the call", timeout=10000)
            await until_heard(customer, lambda audio: not is_silent(audio))  # the agent's microphone
            await expect(call_button).to_be_disabled()  # one call at a time
            await page.screenshot(path=screenshot_path("inbox-call-out"))

            await bar.get_by_role("button", name="Hang up").click()
            await customer.wait_for("CALL_CLOSED")
            await expect(bar).to_have_attribute("data-phase", "ended")
    finally:
        await customer.stop()


async def test_an_agent_answers_a_callback_and_the_bar_says_calling_until_the_customer_picks_up(aiohttp_server, tmp_path):
    customer = Baresip(tmp_path / "customer", 440.0, user=NUMBER, answer="manual")
    await customer.start()
    visitor_peer = ClientPeer(440.0)
    try:
        sip = {"listen": f"127.0.0.1:{free_port_pair()}", "numbers": [{"number": "+4930123456", "tenant": "demo"}],
               "trunks": [{"name": "carrier", "addresses": ["127.0.0.1"], "outbound": {"proxy": f"127.0.0.1:{customer.sip_port}"}}]}
        app, base, config = await serve_gateway(aiohttp_server, tmp_path, media={"workers": 1},
                                                channels={"chat": {"enabled": True}, "voice": {"enabled": True, "sip": sip}})
        # A visitor calling from the web site would rather be called back, about their refund.
        visitor = await Sockets(base).connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-cb-1"})
        started = await visitor.call("call_start", {"sdp": await visitor_peer.offer()})
        assert started["ok"], started
        await visitor_peer.accept(started["sdp"])
        assert (await visitor.call("call_callback", {"call_id": started["call_id"], "number": NUMBER, "topic": "my refund"}))["ok"]

        async with chromium_with_fake_microphone() as browser:
            page: Page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            await log_in(page, base, config)
            await page.get_by_label("Your status").select_option("available")
            offer = page.locator(".offer")
            await expect(offer.locator(".offer-title")).to_have_text("Callback requested")
            await expect(offer.locator(".offer-preview")).to_contain_text(f"Call back {NUMBER} — my refund")
            await page.screenshot(path=screenshot_path("inbox-callback-offer"))
            await offer.get_by_role("button", name="Call back").click()
            bar = page.locator(".call-bar")
            await expect(bar.locator(".call-state")).to_have_text(f"Calling {NUMBER}…", timeout=15000)
            await customer.wait_for("CALL_INCOMING")
            customer.command("accept")
            await expect(bar.locator(".call-state")).to_have_text("On the call", timeout=10000)
            await until_heard(customer, lambda audio: not is_silent(audio))
            await bar.get_by_role("button", name="Hang up").click()
            await customer.wait_for("CALL_CLOSED")

            async def done() -> bool:
                async with app[DB].connect() as conn:
                    return (await conn.execute(sa.select(t.callbacks.c.state))).scalar_one() == "done"

            assert await until(done, timeout=10)
            # The conversation keeps the callback's story: where to, why, how it went.
            await page.reload()
            await page.locator(".conv-item", has_text="Call from the website").click()
            summary = page.locator(".callback-summary")
            await expect(summary.locator(".callback-head")).to_have_text("Callback · done · 1 of 3 attempts")
            await expect(summary.locator(".callback-detail")).to_have_text(f"to {NUMBER} · “my refund”")
            await page.screenshot(path=screenshot_path("inbox-callback-done"))
    finally:
        await visitor_peer.close()
        await customer.stop()

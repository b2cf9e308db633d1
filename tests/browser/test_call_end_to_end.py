"""A web call from first click to recording, both sides in Chromium with fake media devices: a
visitor calls from the demo page, the agent answers in the inbox, each browser hears the other,
the agent hangs up, the visitor is told, and the recording is on the conversation."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.async_api import expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import (
    INBOUND_AUDIO_BYTES, KEEP_PEER_CONNECTIONS, chromium_with_fake_microphone, screenshot_path, serve_gateway, until,
)
from tests.browser.test_inbox_call import until_recorded
from tests.browser.test_inbox_chat import log_in


async def test_a_visitor_calls_from_the_demo_page_and_the_agent_answers_in_the_inbox(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    async with chromium_with_fake_microphone() as browser:
        agent = await (await browser.new_context(viewport={"width": 1280, "height": 760}, locale="en-US")).new_page()
        await agent.add_init_script(KEEP_PEER_CONNECTIONS)
        await log_in(agent, base, config)
        await agent.get_by_label("Your status").select_option("available")

        visitor = await (await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")).new_page()
        await visitor.add_init_script(KEEP_PEER_CONNECTIONS)
        await visitor.goto(f"{base}/demo/")
        await visitor.get_by_role("button", name="Open chat with us").click()
        await visitor.get_by_role("button", name="Call us").click()

        # The inbox rings; the agent answers.
        offer = agent.locator(".offer")
        await expect(offer.locator(".offer-title")).to_have_text("Incoming call", timeout=15000)
        await offer.get_by_role("button", name="Answer").click()
        bar = agent.locator(".call-bar")
        await expect(bar).to_have_attribute("data-phase", "talking", timeout=15000)
        await expect(visitor.get_by_role("status").filter(has_text="Talking with Demo")).to_be_visible(timeout=15000)
        async with app[DB].connect() as conn:
            conversation_id = (await conn.execute(sa.select(t.conversations.c.id).where(t.conversations.c.channel == "voice"))).scalar_one()
        await until_recorded(app, conversation_id, "call.answered")

        # Each browser hears the other: audio keeps arriving on both sides.
        for page in (agent, visitor):
            first = await until(lambda page=page: page.evaluate(INBOUND_AUDIO_BYTES), timeout=10)
            assert first, "no audio arrived"
            await page.wait_for_timeout(1000)
            assert await page.evaluate(INBOUND_AUDIO_BYTES) > first, "the audio stopped"
        await visitor.screenshot(path=screenshot_path("call-e2e-visitor"))
        await agent.screenshot(path=screenshot_path("call-e2e-agent"))

        # The agent hangs up: the visitor's call ends; the recording is on the conversation.
        await bar.get_by_role("button", name="Hang up").click()
        await expect(visitor.get_by_role("status").filter(has_text="Call ended")).to_be_visible(timeout=15000)
        await until_recorded(app, conversation_id, "call.ended")
        await expect(agent.locator("audio[controls]")).to_have_count(1, timeout=15000)
        assert re.search(r"/api/v1/attachments/", await agent.locator("audio[controls]").get_attribute("src") or "")

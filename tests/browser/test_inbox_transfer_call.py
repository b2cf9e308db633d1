"""Handing a web call on from the inbox: a visitor calls (an aiortc peer at 440 Hz over /visitor),
the demo agent answers in Chromium (a fake, beeping microphone) and either consults a colleague
first — the caller hears hold audio while the two agents talk, then the colleague takes the caller
over — or transfers the call blind to the colleague, who answers it as any incoming call. Each
agent has a browser context of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import (
    INBOUND_AUDIO_BYTES, KEEP_PEER_CONNECTIONS, chromium_with_fake_microphone, screenshot_path, serve_gateway, until,
)
from tests.browser.test_inbox_call import until_caller_hears, until_recorded
from tests.browser.test_inbox_chat import COUNT_RINGS, demo_staff, log_in, rest_client, until_agents_available
from tests.browser.test_inbox_supervise import log_in_as
from tests.media.support import ClientPeer, is_hold_audio, is_silent, until_heard
from tests.realtime.support import PASSWORD, Sockets

COLLEAGUE_EMAIL, COLLEAGUE_NAME = "cleo@demo.example", "Cleo Colleague"


@asynccontextmanager
async def two_agents(browser: Browser, base: str, config) -> AsyncIterator[tuple[Page, Page]]:
    """The demo agent's inbox and the colleague's, each in a browser context of its own."""
    pages = []
    contexts = []
    try:
        for _ in range(2):
            context = await browser.new_context(viewport={"width": 1280, "height": 760}, locale="en-US")
            await context.add_init_script(COUNT_RINGS)
            await context.add_init_script(KEEP_PEER_CONNECTIONS)
            contexts.append(context)
            pages.append(await context.new_page())
        await log_in(pages[0], base, config)
        await log_in_as(pages[1], base, COLLEAGUE_EMAIL, PASSWORD)
        yield pages[0], pages[1]
    finally:
        for context in contexts:
            await context.close()


async def add_colleague(http, config) -> str:
    _, operator, tenant_id = await demo_staff(http, config)
    resp = await operator.request("POST", f"/api/v1/tenants/{tenant_id}/members",
                                  json={"email": COLLEAGUE_EMAIL, "password": PASSWORD, "role": "agent", "name": COLLEAGUE_NAME})
    body = await resp.json()
    assert resp.status == 201, body
    return body["user_id"]


async def answered_call(page: Page, sockets: Sockets, config, caller: ClientPeer, visitor_id: str) -> dict:
    """The visitor calls; the demo agent (the only one available) answers in the inbox."""
    await page.get_by_label("Your status").select_option("available")
    visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": visitor_id})
    await until_agents_available(visitor)
    started = await visitor.call("call_start", {"sdp": await caller.offer()})
    assert started["ok"], started
    await caller.accept(started["sdp"])
    await page.locator(".offer").get_by_role("button", name="Answer").click()
    bar = page.locator(".call-bar:not(.consult-bar)")
    await expect(bar).to_have_attribute("data-phase", "talking", timeout=15000)
    await expect(bar).to_have_attribute("data-call-id", started["call_id"])
    await until_caller_hears(caller, lambda audio: not is_silent(audio))
    return started


async def task_of(app, conversation_id: str) -> tuple[str | None, str] | None:
    async with app[DB].connect() as conn:
        row = (await conn.execute(sa.select(t.tasks.c.assigned_agent_id, t.tasks.c.state).where(
            t.tasks.c.conversation_id == conversation_id).order_by(t.tasks.c.created_at.desc()))).first()
    return (row.assigned_agent_id, row.state) if row else None


async def audio_grows(page: Page) -> None:
    """The page's call connections keep receiving audio."""
    first = await until(lambda: page.evaluate(INBOUND_AUDIO_BYTES), timeout=10)
    assert first, "no audio reached the page"
    await page.wait_for_timeout(1000)
    assert await page.evaluate(INBOUND_AUDIO_BYTES) > first, "the audio stopped reaching the page"


def the_agents_voice(audio) -> bool:
    """The fake microphone's beep: audible, and not the hold melody."""
    return not is_silent(audio) and not is_hold_audio(audio)


async def test_an_agent_consults_a_colleague_then_hands_the_caller_over(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller = ClientPeer(440.0)
    try:
        async with rest_client(base) as http, chromium_with_fake_microphone() as browser:
            colleague_id = await add_colleague(http, config)
            async with two_agents(browser, base, config) as (page, other):
                started = await answered_call(page, sockets, config, caller, "visitor-consult-1")
                conversation_id, call_id = started["conversation_id"], started["call_id"]
                bar = page.locator(".call-bar:not(.consult-bar)")
                # The colleague takes work now (the hand-over gives them the call's task).
                await other.get_by_label("Your status").select_option("available")

                # Consult: pick the colleague; the caller goes on hold.
                await bar.get_by_role("button", name="Consult").click()
                dialog = page.locator("dialog.dialog-call-consult")
                await expect(dialog).to_be_visible()
                await expect(dialog.locator("h2")).to_have_text("Consult a colleague")
                await dialog.locator("select").select_option(colleague_id)
                await dialog.get_by_role("button", name="Consult").click()
                await expect(dialog).to_have_count(0)
                await expect(bar).to_have_attribute("data-consult", "ringing")
                await expect(bar.locator(".call-state")).to_have_text(f"Consulting {COLLEAGUE_NAME}…")
                await expect(bar.locator(".call-consult-tag")).to_have_text(f"Caller on hold — consulting {COLLEAGUE_NAME}")
                await until_recorded(app, conversation_id, "call.consult_started")
                await until_heard(caller, is_hold_audio, seconds=1.0)

                # The colleague's inbox rings with the consultation.
                card = other.locator(".offer-consult")
                await expect(card).to_be_visible()
                await expect(card).to_contain_text("Demo Agent wants to consult you about a call")
                await other.wait_for_timeout(300)
                assert await other.evaluate("window.__oscillators") > 0, "the consultation did not ring"
                await other.screenshot(path=screenshot_path("inbox-consult-offered"))

                # Joining: the two agents talk, the caller still on hold.
                await card.get_by_role("button", name="Join").click()
                consult_bar = other.locator(".consult-bar")
                await expect(consult_bar).to_have_attribute("data-phase", "on", timeout=15000)
                await expect(consult_bar.locator(".call-state")).to_have_text("Consulting with Demo Agent — the caller is on hold")
                await expect(other.locator(".offer-consult")).to_have_count(0)
                await expect(bar).to_have_attribute("data-consult", "talking")
                await expect(bar.locator(".call-state")).to_have_text(f"Talking with {COLLEAGUE_NAME} (caller on hold)")
                await until_recorded(app, conversation_id, "call.consult_answered")
                await audio_grows(other)
                await until_heard(caller, is_hold_audio, seconds=1.0)
                await page.screenshot(path=screenshot_path("inbox-consult-talking"))
                await other.screenshot(path=screenshot_path("inbox-consult-colleague"))

                # Hand over: the colleague has the caller, the first agent is off the call without a wrap-up.
                await bar.get_by_role("button", name="Hand over").click()
                await expect(page.locator(".call-bar")).to_have_count(0)
                await expect(page.locator("dialog.dialog")).to_have_count(0)
                taken = other.locator(".call-bar:not(.consult-bar)")
                await expect(taken).to_have_attribute("data-phase", "talking", timeout=10000)
                await expect(taken).to_have_attribute("data-call-id", call_id)
                await expect(other.locator(".consult-bar")).to_have_count(0)
                await expect(other.locator(".offer")).to_have_count(0)
                await until_recorded(app, conversation_id, "call.transferred")
                await until_caller_hears(caller, the_agents_voice)
                assert await until(lambda: task_of(app, conversation_id)) == (colleague_id, "assigned")
                await expect(taken.get_by_role("button", name="Hold")).to_be_visible()
                await other.screenshot(path=screenshot_path("inbox-consult-handed-over"))

                # The call is theirs: they hang up and go on to the wrap-up.
                await taken.get_by_role("button", name="Hang up").click()
                await expect(taken).to_have_attribute("data-phase", "ended")
                await expect(other.locator("dialog.dialog")).to_be_visible()
                await until_recorded(app, conversation_id, "call.ended")
    finally:
        await caller.close()
        await sockets.close()


async def test_a_consultation_the_agent_cancels_goes_back_to_the_caller(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller = ClientPeer(440.0)
    try:
        async with rest_client(base) as http, chromium_with_fake_microphone() as browser:
            colleague_id = await add_colleague(http, config)
            async with two_agents(browser, base, config) as (page, other):
                started = await answered_call(page, sockets, config, caller, "visitor-consult-2")
                bar = page.locator(".call-bar:not(.consult-bar)")
                await bar.get_by_role("button", name="Consult").click()
                dialog = page.locator("dialog.dialog-call-consult")
                await dialog.locator("select").select_option(colleague_id)
                await dialog.get_by_role("button", name="Consult").click()
                await other.locator(".offer-consult").get_by_role("button", name="Join").click()
                await expect(other.locator(".consult-bar")).to_have_attribute("data-phase", "on", timeout=15000)
                await expect(bar).to_have_attribute("data-consult", "talking")

                # Back to the caller: the colleague's bar says so; the caller is on hold until Resume.
                await bar.get_by_role("button", name="Back to caller").click()
                await expect(other.locator(".consult-bar .call-state")).to_have_text("Demo Agent went back to the caller")
                await expect(bar).to_have_attribute("data-consult", "")
                await expect(bar.locator(".call-state")).to_have_text("On hold")
                await until_recorded(app, started["conversation_id"], "call.consult_ended")
                await bar.get_by_role("button", name="Resume").click()
                await expect(bar.locator(".call-state")).to_have_text("On the call")
                await until_caller_hears(caller, the_agents_voice)
    finally:
        await caller.close()
        await sockets.close()


async def test_an_agent_transfers_a_call_blind_to_a_colleague(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller = ClientPeer(440.0)
    try:
        async with rest_client(base) as http, chromium_with_fake_microphone() as browser:
            colleague_id = await add_colleague(http, config)
            async with two_agents(browser, base, config) as (page, other):
                started = await answered_call(page, sockets, config, caller, "visitor-transfer-1")
                conversation_id, call_id = started["conversation_id"], started["call_id"]
                bar = page.locator(".call-bar:not(.consult-bar)")
                await other.get_by_label("Your status").select_option("available")

                # Transfer to the colleague, with a note: the first agent is off the call, no wrap-up.
                await bar.get_by_role("button", name="Transfer").click()
                dialog = page.locator("dialog.dialog-call-transfer")
                await expect(dialog.locator("h2")).to_have_text("Transfer the call")
                await dialog.get_by_text("Agent", exact=True).click()
                await dialog.locator("select").select_option(colleague_id)
                await dialog.locator("textarea").fill("Billing question, already verified")
                await dialog.get_by_role("button", name="Transfer").click()
                await expect(page.locator(".call-bar")).to_have_count(0)
                await expect(page.locator("dialog.dialog")).to_have_count(0)
                await until_recorded(app, conversation_id, "call.transferred")
                await until_heard(caller, is_hold_audio, seconds=1.0)

                # The colleague's inbox rings with an ordinary incoming call; they answer and talk.
                offer = other.locator(".offer")
                await expect(offer).to_have_count(1)
                await expect(offer.locator(".offer-title")).to_have_text("Incoming call")
                await offer.get_by_role("button", name="Answer").click()
                taken = other.locator(".call-bar:not(.consult-bar)")
                await expect(taken).to_have_attribute("data-phase", "talking", timeout=15000)
                await expect(taken).to_have_attribute("data-call-id", call_id)
                await audio_grows(other)
                await until_caller_hears(caller, the_agents_voice)
                assert await until(lambda: task_of(app, conversation_id)) == (colleague_id, "assigned")
                await other.screenshot(path=screenshot_path("inbox-transfer-answered"))
                await expect(page.locator(".call-bar")).to_have_count(0)
    finally:
        await caller.close()
        await sockets.close()

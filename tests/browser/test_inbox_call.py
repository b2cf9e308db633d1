"""Issue 6, the agent's side of a web call: a visitor calls (an aiortc peer sending a tone over the
/visitor socket, as the widget would), the inbox rings with an incoming call, the agent answers in
Chromium (a fake microphone) and talks — audio both ways — mutes, holds, pauses the recording, hangs
up and wraps up; the call's timeline and its recording (a player and a download) stay on the
conversation."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.async_api import Page, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import (
    INBOUND_AUDIO_BYTES, KEEP_PEER_CONNECTIONS, OUTBOUND_AUDIO_BYTES, chromium_with_fake_microphone, screenshot_path, serve_gateway,
    until,
)
from tests.browser.test_inbox_chat import COUNT_RINGS, log_in, until_agents_available
from tests.media.support import ClientPeer, is_silent, rms
from tests.realtime.support import Sockets

async def recorded(app, conversation_id: str) -> list[str]:
    """The call.* events the gateway recorded on the conversation, oldest first."""
    async with app[DB].connect() as conn:
        rows = await conn.execute(sa.select(t.events.c.type).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type.like("call.%")).order_by(t.events.c.id))
        return list(rows.scalars())


async def until_recorded(app, conversation_id: str, event: str, count: int = 1) -> list[str]:
    async def check():
        events = await recorded(app, conversation_id)
        return events if events.count(event) >= count else None

    events = await until(check, timeout=10)
    assert events, f"{event} not recorded: {await recorded(app, conversation_id)}"
    return events


async def until_caller_hears(caller: ClientPeer, check, attempts: int = 10, seconds: float = 1.5) -> None:
    """Chromium's fake microphone beeps about once a second: windows of 1.5 s hold a beep unless
    the agent's audio is cut."""
    levels = []
    for _ in range(attempts):
        audio = await caller.heard.listen(seconds)
        levels.append(round(rms(audio), 1))
        if check(audio):
            return
    raise AssertionError(f"the caller never heard what was expected; loudness of each window: {levels}")


async def test_agent_answers_a_web_call_and_wraps_up(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller = ClientPeer(440.0)
    try:
        async with chromium_with_fake_microphone() as browser:
            page: Page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            await page.add_init_script(COUNT_RINGS)
            await page.add_init_script(KEEP_PEER_CONNECTIONS)
            await log_in(page, base, config)
            await page.get_by_label("Your status").select_option("available")

            # A visitor calls from the web site.
            visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-call-ada1"})
            await until_agents_available(visitor)
            started = await visitor.call("call_start", {"sdp": await caller.offer()})
            assert started["ok"], started
            await caller.accept(started["sdp"])
            conversation_id, call_id = started["conversation_id"], started["call_id"]

            # The inbox rings with an incoming call.
            offer = page.locator(".offer")
            await expect(offer).to_have_count(1)
            await expect(offer).to_have_class(re.compile(r"\boffer-call\b"))
            await expect(offer.locator(".offer-title")).to_have_text("Incoming call")
            await page.wait_for_timeout(300)
            assert await page.evaluate("window.__oscillators") > 0, "the call did not ring"
            await page.screenshot(path=screenshot_path("inbox-call-offer"))

            # Answering: the task is accepted, the microphone opened, the call connected.
            await offer.get_by_role("button", name="Answer").click()
            await expect(page.locator(".offer")).to_have_count(0)
            bar = page.locator(".call-bar")
            await expect(bar).to_have_attribute("data-phase", "talking", timeout=15000)
            await expect(bar).to_have_attribute("data-call-id", call_id)
            await expect(bar.locator(".call-timer")).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=5000)
            await expect(bar.locator(".call-rec")).to_have_text("Recording")
            await expect(page.locator(".customer-panel")).to_be_visible()  # the screen pop
            await expect(page.locator("#conv-title")).to_be_visible()
            await until_recorded(app, conversation_id, "call.answered")

            # Audio both ways: the agent's browser receives the caller's, the caller hears the agent's microphone.
            received = await until(lambda: page.evaluate(INBOUND_AUDIO_BYTES), timeout=10)
            assert received and received > 0, "no audio reached the agent's browser"
            first = await page.evaluate(INBOUND_AUDIO_BYTES)
            await page.wait_for_timeout(1000)
            assert await page.evaluate(INBOUND_AUDIO_BYTES) > first, "the caller's audio stopped reaching the agent"
            assert await until(lambda: page.evaluate(OUTBOUND_AUDIO_BYTES), timeout=10), "the agent's browser sent no audio"
            await until_caller_hears(caller, lambda audio: not is_silent(audio))
            await page.screenshot(path=screenshot_path("inbox-call-talking"))

            # Mute: the caller hears nothing of the agent; unmuted, they do again.
            await bar.get_by_role("button", name="Mute").click()
            await expect(bar.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
            await until_caller_hears(caller, is_silent)
            await bar.get_by_role("button", name="Unmute").click()
            await expect(bar.get_by_role("button", name="Mute")).to_have_attribute("aria-pressed", "false")
            await until_caller_hears(caller, lambda audio: not is_silent(audio))

            # Hold and resume: recorded by the gateway, shown on the bar and the call's timeline.
            await bar.get_by_role("button", name="Hold").click()
            await expect(bar).to_have_class(re.compile(r"\bcall-held\b"))
            await expect(bar.locator(".call-state")).to_have_text("On hold")
            await until_recorded(app, conversation_id, "call.held")
            await page.screenshot(path=screenshot_path("inbox-call-held"))
            await bar.get_by_role("button", name="Resume").click()
            await expect(bar.locator(".call-state")).to_have_text("On the call")
            await until_recorded(app, conversation_id, "call.resumed")

            # Pausing the recording: the indicator says so; resumed, it records again.
            await bar.get_by_role("button", name="Pause recording").click()
            await expect(bar.locator(".call-rec")).to_have_text("Recording paused")
            await until_recorded(app, conversation_id, "call.recording_paused")
            await bar.get_by_role("button", name="Resume recording").click()
            await expect(bar.locator(".call-rec")).to_have_text("Recording")
            await until_recorded(app, conversation_id, "call.recording_resumed")

            timeline = page.locator(".call-summary")
            await expect(timeline).to_contain_text("Answered by Demo Agent (you)")
            await expect(timeline).to_contain_text("Put on hold")
            await expect(timeline).to_contain_text("Taken off hold")
            await page.wait_for_timeout(1000)  # a little more to record

            # Hanging up leads on to the wrap-up.
            await bar.get_by_role("button", name="Hang up").click()
            await expect(bar).to_have_attribute("data-phase", "ended")
            await expect(bar.locator(".call-state")).to_contain_text("Call ended")
            dialog = page.locator("dialog.dialog")
            await expect(dialog).to_be_visible()
            await expect(dialog).to_contain_text("Close the conversation")
            events = await until_recorded(app, conversation_id, "call.ended")
            assert events[:2] == ["call.started", "call.answered"], events
            await expect(page.locator(".conv-header .wrapup-tag")).to_be_visible()
            await expect(timeline).to_contain_text("Call ended")
            await expect(timeline).to_contain_text("the agent hung up")

            # The recording arrives on the conversation, to play and to download.
            recording = page.locator(".call-recording")
            await expect(recording).to_have_count(1, timeout=15000)
            player = recording.locator("audio.call-recording-player")
            src = await player.get_attribute("src")
            assert src and src.startswith("/api/v1/attachments/"), src
            await expect(recording.get_by_role("link", name="Download")).to_have_attribute("href", src)
            fetched = await page.evaluate("""async (src) => {
                const res = await fetch(src, { credentials: "same-origin" });
                const body = await res.arrayBuffer();
                return { status: res.status, type: res.headers.get("content-type"), size: body.byteLength,
                         magic: String.fromCharCode(...new Uint8Array(body.slice(0, 4))) };
            }""", src)
            assert fetched["status"] == 200 and fetched["magic"] == "OggS", fetched
            assert fetched["type"].startswith("audio/ogg"), fetched
            duration = await until(lambda: player.evaluate(
                "(a) => new Promise((ok) => a.readyState >= 1 ? ok(a.duration) : a.addEventListener('loadedmetadata', () => ok(a.duration), { once: true }))"))
            assert duration and duration > 1, duration
            await page.screenshot(path=screenshot_path("inbox-call-wrapup"))

            # Wrapping up ends the agent's task; the bar goes.
            await dialog.get_by_role("button", name="Close conversation").click()
            await expect(page.locator(".conv-header .pill")).to_have_text("Closed")
            await expect(bar).to_have_count(0)
            async with app[DB].connect() as conn:
                states = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.conversation_id == conversation_id))).scalars().all()
            assert states == ["done"], states
            await page.screenshot(path=screenshot_path("inbox-call-after"))

            # A supervisor opening the call later (another browser) reads its timeline from the recorded events.
            later = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            await later.goto(f"{base}/")
            await later.fill("#login-email", config.demo.operator_email)
            await later.fill("#login-password", config.demo.operator_password)
            await later.click("button[type=submit]")
            await expect(later.locator(".live-connected")).to_be_visible()
            await later.locator(f".conv-item[data-conversation-id='{conversation_id}']").click()
            history = later.locator(".call-summary")
            await expect(history).to_contain_text("Answered by Demo Agent")
            await expect(history).to_contain_text("Put on hold")
            await expect(history).to_contain_text("Recording paused")
            await expect(history).to_contain_text("the agent hung up")
            await expect(history.locator(".call-event")).to_have_count(7)
            await expect(later.locator(".call-recording audio")).to_have_count(1)
            await later.screenshot(path=screenshot_path("inbox-call-history"))
    finally:
        await caller.close()
        await sockets.close()


async def test_a_refused_microphone_is_explained_and_the_call_can_still_be_ended(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller = ClientPeer(440.0)
    try:
        async with chromium_with_fake_microphone() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            # The agent (or the browser's policy) refuses the microphone.
            await page.add_init_script("""
              navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
            """)
            await log_in(page, base, config)
            await page.get_by_label("Your status").select_option("available")
            visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-call-bob1"})
            await until_agents_available(visitor)
            started = await visitor.call("call_start", {"sdp": await caller.offer()})
            assert started["ok"], started
            await caller.accept(started["sdp"])

            await page.locator(".offer").get_by_role("button", name="Answer").click()
            bar = page.locator(".call-bar")
            await expect(bar).to_have_attribute("data-phase", "noMicrophone")
            await expect(bar.get_by_role("alert")).to_contain_text("The microphone is blocked")
            await expect(bar.get_by_role("button", name="Try again")).to_be_visible()
            await page.screenshot(path=screenshot_path("inbox-call-no-microphone"))

            # Hanging up still ends the call for the caller, and the agent goes on to wrap-up.
            await bar.get_by_role("button", name="Hang up").click()
            await expect(bar).to_have_attribute("data-phase", "ended", timeout=15000)
            await until_recorded(app, started["conversation_id"], "call.ended")
            await expect(page.locator("dialog.dialog")).to_be_visible()
    finally:
        await caller.close()
        await sockets.close()


async def test_the_caller_hanging_up_ends_the_call_in_the_inbox(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller = ClientPeer(440.0)
    try:
        async with chromium_with_fake_microphone() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")
            await page.add_init_script("localStorage.setItem('wecc.inbox.lang', 'zh-CN')")
            await log_in(page, base, config)
            await page.locator(".topbar select").first.select_option("available")
            visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-call-cy1"})
            await until_agents_available(visitor)
            started = await visitor.call("call_start", {"sdp": await caller.offer()})
            assert started["ok"], started
            await caller.accept(started["sdp"])

            # In Chinese: the incoming call, answered.
            offer = page.locator(".offer")
            await expect(offer.locator(".offer-title")).to_have_text("来电")
            await offer.get_by_role("button", name="接听").click()
            bar = page.locator(".call-bar")
            await expect(bar).to_have_attribute("data-phase", "talking", timeout=15000)
            await expect(bar.locator(".call-rec")).to_have_text("正在录音")

            # On a phone the bar's controls wrap and stay on screen.
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.keyboard.press("Escape")  # the customer drawer (the screen pop) goes
            await expect(page.locator(".customer-panel")).to_have_count(0)
            hang_up = bar.get_by_role("button", name="挂断")
            await expect(hang_up).to_be_in_viewport()
            box = await hang_up.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            await page.screenshot(path=screenshot_path("inbox-call-phone-zh"))
            await page.set_viewport_size({"width": 1280, "height": 760})

            # The caller hangs up: the bar says the call is over and offers the wrap-up.
            assert (await visitor.call("call_hangup", {"call_id": started["call_id"]}))["ok"]
            await expect(bar).to_have_attribute("data-phase", "ended")
            await expect(page.locator(".call-summary")).to_contain_text("客户挂断")
            await expect(page.locator("dialog.dialog")).to_have_count(0)  # not in the agent's face: they may be typing
            await bar.get_by_role("button", name="话后处理").click()
            await expect(page.locator("dialog.dialog")).to_be_visible()
            await expect(page.locator(".call-recording audio")).to_have_count(1, timeout=15000)
            await page.screenshot(path=screenshot_path("inbox-call-caller-hung-up-zh"))
    finally:
        await caller.close()
        await sockets.close()

"""A supervisor listens in on a live web call from the inbox: a visitor calls (an aiortc peer at
440 Hz), the demo agent answers over /agent with an aiortc peer of their own (1 kHz), and the demo
operator — a supervisor of the demo tenant — opens the call's conversation in Chromium (a fake,
beeping microphone), listens unheard, whispers to the agent (who hears the beep; the caller does
not), leaves, and joins again until the caller hangs up. A plain agent is never offered the
controls."""

from __future__ import annotations

import re
from statistics import median

import numpy as np
import sqlalchemy as sa
from playwright.async_api import Page, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import (
    INBOUND_AUDIO_BYTES, KEEP_PEER_CONNECTIONS, chromium_with_fake_microphone, screenshot_path, serve_gateway, until,
)
from tests.browser.test_inbox_chat import demo_staff, rest_client, until_agents_available
from tests.media.support import ClientPeer, energy_near, is_tone, rms, until_heard
from tests.realtime.support import Sockets, add_member, session_cookie

CUSTOMER_HZ, AGENT_HZ = 440.0, 1000.0


def beyond(audio: np.ndarray, frequency: float) -> float:
    """How loud what was heard is once the tone at `frequency` is taken away (RMS of the rest)."""
    return rms(audio) * float(np.sqrt(max(0.0, 1.0 - energy_near(audio, frequency, width=60.0))))


async def supervision_events(app, conversation_id: str) -> list[tuple[str, dict]]:
    async with app[DB].connect() as conn:
        rows = await conn.execute(sa.select(t.events.c.type, t.events.c.data).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type.like("supervision.%")).order_by(t.events.c.id))
        return [(row.type, row.data) for row in rows]


async def until_supervision(app, conversation_id: str, types: list[str]) -> list[tuple[str, dict]]:
    async def check():
        events = await supervision_events(app, conversation_id)
        return events if [e for e, _ in events] == types else None

    events = await until(check, timeout=10)
    assert events, f"expected {types}, recorded {await supervision_events(app, conversation_id)}"
    return events


async def loudness_beyond(peer: ClientPeer, frequency: float, windows: int = 4, seconds: float = 1.5) -> list[float]:
    """What a peer heard besides `frequency`, in windows long enough to hold one of Chromium's beeps."""
    return [round(beyond(await peer.heard.listen(seconds), frequency), 1) for _ in range(windows)]


async def log_in_as(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/")
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.click("button[type=submit]")
    await expect(page.locator(".live-connected")).to_be_visible()


async def test_a_supervisor_listens_whispers_and_leaves_a_live_call(aiohttp_server, tmp_path):
    app, base, config = await serve_gateway(
        aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    sockets = Sockets(base)
    caller, agent_peer = ClientPeer(CUSTOMER_HZ), ClientPeer(AGENT_HZ)
    try:
        async with rest_client(base) as http, chromium_with_fake_microphone() as browser:
            agent, operator, tenant_id = await demo_staff(http, config)
            plain = await add_member(http, operator, tenant_id, "plain-agent@demo.example", "agent")

            # The supervisor has the inbox open (not taking calls themselves).
            page: Page = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            await page.add_init_script(KEEP_PEER_CONNECTIONS)
            await log_in_as(page, base, config.demo.operator_email, config.demo.operator_password)

            # A visitor calls; the demo agent answers (their inbox: a socket and an aiortc peer).
            inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
            assert (await inbox.call("presence", {"status": "available"}))["ok"]
            visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-supervised-1"})
            await until_agents_available(visitor)
            started = await visitor.call("call_start", {"sdp": await caller.offer()})
            assert started["ok"], started
            await caller.accept(started["sdp"])
            conversation_id, call_id = started["conversation_id"], started["call_id"]
            offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == conversation_id, timeout=10)
            assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
            answered = await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_peer.offer()})
            assert answered["ok"], answered
            await agent_peer.accept(answered["sdp"])
            await until_heard(caller, lambda audio: is_tone(audio, AGENT_HZ))

            # The supervisor opens the call's conversation: Listen, Whisper, Barge. (The demo operator
            # is a member of no tenant, so the gateway tells them of no new conversation live: the
            # list is asked again.)
            await page.reload()
            await expect(page.locator(".live-connected")).to_be_visible()
            await page.locator(f".conv-item[data-conversation-id='{conversation_id}']").click()
            controls = page.locator(".supervise-controls")
            await expect(controls).to_be_visible()
            await expect(controls.get_by_role("button")).to_have_text([re.compile("Listen"), re.compile("Whisper"), re.compile("Barge")])
            await page.screenshot(path=screenshot_path("inbox-supervise-controls"))

            # Listen: the supervisor's browser receives the call's audio, unheard by the agent.
            await controls.get_by_role("button", name="Listen").click()
            bar = page.locator(".supervise-bar")
            await expect(bar).to_have_attribute("data-phase", "on", timeout=15000)
            await expect(bar.locator(".supervise-state")).to_have_text("Listening — the agent can't hear you")
            await expect(bar.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true")
            await expect(page.locator(".supervise-controls")).to_have_count(0)
            events = await until_supervision(app, conversation_id, ["supervision.started"])
            assert events[0][1]["mode"] == "listen" and events[0][1]["supervisor_id"] == operator.me["user"]["id"], events
            received = await until(lambda: page.evaluate(INBOUND_AUDIO_BYTES), timeout=10)
            assert received and received > 0, "no audio reached the supervisor's browser"
            await page.wait_for_timeout(1000)
            assert await page.evaluate(INBOUND_AUDIO_BYTES) > received, "the call's audio stopped reaching the supervisor"
            listening = await loudness_beyond(agent_peer, CUSTOMER_HZ)
            await page.screenshot(path=screenshot_path("inbox-supervise-listening"))

            # Whisper: the agent hears the supervisor's microphone besides the caller; the caller doesn't.
            await bar.get_by_role("button", name="Whisper").click()
            await expect(bar.get_by_role("button", name="Whisper")).to_have_attribute("aria-pressed", "true")
            await expect(bar.locator(".supervise-state")).to_have_text("Whispering to Demo Agent")
            await until_supervision(app, conversation_id, ["supervision.started", "supervision.mode_changed"])
            whispering = await loudness_beyond(agent_peer, CUSTOMER_HZ)
            caller_during = await loudness_beyond(caller, AGENT_HZ)
            # Medians: a beep falls in every window, a stray click of the line in one at most.
            assert median(whispering) > 3 * max(median(listening), 30), (listening, whispering)
            assert median(caller_during) < median(whispering) / 10, (caller_during, whispering)
            await page.screenshot(path=screenshot_path("inbox-supervise-whispering"))

            # Leave: off the call, on record; the controls are back on the conversation.
            await bar.get_by_role("button", name="Leave").click()
            await expect(bar.locator(".supervise-state")).to_have_text("You left the call")
            events = await until_supervision(app, conversation_id, ["supervision.started", "supervision.mode_changed", "supervision.ended"])
            assert events[1][1]["mode"] == "whisper", events
            await expect(page.locator(".supervise-controls")).to_be_visible()
            # Neither the agent nor the caller was told of any of it.
            assert not [name for name, _ in inbox.events + visitor.events if name.startswith("supervision.")]

            # A plain agent opening the same call is offered none of it.
            colleague = await browser.new_page(viewport={"width": 1280, "height": 760}, locale="en-US")
            await log_in_as(colleague, base, "plain-agent@demo.example", "password-123")
            await colleague.locator(f".conv-item[data-conversation-id='{conversation_id}']").click()
            await expect(colleague.locator(".call-summary")).to_be_visible()
            await colleague.wait_for_timeout(500)
            await expect(colleague.locator(".supervise-controls")).to_have_count(0)
            await expect(colleague.locator(".supervise-bar")).to_have_count(0)
            await colleague.close()
            assert plain.me["memberships"][0]["role"] == "agent"

            # Listening again until the caller hangs up: the call's end takes the supervisor off it.
            await page.locator(".supervise-controls").get_by_role("button", name="Listen").click()
            await expect(bar).to_have_attribute("data-phase", "on", timeout=15000)
            assert (await visitor.call("call_hangup", {"call_id": call_id}))["ok"]
            await expect(bar.locator(".supervise-state")).to_have_text("The call ended")
            await expect(page.locator(".supervise-controls")).to_have_count(0)
            assert await until(lambda: page.evaluate("document.querySelectorAll('audio.supervise-remote-audio').length === 0"))
            assert await page.evaluate("window.__pcs.every((pc) => pc.connectionState === 'closed')")
            await page.screenshot(path=screenshot_path("inbox-supervise-call-ended"))
    finally:
        await caller.close()
        await agent_peer.close()
        await sockets.close()

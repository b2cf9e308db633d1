"""The widget's "Call us" (issue 6): in Chromium with a fake microphone, the visitor calls from the
demo site, waits in the queue hearing the gateway's hold audio, sees their place in line, and hangs
up; the call's task is then abandoned. When an agent takes the call the visitor sees who and for how
long, and hears when the agent hangs up. A waiting visitor can ask to be called back instead (the call
then ends, not abandoned). A tenant without the voice channel shows no "Call us"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import INBOUND_AUDIO_BYTES, KEEP_PEER_CONNECTIONS, chromium_with_fake_microphone, screenshot_path, serve_gateway, until
from tests.browser.test_widget import Staff
from tests.realtime.support import Sockets

Gateway = tuple[Any, str, Any]

@pytest.fixture
async def call_browser() -> AsyncIterator[Browser]:
    async with chromium_with_fake_microphone() as browser:
        yield browser


@pytest.fixture
async def voice_gateway(aiohttp_server, tmp_path) -> Gateway:
    return await serve_gateway(aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}})


async def visitor_page(browser: Browser, base: str, **context: Any) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US", **context)
    page.on("pageerror", lambda exc: print("page error:", exc, exc.stack))
    page.on("console", lambda msg: msg.type == "error" and print("console:", msg.text, msg.location))
    await page.add_init_script(KEEP_PEER_CONNECTIONS)
    await page.goto(f"{base}/demo/")
    return page


async def voice_task_states(app: Any) -> list[str]:
    async with app[DB].connect() as conn:
        return list((await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.channel == "voice"))).scalars().all())


async def test_visitor_calls_waits_with_hold_audio_and_hangs_up(call_browser: Browser, voice_gateway: Gateway):
    app, base, _ = voice_gateway
    page = await visitor_page(call_browser, base)
    await page.get_by_role("button", name="Open chat with us").click()
    await expect(page.get_by_role("button", name="Call us")).to_be_visible()
    await page.screenshot(path=screenshot_path("widget-call-button"))
    await page.get_by_role("button", name="Call us").click()

    # Nobody is available: the call waits in the queue, and the visitor is told where.
    state = page.get_by_role("status").filter(has_text="Waiting for an agent")
    await expect(state).to_contain_text("you are number 1", timeout=15000)
    await expect(page.get_by_role("button", name="Hang up")).to_be_focused()
    await expect(page.get_by_role("button", name="Mute")).to_be_enabled()
    assert await voice_task_states(app) == ["queued"]

    # The gateway's hold audio arrives and is played in the widget's shadow root.
    assert await until(lambda: page.evaluate(INBOUND_AUDIO_BYTES), timeout=10) > 0, "no audio from the gateway"
    playing = await page.evaluate("""() => {
      const audio = document.querySelector("wecc-widget").shadowRoot.querySelector("audio");
      const tracks = audio && audio.srcObject ? audio.srcObject.getAudioTracks() : [];
      return tracks.length > 0 && tracks[0].readyState === "live" && !audio.paused;
    }""")
    assert playing
    await page.screenshot(path=screenshot_path("widget-call-waiting"))

    # Muting is the visitor's microphone, shown as such.
    await page.get_by_role("button", name="Mute").click()
    await expect(page.get_by_role("button", name="Unmute")).to_be_visible()
    await expect(page.get_by_text("Your microphone is muted.")).to_be_visible()
    assert await page.evaluate("() => window.__pcs[0].getSenders().every((s) => !s.track || !s.track.enabled)")
    await page.get_by_role("button", name="Unmute").click()
    await expect(page.get_by_role("button", name="Mute")).to_be_visible()

    # Hanging up ends it here (microphone released) and on the gateway (the task is abandoned).
    await page.get_by_role("button", name="Hang up").click()
    await expect(page.get_by_role("status").filter(has_text="Call ended")).to_be_visible()
    await expect(page.get_by_role("button", name="Back to chat")).to_be_focused()
    assert await page.evaluate("""() => window.__pcs.every((pc) => pc.connectionState === "closed"
        && pc.getSenders().every((s) => !s.track || s.track.readyState === "ended"))""")

    async def abandoned() -> bool:
        return await voice_task_states(app) == ["abandoned"]
    assert await until(abandoned), await voice_task_states(app)
    await page.screenshot(path=screenshot_path("widget-call-ended"))

    # Back to the chat's own view.
    await page.get_by_role("button", name="Back to chat").click()
    await expect(page.get_by_role("button", name="Call us")).to_be_visible()


async def test_a_waiting_visitor_asks_to_be_called_back_instead(call_browser: Browser, voice_gateway: Gateway):
    app, base, _ = voice_gateway
    page = await visitor_page(call_browser, base, timezone_id="Asia/Shanghai")  # UTC+08:00, no summer time
    await page.get_by_role("button", name="Open chat with us").click()
    await page.get_by_role("button", name="Call us").click()
    await expect(page.get_by_role("status").filter(has_text="Waiting for an agent")).to_contain_text("you are number 1", timeout=15000)

    # The form opens in the call screen, focus on its first field; the call goes on waiting.
    await page.get_by_role("button", name="Call me back instead").click()
    number = page.get_by_label("Phone number")
    await expect(number).to_be_focused()
    await expect(number).to_have_attribute("type", "tel")
    await expect(number).to_have_attribute("autocomplete", "tel")
    await expect(page.get_by_role("radio", name="As soon as possible")).to_be_checked()
    await expect(page.get_by_role("button", name="Hang up")).to_have_count(0)
    assert await until(lambda: page.evaluate(INBOUND_AUDIO_BYTES), timeout=10) > 0, "no hold audio"

    # "Back" is the waiting call, as it was.
    await number.fill("+44 20 7946")
    await page.get_by_role("button", name="Back", exact=True).click()
    await expect(page.get_by_role("button", name="Call me back instead")).to_be_focused()
    await expect(page.get_by_role("status")).to_contain_text("Waiting for an agent")
    assert await voice_task_states(app) == ["queued"]
    await page.get_by_role("button", name="Call me back instead").click()
    await expect(number).to_have_value("+44 20 7946")  # what was typed is kept

    # A number the gateway can't dial: the error is next to the field, and describes it.
    await number.fill("12345")
    await page.get_by_role("button", name="Call me back", exact=True).click()
    error = page.get_by_text("That phone number doesn't look right.")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("country code")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(number).to_have_accessible_description(re.compile("That phone number doesn't look right"))
    await expect(number).to_be_focused()
    assert await voice_task_states(app) == ["queued"]
    await page.screenshot(path=screenshot_path("widget-callback-invalid"))

    # A good number, a window tomorrow afternoon (the visitor's time, sent with their UTC offset) and a topic.
    await number.fill("+44 20 7946 0000")
    await expect(number).not_to_have_attribute("aria-invalid", "true")
    await page.get_by_role("radio", name="At a time I choose").check()
    tomorrow = await page.evaluate("""() => {
      const d = new Date();
      d.setDate(d.getDate() + 1);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    }""")
    await page.get_by_label("Day").fill(tomorrow)
    await page.get_by_label("From").fill("14:00")
    await page.get_by_label("To", exact=True).fill("13:00")
    await page.get_by_role("button", name="Call me back", exact=True).click()
    await expect(page.get_by_text("The end of the time must be after its start.")).to_be_visible()
    await expect(page.get_by_label("To", exact=True)).to_be_focused()
    await page.get_by_label("To", exact=True).fill("16:30")
    await page.get_by_label("What is it about?").fill("my refund")
    await page.screenshot(path=screenshot_path("widget-callback-form"))
    await page.get_by_role("button", name="Call me back", exact=True).click()

    # Confirmed, focus on it; the call is over here (microphone released) and stays confirmed.
    confirmation = page.get_by_role("status").filter(has_text="We'll call you back at +44 20 7946 0000")
    await expect(confirmation).to_be_visible()
    await expect(confirmation).to_contain_text("between 2:00 PM and 4:30 PM")
    await expect(confirmation).to_be_focused()
    assert await page.evaluate("""() => window.__pcs.every((pc) => pc.connectionState === "closed"
        && pc.getSenders().every((s) => !s.track || s.track.readyState === "ended"))""")
    await page.wait_for_timeout(1500)  # the gateway's call.ended has come by now
    await expect(confirmation).to_be_visible()
    await expect(page.get_by_text("Call ended")).to_have_count(0)
    await page.screenshot(path=screenshot_path("widget-callback-confirmed"))

    # The gateway has the request (the number in E.164, the window with the visitor's offset) and
    # the call's task was cancelled, not abandoned.
    async with app[DB].connect() as conn:
        requests = (await conn.execute(sa.select(t.events.c.data).where(t.events.c.type == "callback.requested"))).scalars().all()
    assert len(requests) == 1, requests
    assert requests[0]["number"] == "+442079460000" and requests[0]["topic"] == "my refund"
    assert requests[0]["window_from"] == f"{tomorrow}T14:00:00+08:00"
    assert requests[0]["window_to"] == f"{tomorrow}T16:30:00+08:00"

    async def cancelled() -> bool:
        return await voice_task_states(app) == ["cancelled"]
    assert await until(cancelled), await voice_task_states(app)

    await page.get_by_role("button", name="Back to chat").click()
    await expect(page.get_by_role("button", name="Call us")).to_be_visible()


# The agent's leg, as the inbox would make it: an offer (receive-only audio will do), ICE complete.
AGENT_OFFER = """
async () => {
  const pc = new RTCPeerConnection();
  window.__agent = pc;
  pc.addTransceiver("audio", { direction: "sendrecv" });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp;
}
"""


async def test_agent_answers_then_hangs_up(call_browser: Browser, voice_gateway: Gateway):
    app, base, config = voice_gateway
    page = await visitor_page(call_browser, base)
    await page.get_by_role("button", name="Open chat with us").click()
    await page.get_by_role("button", name="Call us").click()
    await expect(page.get_by_role("status").filter(has_text="Waiting for an agent")).to_be_visible(timeout=15000)

    agent = await Staff(base).login(config.demo.agent_email, config.demo.agent_password)
    sockets = Sockets(base)
    try:
        inbox = await sockets.connect("/agent", cookie=agent.cookie)
        assert (await inbox.call("presence", {"status": "available"}))["ok"]
        offer = await inbox.wait_for("task.offered", timeout=10)
        assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]

        # Taken: the visitor is told by whom, and the call's time runs.
        await expect(page.get_by_role("status").filter(has_text="Talking with Demo")).to_be_visible()
        await expect(page.get_by_role("timer")).to_have_text("00:02", timeout=5000)
        conversation = await agent.call("GET", f"/api/v1/conversations/{offer['conversation_id']}")
        call_id = conversation["attributes"]["call"]["id"]
        agent_page = await call_browser.new_page()
        await agent_page.goto(f"{base}/demo/")
        answer = await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_page.evaluate(AGENT_OFFER)})
        assert answer["ok"], answer
        await agent_page.evaluate("(sdp) => window.__agent.setRemoteDescription({type: 'answer', sdp})", answer["sdp"])
        await page.screenshot(path=screenshot_path("widget-call-talking"))

        # The agent hangs up: the visitor's call ends too, microphone released.
        assert (await inbox.call("call_hangup", {"call_id": call_id}))["ok"]
        await expect(page.get_by_role("status").filter(has_text="Call ended")).to_be_visible()
        await expect(page.get_by_role("timer")).to_have_count(0)
        assert await page.evaluate("""() => window.__pcs.every((pc) => pc.connectionState === "closed"
            && pc.getSenders().every((s) => !s.track || s.track.readyState === "ended"))""")
        assert await voice_task_states(app) != ["abandoned"]
    finally:
        await sockets.close()
        await agent.http.close()


async def test_leaving_the_page_hangs_up(call_browser: Browser, voice_gateway: Gateway):
    app, base, _ = voice_gateway
    page = await visitor_page(call_browser, base)
    await page.get_by_role("button", name="Open chat with us").click()
    await page.get_by_role("button", name="Call us").click()
    await expect(page.get_by_role("status").filter(has_text="Waiting for an agent")).to_be_visible(timeout=15000)
    await page.goto("about:blank")

    async def abandoned() -> bool:
        return await voice_task_states(app) == ["abandoned"]
    assert await until(abandoned, timeout=10), await voice_task_states(app)
    # Back on the site (the panel opens again by itself), the visitor's chat is not the call.
    await page.goto(f"{base}/demo/")
    await expect(page.get_by_role("button", name="Call us")).to_be_visible()
    await page.wait_for_timeout(1000)
    await expect(page.get_by_role("log")).to_have_count(0)
    await page.screenshot(path=screenshot_path("widget-call-after-leaving"))


async def test_a_call_part_that_cannot_be_loaded_lets_the_visitor_go_back(call_browser: Browser, voice_gateway: Gateway):
    _, base, _ = voice_gateway
    page = await visitor_page(call_browser, base)

    async def refuse(route):
        await route.abort()
    await page.route(re.compile(r"/static/dist/widget-call-"), refuse)
    await page.get_by_role("button", name="Open chat with us").click()
    await page.get_by_role("button", name="Call us").click()
    await expect(page.get_by_role("alert")).to_contain_text("This part of the chat couldn't be loaded.")
    await page.get_by_role("button", name="Back", exact=True).click()
    await expect(page.get_by_role("button", name="Call us")).to_be_visible()

    # Once it can be had, the call goes ahead.
    await page.unroute(re.compile(r"/static/dist/widget-call-"), refuse)
    await page.get_by_role("button", name="Call us").click()
    await expect(page.get_by_role("status").filter(has_text="Waiting for an agent")).to_be_visible(timeout=15000)
    await page.get_by_role("button", name="Hang up").click()
    await expect(page.get_by_role("status").filter(has_text="Call ended")).to_be_visible()


async def test_no_call_button_without_the_voice_channel(call_browser: Browser, aiohttp_server, tmp_path):
    _, base, _ = await serve_gateway(aiohttp_server, tmp_path, channels={"chat": {"enabled": True}})
    page = await visitor_page(call_browser, base)
    await page.get_by_role("button", name="Open chat with us").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await page.wait_for_timeout(300)
    await expect(page.get_by_role("button", name="Call us")).to_have_count(0)

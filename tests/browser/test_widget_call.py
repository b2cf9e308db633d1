"""The widget's "Call us" (issue 6): in Chromium with a fake microphone, the visitor calls from the
demo site, waits in the queue hearing the gateway's hold audio, sees their place in line, and hangs
up; the call's task is then abandoned. When an agent takes the call the visitor sees who and for how
long, and hears when the agent hangs up. A tenant without the voice channel shows no "Call us"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, async_playwright, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import CHROMIUM, screenshot_path, serve_gateway, until
from tests.browser.test_widget import Staff
from tests.realtime.support import Sockets

Gateway = tuple[Any, str, Any]

# The test's view of the widget's peer connections (the widget keeps its own to itself).
RECORD_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

BYTES_RECEIVED = """
async () => {
  let total = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") total += r.bytesReceived || 0;
    });
  }
  return total;
}
"""


@pytest.fixture
async def call_browser() -> AsyncIterator[Browser]:
    """Chromium with a fake microphone (a beep) that is allowed without asking."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def voice_gateway(aiohttp_server, tmp_path) -> Gateway:
    return await serve_gateway(aiohttp_server, tmp_path, channels={"chat": {"enabled": True}, "voice": {"enabled": True}})


async def visitor_page(browser: Browser, base: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
    page.on("pageerror", lambda exc: print("page error:", exc, exc.stack))
    page.on("console", lambda msg: msg.type == "error" and print("console:", msg.text, msg.location))
    await page.add_init_script(RECORD_PEER_CONNECTIONS)
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
    assert await until(lambda: page.evaluate(BYTES_RECEIVED), timeout=10) > 0, "no audio from the gateway"
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

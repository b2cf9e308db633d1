"""An agent sets up their desk phone from the inbox: the credentials (the password shown once and
never again), the gateway's SIP address to register with, then the phone's registration seen in
the same dialog, and removing it."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from playwright.async_api import expect

from channels.voice.sip.digest import Credentials, authorization
from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import screenshot_path, serve_gateway, until
from tests.browser.test_inbox_chat import log_in
from tests.sip.baresip import Baresip, free_port_pair
from tests.sip.conftest import SUPPORT_LINE
from tests.sip.test_endpoint import Trunk
from tests.sip.test_phone_calls import CALLER_NUMBER
from tests.sip.test_remote_seats import register


async def test_an_agent_sets_up_their_desk_phone_and_sees_it_registered(browser, aiohttp_server, tmp_path):
    sip_port = free_port_pair()
    _, base, config = await serve_gateway(aiohttp_server, tmp_path, channels={"voice": {"enabled": True, "sip": {
        "listen": f"127.0.0.1:{sip_port}", "trunks": [{"name": "t", "addresses": ["127.0.0.1"]}]}}},
        media={"workers": 1})
    page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    await page.goto(f"{base}/inbox/")
    await page.fill("#login-email", config.demo.agent_email)
    await page.fill("#login-password", config.demo.agent_password)
    await page.click("button[type=submit]")
    await page.click(".deskphone-open")
    dialog = page.locator(".dialog-deskphone")
    await expect(dialog.get_by_text("No desk phone is set up.")).to_be_visible()
    await dialog.get_by_role("button", name="Set up a desk phone").click()
    await expect(dialog.locator(".deskphone-registrar")).to_have_text(f"127.0.0.1:{sip_port}")
    username = await dialog.locator(".deskphone-username").inner_text()
    password = await dialog.locator(".deskphone-password code").inner_text()
    assert username.startswith("agent-") and len(password) >= 20
    await expect(dialog.locator(".deskphone-status")).to_contain_text("Not registered")
    await page.screenshot(path=screenshot_path("inbox-desk-phone"))

    # The phone registers with what the agent was shown.
    _, phone = await asyncio.get_running_loop().create_datagram_endpoint(Trunk, local_addr=("127.0.0.1", 0))
    try:
        phone.send(register(username, phone.port, "first", None), sip_port)
        challenge = (await phone.response(401, "REGISTER")).get("www-authenticate") or ""
        answer = authorization(challenge, "REGISTER", "sip:127.0.0.1", Credentials(username, password))
        phone.send(register(username, phone.port, "second", answer).replace("Content-Length: 0", "User-Agent: Test Phone 1.0\nContent-Length: 0"), sip_port)
        await phone.response(200, "REGISTER")
    finally:
        phone.transport.close()

    # Opened again: registered, and the password is not shown any more.
    await dialog.get_by_role("button", name="Close").click()
    await page.click(".deskphone-open")
    await expect(dialog.locator(".deskphone-status")).to_contain_text("Registered (Test Phone 1.0)")
    await expect(dialog.locator(".deskphone-password")).to_have_count(0)
    await dialog.get_by_role("button", name="Remove").click()
    await expect(dialog.get_by_text("No desk phone is set up.")).to_be_visible()



async def test_a_call_taken_on_the_desk_phone_is_on_the_inbox_call_bar(browser, aiohttp_server, tmp_path):
    sip_port = free_port_pair()
    app, base, config = await serve_gateway(aiohttp_server, tmp_path, media={"workers": 1}, channels={
        "chat": {"enabled": True}, "voice": {"enabled": True, "sip": {
            "listen": f"127.0.0.1:{sip_port}", "trunks": [{"name": "t", "addresses": ["127.0.0.1"]}],
            "numbers": [{"number": SUPPORT_LINE, "tenant": "demo"}]}}})
    page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    await log_in(page, base, config)
    await page.click(".deskphone-open")
    dialog = page.locator(".dialog-deskphone")
    await dialog.get_by_role("button", name="Set up a desk phone").click()
    username = await dialog.locator(".deskphone-username").inner_text()
    password = await dialog.locator(".deskphone-password code").inner_text()
    await dialog.get_by_role("button", name="Close").click()
    desk = Baresip(tmp_path / "desk", 1000.0, user=username, auth=(username, password), answer="manual", registrar=sip_port)
    caller = Baresip(tmp_path / "caller", 440.0, user=CALLER_NUMBER)
    await desk.start()
    await caller.start()
    try:
        async def registered() -> bool:
            async with app[DB].connect() as conn:
                return bool((await conn.execute(sa.select(t.sip_phones.c.registered_until).where(
                    t.sip_phones.c.username == username))).scalar_one_or_none())

        assert await until(registered, timeout=10)
        caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
        await caller.wait_for("CALL_ESTABLISHED")  # waiting in the queue
        await page.get_by_label("Your status").select_option("available")
        await desk.wait_for("CALL_INCOMING")  # the offer rings the desk phone (and the inbox)
        desk.command("accept")
        bar = page.locator(".call-bar")
        await expect(bar.locator(".call-state")).to_have_text("On your desk phone")
        await expect(bar.locator(".call-name")).to_contain_text(CALLER_NUMBER)
        await expect(page.locator(".offer")).to_have_count(0)
        await page.screenshot(path=screenshot_path("inbox-desk-phone-call"))
        await bar.get_by_role("button", name="Hang up").click()  # from the inbox: both phones are hung up
        await desk.wait_for("CALL_CLOSED")
        await caller.wait_for("CALL_CLOSED")
        await expect(bar).to_have_attribute("data-phase", "ended")
    finally:
        await desk.stop()
        await caller.stop()

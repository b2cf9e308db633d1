"""The visitor widget of issue 4, driven in Chromium on the demo site while the test plays the agent
(the demo agent over /agent and the REST API, as the inbox does): the pre-chat form starts a chat,
replies, typing and receipts show live, a reload or a network drop loses and doubles nothing, the
offline form when nobody is available, the rating after the chat, invitations, settings and the JS API.
Follow-ups: invitations in single-page apps, failed uploads kept with retry/remove, earlier messages
on request, and the widget's on-demand parts (socket client, rating) fetched from the gateway on a
tenant's own site."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, WebSocketRoute, expect
from yarl import URL

from tests.browser.conftest import screenshot_path
from tests.realtime.support import Listener, Sockets

Gateway = tuple[Any, str, Any]


class Staff:
    """A logged-in inbox user, from the test: REST with the session cookie and the CSRF header."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.me: dict[str, Any] = {}

    async def login(self, email: str, password: str) -> "Staff":
        self.me = await self.call("POST", "/api/v1/auth/login", json={"email": email, "password": password})
        self.csrf = self.me["csrf_token"]
        return self

    @property
    def cookie(self) -> str:
        return self.http.cookie_jar.filter_cookies(URL(self.base))["wecc_session"].value

    @property
    def tenant_id(self) -> str:
        return self.me["memberships"][0]["tenant_id"]

    async def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            body = await resp.json() if resp.status != 204 else None
            assert resp.status == expect, f"{method} {path}: {resp.status} {body}"
            return body


@pytest.fixture
async def staff(gateway: Gateway) -> AsyncIterator[dict[str, Staff]]:
    _, base, config = gateway
    agent = await Staff(base).login(config.demo.agent_email, config.demo.agent_password)
    operator = await Staff(base).login(config.demo.operator_email, config.demo.operator_password)
    yield {"agent": agent, "operator": operator}
    await agent.http.close()
    await operator.http.close()


@pytest.fixture
async def inbox(gateway: Gateway, staff: dict[str, Staff]) -> AsyncIterator[Listener]:
    """The demo agent's inbox socket, available for chats."""
    _, base, _ = gateway
    sockets = Sockets(base)
    listener = await sockets.connect("/agent", cookie=staff["agent"].cookie)
    assert (await listener.call("presence", {"status": "available"}))["ok"]
    yield listener
    await sockets.close()


async def visitor_page(browser: Browser, base: str, *, locale: str = "en-US") -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale=locale)
    page.on("pageerror", lambda exc: print("page error:", exc, exc.stack))
    await page.goto(f"{base}/demo/")
    return page


def widget(page: Page):
    return page.locator("wecc-widget")


def lines(page: Page, text: str):
    """The visitor's view of one message in the conversation log."""
    return page.get_by_role("log").locator(".msg", has_text=text)


async def start_chat(page: Page, text: str, *, name: str = "Ada Lovelace", email: str = "ada@example.com") -> None:
    await page.get_by_role("button", name="Open chat with us").click()
    await expect(page.get_by_role("button", name="Start chat")).to_be_visible()
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Start chat").click()
    await expect(lines(page, text)).to_have_count(1)


async def accept_offer(inbox: Listener) -> str:
    offer = await inbox.wait_for("task.offered", timeout=10)
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    assert (await inbox.call("join_conversation", {"conversation_id": offer["conversation_id"]}))["ok"]
    return offer["conversation_id"]


async def stored_texts(agent: Staff, conversation_id: str) -> list[str]:
    page = await agent.call("GET", f"/api/v1/conversations/{conversation_id}/messages")
    return [m["body_text"] for m in page["items"] if m["kind"] == "message"]


async def test_a_visitor_chats_with_an_agent(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    agent = staff["agent"]
    page = await visitor_page(browser, base)
    await start_chat(page, "Hello, my boiler is leaking")
    # Waiting: the visitor is told where they stand until someone joins.
    await expect(page.get_by_role("status").filter(has_text=re.compile("in line|Waiting"))).to_be_visible()
    conversation_id = await accept_offer(inbox)
    conversation = await agent.call("GET", f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["prechat"]["name"] == "Ada Lovelace"
    assert await stored_texts(agent, conversation_id) == ["Hello, my boiler is leaking"]
    await expect(page.get_by_text("You're chatting with Demo")).to_be_visible()

    # Typing, both ways.
    assert (await inbox.call("typing", {"conversation_id": conversation_id, "typing": True}))["ok"]
    await expect(page.get_by_text("Demo is typing…")).to_be_visible()
    await page.get_by_label("Message").press_sequentially("Is it", delay=20)
    seen = await inbox.wait_for("conversation.typing", lambda d: d.get("author_type") == "contact")
    assert seen["typing"] is True
    await page.get_by_label("Message").fill("")

    # The agent answers: the visitor sees it, as text, with the link made safe; typing stops.
    reply = "I can help. <b>Not bold</b> see https://example.com/boilers?id=7."
    await agent.call("POST", f"/api/v1/conversations/{conversation_id}/messages", 201, json={"body_text": reply})
    await expect(lines(page, "I can help.")).to_have_count(1)
    await expect(lines(page, "I can help.")).to_contain_text("<b>Not bold</b>")
    await expect(page.get_by_text("Demo is typing…")).to_have_count(0)
    link = page.get_by_role("link", name="https://example.com/boilers?id=7")
    await expect(link).to_have_attribute("href", "https://example.com/boilers?id=7")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    # The panel is open on a visible page: the agent hears the reply was read.
    read = await inbox.wait_for("conversation.receipt", lambda d: d.get("by") == "contact" and d["status"] == "read")
    assert read["conversation_id"] == conversation_id

    # The visitor writes again (Enter sends); the agent reads it and the visitor sees "Read".
    await page.get_by_label("Message").fill("Thanks, it's the one in the attic")
    await page.get_by_label("Message").press("Enter")
    mine = lines(page, "the one in the attic")
    await expect(mine).to_contain_text("Sent")
    texts = await stored_texts(agent, conversation_id)
    assert texts[-1] == "Thanks, it's the one in the attic"
    last = (await agent.call("GET", f"/api/v1/conversations/{conversation_id}/messages"))["items"][-1]
    assert (await inbox.call("receipt", {"conversation_id": conversation_id, "message_id": last["id"], "status": "read"}))["ok"]
    await expect(mine).to_contain_text("Read")
    await page.screenshot(path=screenshot_path("widget-chat"))


async def test_a_visitor_who_gives_up_waiting_ends_the_chat(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    page = await visitor_page(browser, base)
    await start_chat(page, "Is anybody there?")
    offer = await inbox.wait_for("task.offered", timeout=10)  # it rings for the agent, who does not answer
    await page.get_by_role("button", name="End chat").click()
    await expect(page.get_by_text("This chat has ended.")).to_be_visible()
    await expect(page.get_by_role("button", name="End chat")).to_have_count(0)
    tasks = await staff["agent"].call("GET", f"/api/v1/conversations/{offer['conversation_id']}/tasks")
    assert [task["state"] for task in tasks["items"]] == ["abandoned"]  # and so it counts in the reports


async def test_reload_and_a_network_drop_lose_and_double_nothing(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    agent = staff["agent"]
    page = await visitor_page(browser, base)
    # All of the widget's socket traffic goes through this tunnel, so the test can cut it.
    tunnel = await Tunnel.under(page)
    await page.reload()
    await start_chat(page, "First line")
    conversation_id = await accept_offer(inbox)
    await agent.call("POST", f"/api/v1/conversations/{conversation_id}/messages", 201, json={"body_text": "Agent line one"})
    await expect(lines(page, "Agent line one")).to_have_count(1)

    # A reload mid-chat: the panel comes back open with the whole conversation, once.
    await page.reload()
    await expect(lines(page, "First line")).to_have_count(1)
    await expect(lines(page, "Agent line one")).to_have_count(1)
    await expect(page.get_by_role("log").locator(".msg")).to_have_count(2)

    # The network drops. The visitor goes on writing; the agent answers meanwhile.
    await tunnel.cut()
    await expect(page.get_by_text("Connection lost")).to_be_visible(timeout=10000)
    await page.get_by_label("Message").fill("Written while offline")
    await page.get_by_role("button", name="Send").click()
    await expect(lines(page, "Written while offline")).to_contain_text("Sending…")
    await agent.call("POST", f"/api/v1/conversations/{conversation_id}/messages", 201, json={"body_text": "Agent line two"})
    # Even a reload while offline keeps the unsent line (the outbox is in localStorage).
    await page.reload()
    await expect(lines(page, "Written while offline")).to_contain_text("Sending…")
    tunnel.restore()
    # Back online: the line is delivered once, and the agent's answer from meanwhile shows up.
    await expect(lines(page, "Written while offline")).to_contain_text("Sent", timeout=RECONNECT_PATIENCE_MS)
    await expect(lines(page, "Agent line two")).to_have_count(1)
    await expect(page.get_by_role("log").locator(".msg")).to_have_count(4)
    assert await stored_texts(agent, conversation_id) == ["First line", "Agent line one", "Agent line two", "Written while offline"]

    # An ack lost on the way back: the widget resends the same client id; stored and shown once.
    tunnel.drop_acks = True
    await page.get_by_label("Message").fill("My ack gets lost")
    await page.get_by_role("button", name="Send").click()
    await wait_until(lambda: stored_texts(agent, conversation_id), lambda texts: texts[-1] == "My ack gets lost")
    await tunnel.cut()
    tunnel.drop_acks = False
    tunnel.restore()
    await expect(lines(page, "My ack gets lost")).to_contain_text("Sent", timeout=RECONNECT_PATIENCE_MS)
    await expect(lines(page, "My ack gets lost")).to_have_count(1)
    assert (await stored_texts(agent, conversation_id)).count("My ack gets lost") == 1
    await page.screenshot(path=screenshot_path("widget-after-reconnect"))


async def test_offline_form_when_no_agent_is_available(browser: Browser, gateway: Gateway, staff):
    _, base, _ = gateway
    agent = staff["agent"]  # logged in, but not available for chats
    page = await visitor_page(browser, base)
    await page.get_by_role("button", name="Open chat with us").click()
    await expect(page.get_by_text("We're away right now")).to_be_visible()
    await expect(page.get_by_role("button", name="Start chat")).to_have_count(0)
    await page.get_by_label("Name").fill("Grace Hopper")
    await page.get_by_label("Email").fill("grace@example.com")
    await page.get_by_label("Message").fill("Please call me back about a quote")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_text("Your message is saved and queued")).to_be_visible()
    await expect(lines(page, "Please call me back about a quote")).to_have_count(1)
    await page.screenshot(path=screenshot_path("widget-offline-sent"))
    # Stored and waiting as work in the inbox.
    listed = await agent.call("GET", "/api/v1/conversations")
    [conversation] = [c for c in listed["items"] if c["contact"]["name"] == "Grace Hopper"]  # once, not twice
    assert conversation["attributes"]["offline"] is True
    assert conversation["attributes"]["prechat"]["email"] == "grace@example.com"
    assert await stored_texts(agent, conversation["id"]) == ["Please call me back about a quote"]


async def test_the_visitor_rates_the_chat_after_it_is_closed(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    agent = staff["agent"]
    page = await visitor_page(browser, base)
    events = await record_api_events(page)
    await start_chat(page, "Can you help with a fuse box?")
    conversation_id = await accept_offer(inbox)
    await agent.call("POST", f"/api/v1/conversations/{conversation_id}/messages", 201, json={"body_text": "Done, anything else?"})
    await expect(lines(page, "Done, anything else?")).to_have_count(1)
    await agent.call("PATCH", f"/api/v1/conversations/{conversation_id}", json={"status": "closed"})

    await expect(page.get_by_text("This chat has ended.")).to_be_visible()
    await expect(page.get_by_label("Message")).to_have_count(0)  # no composer on a closed chat
    await page.locator(".star", has=page.get_by_role("radio", name="4 of 5")).click()
    await page.get_by_label("Comment").fill("Quick and friendly")
    await page.screenshot(path=screenshot_path("widget-rating"))
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()
    conversation = await agent.call("GET", f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["csat"] == {"score": 4, "comment": "Quick and friendly"}
    names = [name for name, _ in await events()]
    assert names[0] == "open" and names[-1] == "chat_ended" and "chat_started" in names and names.count("message") >= 2, names

    # A reload keeps the ended chat (rated); a new chat starts from the pre-chat form.
    await page.reload()
    await expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()
    await page.get_by_role("button", name="Start a new chat").click()
    await expect(page.get_by_role("button", name="Start chat")).to_be_visible()


def png(width: int = 40, height: int = 30) -> bytes:
    """A small, real PNG (the gateway checks files' bytes against their type)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x1f\x6f\xeb" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_files_both_ways(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    agent = staff["agent"]
    page = await visitor_page(browser, base)
    await start_chat(page, "Here is a photo of the damage")
    conversation_id = await accept_offer(inbox)
    attach = page.get_by_role("button", name="Attach a file")
    await expect(attach).to_be_visible()
    picker = page.locator("wecc-widget input[type=file]")
    # A type the site doesn't take is refused before anything is sent.
    await picker.set_input_files(files=[{"name": "setup.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ" * 100}])
    await expect(page.get_by_role("alert")).to_have_text("That type of file can't be sent.")
    # An image: sent, stored once, and shown as a preview in the conversation.
    await picker.set_input_files(files=[{"name": "damage.png", "mimeType": "image/png", "buffer": png()}])
    image = page.get_by_role("log").get_by_role("img", name="damage.png")
    await expect(image).to_be_visible()
    await expect(image).to_have_attribute("src", re.compile(r"^http://127\.0\.0\.1:\d+/api/v1/widget/attachments/"))
    await wait_until(lambda: image.evaluate("img => img.complete && img.naturalWidth"), lambda width: width == 40)
    await expect(page.get_by_role("log").get_by_role("img")).to_have_count(1)
    items = (await agent.call("GET", f"/api/v1/conversations/{conversation_id}/messages"))["items"]
    assert [a["filename"] for m in items for a in m["meta"].get("attachments", [])] == ["damage.png"]
    # A file from the agent: a safe link with its name and size.
    form = aiohttp.FormData()
    form.add_field("body_text", "The quote, as promised")
    form.add_field("file", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", filename="quote.pdf",
                   content_type="application/pdf")
    await agent.call("POST", f"/api/v1/conversations/{conversation_id}/attachments", 201, data=form)
    link = page.get_by_role("link", name=re.compile(r"^quote\.pdf \(\d+ KB\)$"))
    await expect(link).to_be_visible()
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(lines(page, "The quote, as promised")).to_have_count(1)
    await page.screenshot(path=screenshot_path("widget-files"))


async def test_settings_invitation_language_and_the_js_api(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    operator, agent = staff["operator"], staff["agent"]
    tenant_id = agent.tenant_id
    await operator.call("PUT", f"/api/v1/tenants/{tenant_id}/widget/settings", json={
        "title": "Demo 客服", "color": "#0b7a3e", "position": "left", "locale": "zh-CN",
        "prechat": {"name": "required", "email": "hidden", "fields": [
            {"name": "department", "label": "部门", "type": "select", "required": True,
             "options": [{"value": "sales", "label": "销售"}, {"value": "repairs", "label": "维修"}]}]},
        "proactive": [{"id": "welcome", "message": "需要帮忙吗？", "after_seconds": 1, "url_pattern": "/demo*"},
                      {"id": "elsewhere", "message": "Not on this page", "after_seconds": 0, "url_pattern": "/pricing*"}],
    })
    await operator.call("PATCH", f"/api/v1/tenants/{tenant_id}", json={"branding": {"logo_url": "https://demo.example/logo.png"}})
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
    # The page queues calls before widget.js has loaded.
    await page.add_init_script("""
        window.seen = [];
        window.WECC_Q = window.WECC_Q || [];
        WECC_Q.push(["on", "open", function () { seen.push("open"); }],
                    ["setAttributes", {plan: "pro"}]);
    """)
    await page.goto(f"{base}/demo/")
    # The invitation of the rule for this page, once; the tenant's language beats the browser's.
    invite = page.get_by_role("button", name="需要帮忙吗？")
    await expect(invite).to_be_visible(timeout=5000)
    await expect(page.get_by_text("Not on this page")).to_have_count(0)
    launcher = page.get_by_role("button", name="打开在线客服")
    box = await launcher.bounding_box()
    assert box is not None and box["x"] < 200  # on the left
    assert await launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(11, 122, 62)"
    await page.screenshot(path=screenshot_path("widget-invitation"))
    await invite.click()
    await expect(page.get_by_role("heading", name="Demo 客服")).to_be_visible()
    await expect(page.locator(".panel-logo")).to_have_attribute("src", "https://demo.example/logo.png")  # the business's logo
    assert await page.evaluate("window.seen") == ["open"]
    # The tenant's form: name required, no e-mail, the department picker.
    await expect(page.get_by_label("电子邮箱")).to_have_count(0)
    await page.get_by_label("姓名").fill("李雷")
    await page.get_by_label("部门").select_option("repairs")
    await page.get_by_label("留言内容").fill("热水器坏了")
    await page.get_by_role("button", name="开始对话").click()
    await expect(lines(page, "热水器坏了")).to_have_count(1)
    conversation_id = await accept_offer(inbox)
    conversation = await agent.call("GET", f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["prechat"]["fields"] == {"department": "repairs"}
    assert conversation["attributes"]["custom"] == {"plan": "pro"}
    await page.screenshot(path=screenshot_path("widget-zh-CN"))

    # The JS API closes and opens the panel; the invitation does not come back this session.
    await page.evaluate("WECC.close()")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await page.evaluate("WECC.toggle()")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await page.evaluate("WECC.close()")
    await page.reload()
    await page.wait_for_timeout(1500)
    await expect(page.get_by_role("button", name="需要帮忙吗？")).to_have_count(0)


async def record_api_events(page: Page):
    """Listens to the widget's JS API events from the page's side, through WECC_Q."""
    await page.evaluate("""() => {
        window.recorded = [];
        for (const name of ["open", "close", "message", "chat_started", "chat_ended"])
            WECC_Q.push(["on", name, (detail) => recorded.push([name, detail || null])]);
    }""")

    async def recorded() -> list[tuple[str, Any]]:
        return [tuple(e) for e in await page.evaluate("window.recorded")]

    return recorded


async def wait_until(fetch, ok, timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await fetch()
        if ok(value):
            return value
        assert loop.time() < deadline, f"still {value!r}"
        await asyncio.sleep(0.1)


class Tunnel:
    """The page's socket traffic, passed through to the gateway until the test cuts it: `cut`
    closes every open connection and refuses new ones (WebSocket and HTTP long-polling alike) until
    `restore`; with `drop_acks` the gateway's answers are lost on the way back."""

    def __init__(self) -> None:
        self.down = False
        self.drop_acks = False
        self.open: list[WebSocketRoute] = []

    @classmethod
    async def under(cls, page: Page) -> "Tunnel":
        """A tunnel for all of the page's socket traffic (it takes effect at the next load)."""
        tunnel = cls()
        await page.route_web_socket(re.compile(r"/socket\.io/"), tunnel.route)
        await page.route(re.compile(r"/socket\.io/"), tunnel.route_http)
        return tunnel

    async def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        if self.down:  # the gateway hangs up at once, as if unreachable
            await server.close()
            return
        ws.on_message(lambda message: server.send(message))
        server.on_message(lambda message: None if self.drop_acks and is_ack(message) else ws.send(message))
        self.open += [ws, server]

    async def route_http(self, route) -> None:
        if self.down:
            await route.abort()
        else:
            await route.continue_()

    async def cut(self) -> None:
        self.down = True
        for ws in self.open:
            await ws.close()
        self.open.clear()

    def restore(self) -> None:
        self.down = False


# Longer than the widget's longest wait between reconnection attempts (connection.js:
# reconnectionDelayMax 15 s, which socket.io randomises by up to half again).
RECONNECT_PATIENCE_MS = 30_000


def is_ack(message: str | bytes) -> bool:
    """An Engine.IO message (4) carrying a Socket.IO ack (3)."""
    return isinstance(message, str) and message.startswith("43")


async def test_a_signed_in_user_goes_on_with_the_chat_on_another_device(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    operator = staff["operator"]
    secret = (await operator.call("POST", f"/api/v1/tenants/{staff['agent'].tenant_id}/widget-secret"))["widget_secret"]
    user = {"id": "customer-42", "hash": hmac.new(secret.encode(), b"customer-42", hashlib.sha256).hexdigest()}
    laptop = await visitor_page(browser, base)
    await laptop.evaluate("user => WECC.setUser(user)", user)
    await start_chat(laptop, "Started on my laptop")
    await accept_offer(inbox)
    # Another browser (another visitor id), the same signed-in user: the chat is there, live.
    phone = await visitor_page(browser, base)
    await phone.evaluate("user => WECC.setUser(user)", user)
    await phone.evaluate("WECC.open()")
    await expect(lines(phone, "Started on my laptop")).to_have_count(1)
    await phone.get_by_label("Message").fill("Now on my phone")
    await phone.get_by_label("Message").press("Enter")
    await expect(lines(laptop, "Now on my phone")).to_have_count(1)
    # A forged signature is refused: the visitor is told the help desk can't be reached.
    stranger = await visitor_page(browser, base)
    await stranger.evaluate("() => WECC.setUser({id: 'customer-42', hash: 'f'.repeat(64)})")
    await stranger.evaluate("WECC.open()")
    await expect(stranger.get_by_text("Can't reach the help desk right now")).to_be_visible()
    await expect(lines(stranger, "Started on my laptop")).to_have_count(0)


# ---- issue 4 follow-ups: single-page apps, failed uploads, earlier messages, on-demand parts ----


async def test_invitations_follow_a_single_page_app(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    await staff["operator"].call("PUT", f"/api/v1/tenants/{staff['agent'].tenant_id}/widget/settings", json={"proactive": [
        {"id": "prices", "message": "Questions about our prices?", "after_seconds": 2, "url_pattern": "/pricing*"},
        {"id": "help", "message": "Stuck? Ask us.", "after_seconds": 1, "url_pattern": "/help*"},
        {"id": "checkout", "message": "Need help paying?", "after_seconds": 0, "url_pattern": "/checkout*"},
    ]})
    page = await visitor_page(browser, base)
    prices = page.get_by_role("button", name="Questions about our prices?")
    await page.wait_for_timeout(2500)
    await expect(prices).to_have_count(0)  # no rule for /demo/

    # The app moves to /pricing without loading a page: its time on page starts there, not at load.
    await page.evaluate("history.pushState({}, '', '/pricing/plans')")
    await page.wait_for_timeout(1000)
    await expect(prices).to_have_count(0)
    await expect(prices).to_be_visible(timeout=5000)
    # Leaving the page takes the bubble along; coming back does not bring it again.
    await page.evaluate("history.pushState({}, '', '/about')")
    await expect(prices).to_have_count(0)
    await page.evaluate("history.back()")
    await page.wait_for_function("location.pathname === '/pricing/plans'")
    await page.wait_for_timeout(2500)
    await expect(prices).to_have_count(0)

    # A hash router's route counts as a page; a dismissed invitation stays dismissed.
    await page.evaluate("location.hash = '#/help'")
    help_invite = page.get_by_role("button", name="Stuck? Ask us.")
    await expect(help_invite).to_be_visible(timeout=5000)
    await page.get_by_role("button", name="Dismiss").click()
    await expect(help_invite).to_have_count(0)
    await page.evaluate("history.replaceState({}, '', '/help/faq')")
    await page.wait_for_timeout(1500)
    await expect(help_invite).to_have_count(0)

    # With a chat going on, no invitation interrupts it.
    await start_chat(page, "Just browsing, one question")
    await page.evaluate("WECC.close()")
    await page.evaluate("history.pushState({}, '', '/checkout')")
    await page.wait_for_timeout(1000)
    await expect(page.get_by_role("button", name="Need help paying?")).to_have_count(0)


async def test_a_failed_upload_waits_with_retry_and_remove(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    agent = staff["agent"]
    page = await visitor_page(browser, base)
    tunnel = await Tunnel.under(page)
    uploads: list[str] = []
    page.on("request", lambda r: r.url.endswith("/api/v1/widget/uploads") and uploads.append(r.url))
    await page.reload()
    await start_chat(page, "Photos of the leak follow")
    conversation_id = await accept_offer(inbox)
    picker = page.locator("wecc-widget input[type=file]")
    log = page.get_by_role("log")

    async def stored_files() -> list[str]:
        items = (await agent.call("GET", f"/api/v1/conversations/{conversation_id}/messages"))["items"]
        return [a["filename"] for m in items for a in m["meta"].get("attachments", [])]

    # The network fails under the upload: the file stays, marked, with a way to send it again.
    await page.route("**/api/v1/widget/uploads", lambda route: route.abort())
    await picker.set_input_files(files=[{"name": "leak.png", "mimeType": "image/png", "buffer": png()}])
    leak = log.locator(".msg", has=page.get_by_role("img", name="leak.png"))
    await expect(leak).to_contain_text("Not sent")
    await expect(leak.get_by_role("alert")).to_have_text("The file could not be sent. It is kept only until you leave this page.")
    await page.unroute("**/api/v1/widget/uploads")
    await leak.get_by_role("button", name="Retry").click()
    await expect(leak).not_to_contain_text("Not sent")
    await expect(log.get_by_role("img", name="leak.png")).to_have_attribute("src", re.compile(r"/api/v1/widget/attachments/"))
    assert await stored_files() == ["leak.png"]

    # A server error: the visitor gives up on that file; nothing is stored.
    await page.route("**/api/v1/widget/uploads", lambda route: route.fulfill(status=503, body="busy"))
    await picker.set_input_files(files=[{"name": "meter.png", "mimeType": "image/png", "buffer": png(20, 20)}])
    meter = log.locator(".msg", has=page.get_by_role("img", name="meter.png"))
    await expect(meter).to_contain_text("Not sent")
    await meter.get_by_role("button", name="Remove").click()
    await expect(log.get_by_role("img", name="meter.png")).to_have_count(0)
    await page.unroute("**/api/v1/widget/uploads")

    # The gateway refuses the file (its bytes are no PNG): its reason shows, and it is not tried again,
    # not even after a reconnect.
    await picker.set_input_files(files=[{"name": "fake.png", "mimeType": "image/png", "buffer": b"not an image at all"}])
    fake = log.locator(".msg", has=page.get_by_role("img", name="fake.png"))
    await expect(fake.get_by_role("alert")).to_have_text("That type of file can't be sent.")
    await expect(fake.get_by_role("button", name="Retry")).to_have_count(0)
    refused_posts = len(uploads)

    # The socket is down, so not even a ticket can be had: the file waits, and goes once it is back.
    await tunnel.cut()
    await expect(page.get_by_text("Connection lost")).to_be_visible(timeout=10000)
    await picker.set_input_files(files=[{"name": "valve.png", "mimeType": "image/png", "buffer": png(30, 30)}])
    valve = log.locator(".msg", has=page.get_by_role("img", name="valve.png"))
    await expect(valve).to_contain_text("Not sent")
    tunnel.restore()
    await expect(valve).not_to_contain_text("Not sent", timeout=RECONNECT_PATIENCE_MS)
    await wait_until(stored_files, lambda names: names == ["leak.png", "valve.png"])
    await expect(fake).to_contain_text("Not sent")
    assert len(uploads) == refused_posts + 1  # valve.png only

    # After a reload a failed file is gone (a page can't keep files), but an unsent line stays.
    await tunnel.cut()
    await expect(page.get_by_text("Connection lost")).to_be_visible(timeout=10000)
    await page.get_by_label("Message").fill("Did the photos arrive?")
    await page.get_by_role("button", name="Send").click()
    await picker.set_input_files(files=[{"name": "tap.png", "mimeType": "image/png", "buffer": png(10, 10)}])
    await expect(log.locator(".msg", has=page.get_by_role("img", name="tap.png"))).to_contain_text("Not sent")
    await page.screenshot(path=screenshot_path("widget-failed-upload"))
    await page.reload()
    await expect(lines(page, "Did the photos arrive?")).to_contain_text("Sending…")
    await expect(log.get_by_role("img", name="tap.png")).to_have_count(0)
    await expect(log.get_by_role("img", name="fake.png")).to_have_count(0)
    tunnel.restore()
    await expect(lines(page, "Did the photos arrive?")).to_contain_text("Sent", timeout=RECONNECT_PATIENCE_MS)
    assert await stored_files() == ["leak.png", "valve.png"]


async def test_earlier_messages_page_back_and_keep_the_place(browser: Browser, gateway: Gateway, staff, inbox: Listener):
    _, base, _ = gateway
    agent = staff["agent"]
    page = await visitor_page(browser, base)
    tunnel = await Tunnel.under(page)
    await page.reload()
    await start_chat(page, "A long story, sorry")
    conversation_id = await accept_offer(inbox)
    for n in range(1, 61):
        await agent.call("POST", f"/api/v1/conversations/{conversation_id}/messages", 201, json={"body_text": f"Agent note {n:02}"})
    await expect(lines(page, "Agent note 60")).to_have_count(1)
    earlier = page.get_by_role("button", name="Earlier messages")
    await expect(earlier).to_have_count(0)  # the whole chat is here

    # After a reload the widget has the latest 50 of 61 messages, and offers the rest.
    await page.reload()
    await expect(lines(page, "Agent note 60")).to_be_visible()
    msgs = page.get_by_role("log").locator(".msg")
    await expect(msgs).to_have_count(50)
    await expect(lines(page, "Agent note 10")).to_have_count(0)
    await expect(earlier).to_have_count(1)

    # Scrolled to the top while offline: the visitor hears it didn't work.
    await tunnel.cut()
    await expect(page.get_by_text("Connection lost")).to_be_visible(timeout=10000)
    await page.get_by_role("log").hover()
    await page.mouse.wheel(0, -20000)
    await expect(page.get_by_role("log").get_by_role("alert")).to_have_text("That didn't go through. Please try again.")
    tunnel.restore()
    await expect(page.get_by_text("Connection lost")).to_have_count(0, timeout=RECONNECT_PATIENCE_MS)

    # The next page comes above; what the visitor was reading stays where it was.
    oldest = lines(page, "Agent note 11")
    before = await oldest.bounding_box()
    await earlier.click()
    await expect(lines(page, "Agent note 01")).to_have_count(1)
    await expect(lines(page, "A long story, sorry")).to_have_count(1)
    await expect(msgs).to_have_count(61)
    await expect(earlier).to_have_count(0)  # fewer than a page came: that was all
    after = await oldest.bounding_box()
    assert before and after and abs(after["y"] - before["y"]) < 4, (before, after)
    await expect(lines(page, "Agent note 01")).not_to_be_in_viewport()
    await page.screenshot(path=screenshot_path("widget-earlier-messages"))


async def test_parts_load_on_demand_from_the_gateway_on_another_site(browser: Browser, gateway: Gateway, staff, inbox: Listener, aiohttp_server):
    """The widget embedded on a tenant's own site (another origin): a page view without a chat
    fetches no more than widget.js; the socket client and the rating screen come from the gateway
    when needed, and a part that can't be loaded says so and can be tried again."""
    _, base, _ = gateway
    operator, agent = staff["operator"], staff["agent"]
    shop_page = ("<!doctype html><meta charset=utf-8><title>Shop</title><h1>The shop</h1>"
                 f'<script src="{base}/widget.js" data-tenant="demo-widget-key" async></script>')

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=shop_page, content_type="text/html")
    shop = web.Application()
    shop.router.add_get("/", home)
    site = str((await aiohttp_server(shop)).make_url("")).rstrip("/")
    await operator.call("PATCH", f"/api/v1/tenants/{agent.tenant_id}", json={"allowed_origins": [base, site]})
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
    scripts: list[str] = []
    page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url))
    await page.goto(f"{site}/")
    await expect(page.get_by_role("button", name="Open chat with us")).to_be_visible()
    await page.wait_for_timeout(500)
    assert scripts == [f"{base}/widget.js"]

    async def no_rating(route):
        await route.abort()
    await page.route(re.compile(r"/static/dist/widget-rating-"), no_rating)
    await start_chat(page, "Do you ship abroad?")
    conversation_id = await accept_offer(inbox)
    await agent.call("PATCH", f"/api/v1/conversations/{conversation_id}", json={"status": "closed"})
    await expect(page.get_by_text("This chat has ended.")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("This part of the chat couldn't be loaded.")
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    await page.screenshot(path=screenshot_path("widget-part-failed"))

    await page.unroute(re.compile(r"/static/dist/widget-rating-"), no_rating)
    await page.get_by_role("button", name="Try again").click()
    await page.locator(".star", has=page.get_by_role("radio", name="5 of 5")).click()
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()
    assert (await agent.call("GET", f"/api/v1/conversations/{conversation_id}"))["attributes"]["csat"]["score"] == 5
    parts = [url for url in scripts if url != f"{base}/widget.js"]
    assert parts and all(url.startswith(f"{base}/static/dist/widget-") for url in parts), scripts

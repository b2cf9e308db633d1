"""A visitor sends a file from the widget and sees the agent's: upload tickets over the socket,
the upload over HTTP from the tenant's site, limits on size, type and rate, and signed download
links that only ever open the customer's own, public files."""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.widget.links import attachment_path, upload_ticket
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import Listener, Sockets, session_cookie

WIDGET = "demo-widget-key"
SITE = "https://shop.example"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", uploads={"max_bytes": 4096, "visitor_files_per_window": 3},
                       realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"})


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def form(token: str, content: bytes, *, filename: str = "photo.png", content_type: str = "image/png",
         client_id: str = "f-000000001", text: str = "", file_first: bool = False) -> FormData:
    data = FormData()
    if file_first:
        data.add_field("file", content, filename=filename, content_type=content_type)
    data.add_field("token", token)
    data.add_field("client_id", client_id)
    if text:
        data.add_field("text", text)
    if not file_first:
        data.add_field("file", content, filename=filename, content_type=content_type)
    return data


async def chat(sockets: Sockets, visitor_id: str) -> tuple[Listener, str]:
    me = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": visitor_id}, origin=SITE)
    started = await me.call("start_chat", {"client_id": "c-900000001", "text": "I'll send a photo of the damage"})
    assert started["ok"], started
    return me, started["conversation_id"]


@pytest.fixture
async def site(operator: Api, agent: Api) -> str:
    await operator.patch(f"/api/v1/tenants/{agent.tenant_id()}", json={"allowed_origins": [SITE]})
    return SITE


async def test_a_visitor_sends_a_picture_and_both_sides_can_open_it(client: TestClient, agent: Api, site: str, sockets: Sockets):
    me, conversation_id = await chat(sockets, "visitor-files-0001")
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"]
    ticket = await me.call("upload_ticket", {"conversation_id": conversation_id})
    assert ticket["ok"] and ticket["url"] == "/api/v1/widget/uploads" and ticket["max_bytes"] == 4096
    assert "image/png" in ticket["allowed_types"]

    sent = await client.post(ticket["url"], data=form(ticket["token"], png(), text="the crack"), headers={"Origin": site})
    assert sent.status == 201, await sent.text()
    assert sent.headers["Access-Control-Allow-Origin"] == site
    message = (await sent.json())["message"]
    assert message["body_text"] == "the crack" and message["author_type"] == "contact"
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == ("photo.png", "image/png", len(png()))
    # The same upload resent after a lost answer is kept once.
    again = await client.post(ticket["url"], data=form(ticket["token"], png(), text="the crack"), headers={"Origin": site})
    assert again.status == 200 and (await again.json())["message"]["id"] == message["id"]

    # The agent sees it live with the file; the visitor's other tabs too, with the signed link.
    staff = await inbox.wait_for("message.created", lambda d: d["message"]["id"] == message["id"])
    assert staff["message"]["meta"]["attachments"][0]["id"] == attachment["id"]
    pushed = await me.wait_for("message.created", lambda d: d["message"]["id"] == message["id"])
    assert pushed["message"]["attachments"][0]["url"] == attachment["url"]
    opened = await client.get(attachment["url"])
    assert opened.status == 200 and await opened.read() == png()
    assert opened.headers["Content-Type"] == "image/png" and opened.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get(attachment["url"][:-4] + "0000")).status == 404  # a guessed signature

    # The agent's file reaches the visitor with a link of its own; the history carries links too.
    reply = FormData()
    reply.add_field("file", b"Invoice 1182\n", filename="invoice.txt", content_type="text/plain")
    await agent.post(f"/api/v1/conversations/{conversation_id}/attachments", expect=201, data=reply)
    shared = await me.wait_for("message.created", lambda d: d["message"]["author_type"] == "agent")
    assert (await (await client.get(shared["message"]["attachments"][0]["url"])).read()) == b"Invoice 1182\n"
    history = await me.call("history", {"conversation_id": conversation_id})
    assert [len(m["attachments"]) for m in history["messages"]] == [0, 1, 1]
    assert all(a["url"].startswith("/api/v1/widget/attachments/") for m in history["messages"] for a in m["attachments"])


async def test_a_file_on_an_internal_note_never_opens_for_the_visitor(client: TestClient, agent: Api, site: str, sockets: Sockets):
    me, conversation_id = await chat(sockets, "visitor-files-0002")
    note = FormData()
    note.add_field("kind", "note")
    note.add_field("file", b"internal fraud report", filename="report.txt", content_type="text/plain")
    noted = await agent.post(f"/api/v1/conversations/{conversation_id}/attachments", expect=201, data=note)
    attachment_id = noted["meta"]["attachments"][0]["id"]
    secret = await _secret(client)
    # Even a correctly signed link opens nothing.
    assert (await client.get(attachment_path(secret, attachment_id))).status == 404
    assert not me.got("message.created", lambda d: "report" in str(d))


async def _secret(client: TestClient) -> str:
    import sqlalchemy as sa

    from gateway.db import schema as t
    from gateway.keys import DB

    async with client.app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.tenants.c.widget_secret).where(t.tenants.c.widget_key == WIDGET))).scalar_one()


async def test_bad_uploads_get_a_clear_refusal_and_nothing_is_posted(client: TestClient, agent: Api, site: str, sockets: Sockets):
    me, conversation_id = await chat(sockets, "visitor-files-0003")
    token = (await me.call("upload_ticket", {"conversation_id": conversation_id}))["token"]
    secret = await _secret(client)
    expired, _ = upload_ticket(secret, conversation_id, now=1_000_000)
    forged, _ = upload_ticket("not the secret", conversation_id)
    cases = [
        (form(token, b"\x89PNG" + b"0" * 5000), {"Origin": site}, 413, "file_too_large"),
        (form(token, b"MZ\x90\x00" + b"\x00" * 100, filename="run.exe", content_type="image/png"), {"Origin": site}, 415, "file_type_refused"),
        (form(expired, png()), {"Origin": site}, 403, "bad_ticket"),
        (form(forged, png()), {"Origin": site}, 403, "bad_ticket"),
        (form("garbage", png()), {"Origin": site}, 403, "bad_ticket"),
        (form(token, png(), file_first=True), {"Origin": site}, 403, "bad_ticket"),
        (form(token, png()), {"Origin": "https://evil.example"}, 403, "origin_refused"),
    ]
    for data, headers, status, code in cases:
        refused = await client.post("/api/v1/widget/uploads", data=data, headers=headers)
        body = await refused.json()
        assert (refused.status, body["code"]) == (status, code), body
        if headers["Origin"] == site:
            assert refused.headers["Access-Control-Allow-Origin"] == site  # the widget can say why
    history = await me.call("history", {"conversation_id": conversation_id})
    assert [m["body_text"] for m in history["messages"]] == ["I'll send a photo of the damage"]
    # Only the conversation's own visitor gets a ticket.
    stranger = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-files-0004"})
    assert (await stranger.call("upload_ticket", {"conversation_id": conversation_id}))["code"] == "not_found"


async def test_visitor_files_are_rate_limited_and_can_be_switched_off(client: TestClient, agent: Api, operator: Api,
                                                                     site: str, sockets: Sockets):
    me, conversation_id = await chat(sockets, "visitor-files-0005")
    token = (await me.call("upload_ticket", {"conversation_id": conversation_id}))["token"]
    statuses = []
    for n in range(4):
        sent = await client.post("/api/v1/widget/uploads", data=form(token, png(n + 1, 1), client_id=f"f-00000000{n}"),
                                 headers={"Origin": site})
        statuses.append(sent.status)
    assert statuses == [201, 201, 201, 429]
    assert int(sent.headers["Retry-After"]) > 0
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/widget/settings", json={"features": {"attachments": False}})
    assert (await me.call("upload_ticket", {"conversation_id": conversation_id}))["code"] == "attachments_disabled"
    refused = await client.post("/api/v1/widget/uploads", data=form(token, png(), client_id="f-100000000"), headers={"Origin": site})
    assert (await refused.json())["code"] == "attachments_disabled"

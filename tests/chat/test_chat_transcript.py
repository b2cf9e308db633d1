"""A visitor asks for the chat's transcript by e-mail: it is queued with the request and sent
through the center's SMTP server (a real one here, aiosmtpd), retried while that server is down,
and limited so the widget can't be used to flood someone's mailbox."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller

from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import Sockets, session_cookie

WIDGET = "demo-widget-key"


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.mails: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.mails.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[tuple[Inbox, Controller]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield inbox, controller
    try:
        controller.stop()
    except AssertionError:
        pass  # already stopped by the test


@pytest.fixture
def config(tmp_path: Path, smtp_port: int) -> Config:
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                       mail={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "security": "none",
                             "from_address": "help@center.example", "first_retry_seconds": 0.3, "poll_seconds": 0.1,
                             "max_attempts": 30})


async def wait_until(check, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_visitor_gets_the_transcript_by_mail(client: TestClient, agent: Api, operator: Api, sockets: Sockets, mailbox):
    received, _ = mailbox
    tid = agent.tenant_id()
    assert (await (await client.get("/api/v1/widget/config", params={"key": WIDGET})).json())["features"]["transcript"] is False
    await operator.put(f"/api/v1/tenants/{tid}/widget/settings", json={"features": {"transcript": True}})
    assert (await (await client.get("/api/v1/widget/config", params={"key": WIDGET})).json())["features"]["transcript"] is True

    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    me = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-mail-0001"})
    conversation_id = (await me.call("start_chat", {"client_id": "c-a00000001", "text": "Where is parcel 1182?"}))["conversation_id"]
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "It ships today."})
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"kind": "note", "body_text": "late again"})

    assert (await me.call("transcript", {"conversation_id": conversation_id, "email": "ann\r\nBcc: x@evil.example"}))["code"] == "invalid"
    assert (await me.call("transcript", {"conversation_id": conversation_id, "email": "ann@example.com"}))["ok"]
    await wait_until(lambda: len(received.mails) == 1)
    [(recipients, mail)] = received.mails
    assert recipients == ["ann@example.com"] and mail["From"] == "help@center.example"
    assert mail["Subject"] == "Your chat with Demo Company" and mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_content().replace("\r\n", "\n")
    assert "You:\n  Where is parcel 1182?" in body and "Demo:\n  It ships today." in body
    assert "late again" not in body  # never an internal note
    sent = await agent.get(f"/api/v1/tenants/{tid}/events?type=mail.sent")
    assert [e["data"]["conversation_id"] for e in sent["items"]] == [conversation_id]

    # A stranger can't have someone else's chat mailed; and a few an hour is the limit.
    stranger = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-mail-0002"})
    assert (await stranger.call("transcript", {"conversation_id": conversation_id, "email": "x@example.com"}))["code"] == "not_found"
    answers = [await me.call("transcript", {"conversation_id": conversation_id, "email": "ann@example.com"}) for _ in range(3)]
    assert [a.get("code") for a in answers] == [None, None, "rate_limited"]


async def test_a_transcript_waits_for_the_mail_server_to_come_back(client: TestClient, agent: Api, operator: Api, sockets: Sockets,
                                                                  mailbox, smtp_port: int):
    received, controller = mailbox
    controller.stop()
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/widget/settings", json={"features": {"transcript": True}})
    me = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-mail-0003"})
    conversation_id = (await me.call("start_chat", {"client_id": "c-a00000002", "text": "Hello"}))["conversation_id"]
    assert (await me.call("transcript", {"conversation_id": conversation_id, "email": "bo@example.com"}))["ok"]
    await asyncio.sleep(1.0)  # a few attempts fail meanwhile
    assert received.mails == []
    restarted = Controller(received, hostname="127.0.0.1", port=smtp_port)
    restarted.start()
    try:
        await wait_until(lambda: len(received.mails) == 1, timeout=20)
    finally:
        restarted.stop()
    assert received.mails[0][0] == ["bo@example.com"]



"""A reply the agent sent is stored first and handed to its channel in the background; if the
gateway stops (or dies) in between, the reply would never go out and the agent would see no
status on it. The registry looks for such replies — at start and every minute — and hands them
over again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway import channel as channel_module
from gateway.config import Config
from gateway.db.schema import utcnow
from gateway.keys import CHANNELS, EVENTS
from tests.email.support import add_mailbox, email_config, email_conversations, eventually, mail, messages
from tests.helpers import Api
from tests.mail.dovecot import Dovecot


@pytest.fixture
def config(tmp_path: Path, dovecot: Dovecot) -> Config:
    config = email_config(tmp_path / "data", dovecot)
    config.mail.poll_seconds = 0.1
    return config


async def test_a_reply_stored_but_never_handed_to_its_channel_goes_out_when_the_gateway_looks_again(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp, monkeypatch: pytest.MonkeyPatch):
    server, port = smtp
    await add_mailbox(operator, dovecot, "lost-replies", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    await dovecot.append("lost-replies", mail("Where is my parcel?", "It has not come.").as_bytes())
    [conversation] = await eventually(lambda: email_conversations(agent))
    cid = conversation["id"]
    since = utcnow() - timedelta(minutes=1)

    # The process that stores the reply stops before its background hand-over runs.
    registry = client.app[CHANNELS]
    client.app[EVENTS].listeners.remove(registry.on_event)
    lost = await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "It left our depot today."})
    note = await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "check depot", "kind": "note"})
    client.app[EVENTS].subscribe(registry.on_event)
    assert server.mails == [] and "delivery" not in lost["meta"]

    # Too young to be called lost: its hand-over may still be running in another process.
    await registry.recover_lost_replies(since)
    await asyncio.sleep(0.5)
    assert server.mails == []
    assert "delivery" not in next(m for m in await messages(agent, cid) if m["id"] == lost["id"])["meta"]
    monkeypatch.setattr(channel_module, "_HAND_OVER_GRACE", timedelta(0))
    next_since = await registry.recover_lost_replies(since)
    assert next_since > since

    assert await eventually(lambda: len(server.mails) == 1)
    [(_, recipients, sent)] = server.mails
    assert recipients == ["ann@customer.example"]
    assert "It left our depot today." in sent.get_body(("plain",)).get_content()
    stored = await eventually(lambda: _status(agent, cid, lost["id"], "sent"))
    assert stored["meta"]["email"]["subject"] == sent["Subject"]
    # The internal note is not mail; the reply is not sent twice by a later sweep.
    assert await registry.recover_lost_replies(since) > since
    assert len(server.mails) == 1
    assert next(m for m in await messages(agent, cid) if m["id"] == note["id"])["meta"].get("delivery") is None


async def _status(agent: Api, conversation_id: str, message_id: str, status: str) -> dict | None:
    for message in await messages(agent, conversation_id):
        if message["id"] == message_id and message["meta"].get("delivery", {}).get("status") == status:
            return message
    return None

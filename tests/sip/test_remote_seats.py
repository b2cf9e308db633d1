"""Remote seats end to end: an agent gets credentials for their own SIP phone in the inbox's API,
a second baresip registers with them, and a phone caller's call offered to the agent rings that
phone; picking up takes the call, each hears the other, and hanging up ends it. Declining on the
phone turns the offer down; bad credentials never register."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from channels.voice.sip.digest import Credentials, authorization
from gateway.db import schema as t
from gateway.keys import DB
from tests.helpers import Api
from tests.media.support import PATIENCE_SECONDS, is_tone, until_heard
from tests.realtime.support import Sockets, session_cookie
from tests.sip.baresip import Baresip
from tests.sip.conftest import SUPPORT_LINE
from tests.sip.test_callbacks import events_of, settled, the_callback
from tests.sip.test_endpoint import Trunk
from tests.sip.test_phone_calls import CALLER_NUMBER, ask_for_a_callback, the_call

CALLER_HZ, AGENT_HZ = 440.0, 1000.0


@pytest.fixture
async def caller(tmp_path: Path) -> AsyncIterator[Baresip]:
    phone = Baresip(tmp_path / "caller", CALLER_HZ, user=CALLER_NUMBER)
    await phone.start()
    yield phone
    await phone.stop()


@pytest.fixture
async def desk_phone(client: TestClient, agent: Api, sip_port: int, tmp_path: Path) -> AsyncIterator[Baresip]:
    """The agent's own phone, registered with the credentials they were given."""
    issued = await agent.post("/api/v1/me/sip-phone", expect=201)
    assert issued["registrar"] == f"127.0.0.1:{sip_port}" and not issued["registered"]
    phone = Baresip(tmp_path / "desk", AGENT_HZ, user=issued["username"], auth=(issued["username"], issued["password"]),
                    answer="manual", registrar=sip_port)
    await phone.start()
    async with asyncio.timeout(PATIENCE_SECONDS):
        while not (await agent.get("/api/v1/me/sip-phone"))["registered"]:
            await asyncio.sleep(0.1)
    yield phone
    await phone.stop()


async def a_call_is_offered(client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, sip_port: int) -> dict:
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    await the_call(agent)
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    return await inbox.wait_for("task.offered")


async def test_the_offer_rings_the_agents_own_phone_and_picking_up_takes_the_call(
        client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, desk_phone: Baresip, sip_port: int):
    status = await agent.get("/api/v1/me/sip-phone")
    assert status["contact"].startswith(f"sip:{status['username']}") and "baresip" in status["user_agent"]
    offer = await a_call_is_offered(client, agent, sockets, caller, sip_port)
    ringing = await desk_phone.wait_for("CALL_INCOMING")
    assert CALLER_NUMBER in ringing.get("peeruri", "") or CALLER_NUMBER in str(ringing), ringing  # who is calling
    desk_phone.command("accept")
    await desk_phone.wait_for("CALL_ESTABLISHED")
    assert await settled(client, offer["task_id"], "assigned")  # the task is the agent's
    await until_heard(desk_phone, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(caller, lambda audio: is_tone(audio, AGENT_HZ))
    answered = [data for _, data in await events_of(client, offer["conversation_id"], "call.answered")]
    assert answered == [{**answered[0], "agent_id": agent.me["user"]["id"], "device": "phone"}]

    desk_phone.command("hangup")  # the agent hangs up on their phone: the caller is hung up too
    await caller.wait_for("CALL_CLOSED")
    assert await settled(client, offer["task_id"], "wrapup")


async def test_declining_on_the_phone_turns_the_offer_down(
        client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, desk_phone: Baresip, sip_port: int):
    offer = await a_call_is_offered(client, agent, sockets, caller, sip_port)
    await desk_phone.wait_for("CALL_INCOMING")
    desk_phone.command("hangup")  # 486 Busy Here
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            async with client.app[DB].connect() as conn:
                kinds = list((await conn.execute(sa.select(t.task_events.c.type).where(
                    t.task_events.c.task_id == offer["task_id"]))).scalars())
            if "rejected" in kinds:
                break
            await asyncio.sleep(0.05)
    assert await settled(client, offer["task_id"], "queued")  # the caller waits on


async def test_a_phone_with_the_wrong_password_never_registers_and_guessing_is_stopped(
        client: TestClient, agent: Api, sip_port: int):
    issued = await agent.post("/api/v1/me/sip-phone", expect=201)
    _, phone = await asyncio.get_running_loop().create_datagram_endpoint(Trunk, local_addr=("127.0.0.1", 0))
    try:
        statuses = []
        for attempt in range(12):
            challenge = 'Digest realm="wecc", nonce="{}", algorithm=MD5'
            guess = authorization(challenge.format(await _nonce(phone, issued["username"], sip_port, attempt)), "REGISTER",
                                  f"sip:127.0.0.1:{sip_port}", Credentials(issued["username"], f"guess-{attempt}"))
            phone.received.clear()
            phone.send(register(issued["username"], phone.port, f"r-{attempt}", guess), sip_port)
            statuses.append((await phone.response(401 if attempt < 10 else 403, "REGISTER")).status)
        assert statuses == [401] * 10 + [403] * 2
    finally:
        phone.transport.close()
    assert not (await agent.get("/api/v1/me/sip-phone"))["registered"]
    await agent.delete("/api/v1/me/sip-phone", expect=204)
    await agent.get("/api/v1/me/sip-phone", expect=404)


async def _nonce(phone: Trunk, username: str, sip_port: int, attempt: int) -> str:
    """A fresh challenge's nonce, from a REGISTER without credentials."""
    phone.received.clear()
    phone.send(register(username, phone.port, f"n-{attempt}", None), sip_port)
    challenge = (await phone.response(401, "REGISTER")).get("www-authenticate") or ""
    return challenge.split('nonce="', 1)[1].split('"', 1)[0]


def register(username: str, port: int, branch: str, auth: str | None) -> str:
    return (f"REGISTER sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{branch}\n"
            f"From: <sip:{username}@127.0.0.1>;tag=t-{branch}\nTo: <sip:{username}@127.0.0.1>\nCall-ID: reg-{branch}\n"
            f"CSeq: 1 REGISTER\nContact: <sip:{username}@127.0.0.1:{port}>\nMax-Forwards: 70\n"
            + (f"Authorization: {auth}\n" if auth else "") + "Content-Length: 0\n\n")



@pytest.fixture
def sip_settings(caller: Baresip) -> dict:
    """Calls out (a callback) reach the caller's phone through the trunk."""
    return {"trunks": [{"name": "carrier", "addresses": ["127.0.0.1"], "outbound": {"proxy": f"127.0.0.1:{caller.sip_port}"}}]}


async def test_a_callback_rings_the_desk_phone_and_picking_up_dials_the_customer(
        client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, desk_phone: Baresip, sip_port: int):
    conversation_id = await ask_for_a_callback(client, agent, caller, sip_port)
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    offer = await inbox.wait_for("task.offered")
    assert offer["channel"] == "callback"
    ringing = await desk_phone.wait_for("CALL_INCOMING")
    assert "Callback" in str(ringing), ringing
    heard_before = len(caller.events)
    desk_phone.command("accept")
    await caller.wait_for("CALL_ESTABLISHED", after=heard_before)  # the customer is called back
    await until_heard(desk_phone, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(caller, lambda audio: is_tone(audio, AGENT_HZ))
    desk_phone.command("hangup")
    await caller.wait_for("CALL_CLOSED", after=heard_before)
    assert await settled(client, offer["task_id"], "wrapup")
    callback, attempts = await the_callback(client, conversation_id)
    assert (callback.state, [a.result for a in attempts]) == ("done", ["answered"])

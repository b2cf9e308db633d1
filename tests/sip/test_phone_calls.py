"""Phone calls from a SIP trunk into the queue, with a real phone (baresip) as the customer and an
aiortc peer as the agent answering in the inbox: hold audio while waiting, each hears the other,
hang-ups from either side, and what is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.db import schema as t
from gateway.keys import CHANNELS, DB
from tests.helpers import Api
from tests.media.support import PATIENCE_SECONDS, ClientPeer, is_hold_audio, is_tone, until_heard
from tests.realtime.support import Sockets, session_cookie
from tests.sip.baresip import Baresip
from tests.sip.conftest import SUPPORT_LINE
from tests.voice.test_calls import event_types, settles_as

CALLER_HZ, AGENT_HZ = 440.0, 1000.0
CALLER_NUMBER = "+4930555123"


@pytest.fixture
async def caller(tmp_path: Path) -> AsyncIterator[Baresip]:
    phone = Baresip(tmp_path / "phone", CALLER_HZ, user=CALLER_NUMBER)
    await phone.start()
    yield phone
    await phone.stop()


@pytest.fixture
async def agent_peer() -> AsyncIterator[ClientPeer]:
    peer = ClientPeer(AGENT_HZ)
    yield peer
    await peer.close()


async def test_a_phone_caller_waits_on_hold_audio_and_talks_with_the_agent_who_answers_in_the_inbox(
        client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, agent_peer: ClientPeer, sip_port: int):
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")  # answered at once: the caller waits in the queue
    await until_heard(caller, is_hold_audio)

    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    offer = await inbox.wait_for("task.offered")
    assert offer["channel"] == "voice"
    conversation = await agent.get(f"/api/v1/conversations/{offer['conversation_id']}")
    assert conversation["subject"] == f"Phone call from {CALLER_NUMBER}"
    contact = await agent.get(f"/api/v1/contacts/{conversation['contact']['id']}")
    assert [i["value"] for i in contact["identities"] if i["kind"] == "phone"] == [CALLER_NUMBER]
    call_id = conversation["attributes"]["call"]["id"]
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    answered = await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_peer.offer()})
    assert answered["ok"], answered
    await agent_peer.accept(answered["sdp"])
    await until_heard(agent_peer, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(caller, lambda audio: is_tone(audio, AGENT_HZ))

    # The agent hangs up: the phone is hung up (BYE), the agent goes on to wrap-up.
    assert (await inbox.call("call_hangup", {"call_id": call_id}))["ok"]
    await caller.wait_for("CALL_CLOSED")
    assert await settles_as(client, offer["conversation_id"], "wrapup")


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned(
        client: TestClient, agent: Api, caller: Baresip, sip_port: int):
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    await until_heard(caller, is_hold_audio)
    [conversation] = (await agent.get("/api/v1/conversations?channel=voice"))["items"]
    caller.command("hangup")
    assert await settles_as(client, conversation["id"], "abandoned")
    assert "call.ended" in await event_types(client, conversation["id"])


async def test_a_number_that_is_not_ours_is_refused(client: TestClient, caller: Baresip, sip_port: int):
    caller.command("dial", f"sip:+4940999999@127.0.0.1:{sip_port}")
    closed = await caller.wait_for("CALL_CLOSED")
    assert "404" in closed.get("param", ""), closed


async def test_a_number_handed_out_through_the_api_rings_in_the_queue_its_admin_chose_until_taken_back(
        client: TestClient, operator: Api, agent: Api, caller: Baresip, sip_port: int):
    tid = agent.tenant_id()
    numbers = f"/api/v1/tenants/{tid}/phone-numbers"
    assert [n["number"] for n in (await operator.get(numbers))["items"]] == [SUPPORT_LINE]  # from config.toml
    orders = await operator.post(f"/api/v1/tenants/{tid}/queues", json={"name": "Orders"}, expect=201)
    line = await operator.post(numbers, json={"number": "+4930777888", "label": "Orders line"}, expect=201)
    await operator.patch(f"{numbers}/{line['id']}", json={"queue_id": orders["id"]})
    caller.command("dial", f"sip:+4930777888@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    conversation = await the_call(agent)
    async with asyncio.timeout(PATIENCE_SECONDS):
        while (task := await queued_task(client, conversation["id"])) is None:
            await asyncio.sleep(0.05)
    assert task["queue_id"] == orders["id"]
    caller.command("hangup")
    await caller.wait_for("CALL_CLOSED")

    await operator.delete(f"{numbers}/{line['id']}", expect=204)
    # Taken back for good: config.toml's numbers come in at the first start only, not at a restart.
    support = next(n for n in (await operator.get(numbers))["items"] if n["number"] == SUPPORT_LINE)
    await operator.delete(f"{numbers}/{support['id']}", expect=204)
    phones = client.app[CHANNELS].channels["voice"]._phones  # type: ignore[attr-defined]
    await phones._numbers.seed(phones._settings.numbers)  # what a restart does
    assert (await operator.get(numbers))["items"] == []
    heard = len(caller.events)
    caller.command("dial", f"sip:+4930777888@127.0.0.1:{sip_port}")
    closed = await caller.wait_for("CALL_CLOSED", after=heard)
    assert "404" in closed.get("param", ""), closed


async def queued_task(client: TestClient, conversation_id: str) -> dict | None:
    async with client.app[DB].connect() as conn:
        row = (await conn.execute(sa.select(t.tasks.c.queue_id, t.tasks.c.priority).where(
            t.tasks.c.conversation_id == conversation_id, t.tasks.c.channel == "voice"))).first()
    return dict(row._mapping) if row else None


async def the_call(agent: Api) -> dict:
    async with asyncio.timeout(PATIENCE_SECONDS):
        while not (calls := (await agent.get("/api/v1/conversations?channel=voice"))["items"]):
            await asyncio.sleep(0.05)
    return calls[0]


async def test_the_caller_picks_a_queue_from_the_menu_with_a_key(
        client: TestClient, operator: Api, agent: Api, caller: Baresip, sip_port: int):
    tid = agent.tenant_id()
    sales = await operator.post(f"/api/v1/tenants/{tid}/queues", json={"name": "Sales line"}, expect=201)
    await operator.put(f"/api/v1/tenants/{tid}/calls/settings", json={
        "greeting": "Thank you for calling.", "menu_timeout_seconds": 30,
        "menu": [{"key": "1", "label": "support"}, {"key": "2", "label": "sales", "queue_id": sales["id"]}]})
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    conversation = await the_call(agent)
    await until_heard(caller, lambda audio: not is_hold_audio(audio))  # the menu is spoken over the music
    assert await queued_task(client, conversation["id"]) is None  # not in any queue before the choice
    caller.command("sndcode", "2")
    async with asyncio.timeout(PATIENCE_SECONDS):
        while (task := await queued_task(client, conversation["id"])) is None:
            await asyncio.sleep(0.05)
    assert task["queue_id"] == sales["id"]


async def test_a_menu_key_can_ask_for_an_agent_with_a_skill(
        client: TestClient, operator: Api, agent: Api, caller: Baresip, sip_port: int):
    tid = agent.tenant_id()
    url = f"/api/v1/tenants/{tid}/calls/settings"
    spanish = [{"key": "3", "label": "Spanish", "skill": "spanish", "skill_level": 2}]
    refused = await operator.put(url, json={"menu": spanish}, expect=422)
    assert refused["code"] == "unknown_skill"  # skills are defined first
    await operator.post(f"/api/v1/tenants/{tid}/skills", json={"name": "spanish"}, expect=201)
    await operator.put(url, json={"menu_timeout_seconds": 30, "menu": spanish})
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    conversation = await the_call(agent)
    await until_heard(caller, lambda audio: not is_hold_audio(audio))
    caller.command("sndcode", "3")
    async with asyncio.timeout(PATIENCE_SECONDS):
        while await queued_task(client, conversation["id"]) is None:
            await asyncio.sleep(0.05)
    async with client.app[DB].connect() as conn:
        skills = (await conn.execute(sa.select(t.tasks.c.required_skills).where(
            t.tasks.c.conversation_id == conversation["id"]))).scalar_one()
    assert skills == {"spanish": 2}


async def test_a_vip_callers_number_raises_the_calls_priority(
        client: TestClient, operator: Api, agent: Api, caller: Baresip, sip_port: int):
    vip = await operator.post("/api/v1/contacts", expect=201, json={
        "tenant_id": agent.tenant_id(), "name": "Big Customer", "vip_tier": 3,
        "identities": [{"kind": "phone", "value": CALLER_NUMBER}]})
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    conversation = await the_call(agent)
    assert conversation["contact"]["id"] == vip["id"]
    async with asyncio.timeout(PATIENCE_SECONDS):
        while (task := await queued_task(client, conversation["id"])) is None:
            await asyncio.sleep(0.05)
    assert task["priority"] == 3


async def ask_for_a_callback(client: TestClient, agent: Api, caller: Baresip, sip_port: int) -> str:
    """The caller waits in the queue, presses 1, is told they will be called back and is hung up
    on; the conversation's id."""
    caller.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
    await caller.wait_for("CALL_ESTABLISHED")
    conversation = await the_call(agent)
    async with asyncio.timeout(PATIENCE_SECONDS):
        while await queued_task(client, conversation["id"]) is None:
            await asyncio.sleep(0.05)
    caller.command("sndcode", "1")
    await caller.wait_for("CALL_CLOSED", seconds=30)
    return conversation["id"]


async def test_a_waiting_caller_presses_1_to_be_called_back_and_is_not_abandoned(
        client: TestClient, agent: Api, caller: Baresip, sip_port: int):
    conversation_id = await ask_for_a_callback(client, agent, caller, sip_port)
    assert await settles_as(client, conversation_id, "cancelled")
    async with client.app[DB].connect() as conn:
        [requested] = (await conn.execute(sa.select(t.events.c.data).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type == "callback.requested"))).scalars()
    assert requested["number"] == CALLER_NUMBER

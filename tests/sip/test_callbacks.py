"""Callbacks dialled through a trunk, end to end: a phone caller (baresip) presses 1 to be called
back, the callback waits in the caller's place, the agent who answers it in the inbox (an aiortc
peer) has the gateway ring the caller's phone through the trunk — here the phone itself stands
for the carrier — and the two talk. A busy line is tried again after the tenant's interval,
every attempt kept; a phone that rings out is given up after the trunk's ring time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.keys import DB
from tests.helpers import Api
from tests.media.support import PATIENCE_SECONDS, ClientPeer, is_tone, until_heard
from tests.realtime.support import Listener, Sockets, session_cookie
from tests.sip.baresip import Baresip
from tests.sip.conftest import SUPPORT_LINE
from tests.sip.test_phone_calls import CALLER_NUMBER, ask_for_a_callback

CALLER_HZ, AGENT_HZ = 440.0, 1000.0
RING_SECONDS = 6


@pytest.fixture
def answer() -> str:
    return "auto"


@pytest.fixture
async def caller(tmp_path: Path, answer: str) -> AsyncIterator[Baresip]:
    phone = Baresip(tmp_path / "phone", CALLER_HZ, user=CALLER_NUMBER, answer=answer)
    await phone.start()
    yield phone
    await phone.stop()


@pytest.fixture
def sip_settings(caller: Baresip) -> dict:
    """The trunk takes calls out at the caller's phone: the gateway's INVITE rings it directly."""
    return {"trunks": [{"name": "carrier", "addresses": ["127.0.0.1"],
                        "outbound": {"proxy": f"127.0.0.1:{caller.sip_port}", "ring_seconds": RING_SECONDS}}]}


@pytest.fixture
async def agent_peer() -> AsyncIterator[ClientPeer]:
    peer = ClientPeer(AGENT_HZ)
    yield peer
    await peer.close()


async def answer_the_offer(agent: Api, inbox: Listener, agent_peer: ClientPeer, conversation_id: str) -> tuple[dict, str]:
    """The agent accepts the callback's offer and answers it as a call: (the offer, the call id)."""
    offer = await inbox.wait_for("task.offered")
    assert (offer["channel"], offer["conversation_id"]) == ("callback", conversation_id)
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["callback"]["number"] == CALLER_NUMBER
    call_id = conversation["attributes"]["call"]["id"]
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    answered = await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_peer.offer()})
    assert answered["ok"], answered
    await agent_peer.accept(answered["sdp"])
    return offer, call_id


async def tasks_of(client: TestClient, conversation_id: str) -> list:
    async with client.app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.tasks).where(t.tasks.c.conversation_id == conversation_id)
                                   .order_by(t.tasks.c.created_at, t.tasks.c.id))).all()


async def settled(client: TestClient, task_id: str, state: str) -> bool:
    for _ in range(200):
        async with client.app[DB].connect() as conn:
            if (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.id == task_id))).scalar_one() == state:
                return True
        await asyncio.sleep(0.05)
    return False


async def the_callback(client: TestClient, conversation_id: str) -> tuple:
    """The conversation's callback and its attempts, as stored."""
    async with client.app[DB].connect() as conn:
        callback = (await conn.execute(sa.select(t.callbacks).where(t.callbacks.c.conversation_id == conversation_id))).one()
        attempts = (await conn.execute(sa.select(t.callback_attempts).where(
            t.callback_attempts.c.callback_id == callback.id).order_by(t.callback_attempts.c.attempt))).all()
    return callback, attempts


async def events_of(client: TestClient, conversation_id: str, prefix: str) -> list[tuple[str, dict]]:
    async with client.app[DB].connect() as conn:
        rows = (await conn.execute(sa.select(t.events.c.type, t.events.c.data).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type.startswith(prefix)).order_by(t.events.c.id))).all()
    return [(row.type, row.data) for row in rows]


async def test_the_callback_keeps_the_callers_place_and_rings_their_phone_when_an_agent_answers(
        client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, agent_peer: ClientPeer, sip_port: int):
    conversation_id = await ask_for_a_callback(client, agent, caller, sip_port)
    call_task, callback_task = await tasks_of(client, conversation_id)
    assert (call_task.channel, callback_task.channel) == ("voice", "callback")
    assert callback_task.enqueued_at == call_task.enqueued_at  # the caller's place in line
    assert await settled(client, call_task.id, "cancelled")  # not abandoned

    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    heard_before = len(caller.events)
    offer, call_id = await answer_the_offer(agent, inbox, agent_peer, conversation_id)
    established = await caller.wait_for("CALL_ESTABLISHED", after=heard_before)  # the phone picks up
    assert SUPPORT_LINE in established.get("peeruri", ""), established  # the tenant's number as caller ID
    await until_heard(agent_peer, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(caller, lambda audio: is_tone(audio, AGENT_HZ))

    # The customer hangs up: the agent goes on to wrap-up, and the callback is done.
    caller.command("hangup")
    assert await settled(client, offer["task_id"], "wrapup")
    callback, attempts = await the_callback(client, conversation_id)
    assert (callback.state, callback.attempts, callback.outcome) == ("done", 1, "answered")
    [attempt] = attempts
    assert (attempt.result, attempt.sip_status, attempt.agent_id) == ("answered", 200, agent.me["user"]["id"])
    assert attempt.ended_at is not None and attempt.talk_seconds is not None
    kinds = [kind for kind, _ in await events_of(client, conversation_id, "callback.")]
    assert kinds == ["callback.requested", "callback.dialling", "callback.attempted", "callback.completed"]
    calls = [data for kind, data in await events_of(client, conversation_id, "call.ended")]
    assert [data["call_id"] for data in calls][-1] == call_id


@pytest.mark.parametrize("answer", ["manual"])
async def test_a_busy_line_is_tried_again_after_the_interval_and_every_attempt_is_kept(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, caller: Baresip, agent_peer: ClientPeer,
        sip_port: int, answer: str):
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/calls/settings",
                       json={"callback_attempts": 2, "callback_retry_minutes": 5})
    conversation_id = await ask_for_a_callback(client, agent, caller, sip_port)
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]

    # First attempt: the phone rings and its owner rejects it (486 Busy Here).
    heard_before = len(caller.events)
    offer, _ = await answer_the_offer(agent, inbox, agent_peer, conversation_id)
    await caller.wait_for("CALL_INCOMING", after=heard_before)
    caller.command("hangup")
    assert await settled(client, offer["task_id"], "wrapup")  # the agent's attempt is over
    callback, attempts = await the_callback(client, conversation_id)
    assert (callback.state, callback.attempts) == ("waiting", 1)
    assert [(a.result, a.sip_status) for a in attempts] == [("busy", 486)]
    retry = (await tasks_of(client, conversation_id))[-1]
    assert retry.channel == "callback" and retry.state == "queued" and retry.id != offer["task_id"]
    assert retry.not_before - utcnow() > timedelta(minutes=4)  # waits for the interval, in the caller's place
    assert retry.enqueued_at == (await tasks_of(client, conversation_id))[0].enqueued_at

    # The interval passes (the clock moved on by hand): the second attempt is offered and answered.
    assert (await inbox.call("complete_task", {"task_id": offer["task_id"]}))["ok"]
    async with client.app[DB].begin() as conn:
        await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == retry.id).values(not_before=utcnow() - timedelta(seconds=1)))
    inbox.events.clear()
    heard_before = len(caller.events)
    second_peer = ClientPeer(AGENT_HZ)
    try:
        offer, _ = await answer_the_offer(agent, inbox, second_peer, conversation_id)
        assert offer["task_id"] == retry.id
        await caller.wait_for("CALL_INCOMING", after=heard_before)
        caller.command("accept")
        await caller.wait_for("CALL_ESTABLISHED", after=heard_before)
        await until_heard(second_peer, lambda audio: is_tone(audio, CALLER_HZ))
        assert (await inbox.call("call_hangup", {"call_id": offer_call_id(await agent.get(
            f"/api/v1/conversations/{conversation_id}"))}))["ok"]
        await caller.wait_for("CALL_CLOSED", after=heard_before)
    finally:
        await second_peer.close()
    callback, attempts = await the_callback(client, conversation_id)
    assert (callback.state, callback.attempts) == ("done", 2)
    assert [(a.attempt, a.result) for a in attempts] == [(1, "busy"), (2, "answered")]


def offer_call_id(conversation: dict) -> str:
    return conversation["attributes"]["call"]["id"]


@pytest.mark.parametrize("answer", ["manual"])
async def test_a_phone_nobody_answers_is_given_up_after_the_ring_time_and_the_last_attempt_fails_the_callback(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, caller: Baresip, agent_peer: ClientPeer,
        sip_port: int, answer: str):
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/calls/settings", json={"callback_attempts": 1})
    conversation_id = await ask_for_a_callback(client, agent, caller, sip_port)
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    heard_before = len(caller.events)
    offer, _ = await answer_the_offer(agent, inbox, agent_peer, conversation_id)
    await caller.wait_for("CALL_INCOMING", after=heard_before)
    await caller.wait_for("CALL_CLOSED", after=heard_before, seconds=RING_SECONDS + PATIENCE_SECONDS)  # CANCELled
    assert await settled(client, offer["task_id"], "wrapup")
    callback, attempts = await the_callback(client, conversation_id)
    assert callback.state == "failed" and "1 attempt" in callback.outcome
    assert [a.result for a in attempts] == ["no_answer"]
    assert [kind for kind, _ in await events_of(client, conversation_id, "callback.")][-1] == "callback.failed"
    assert [task.channel for task in await tasks_of(client, conversation_id)] == ["voice", "callback"]  # no more attempts

"""Phone calls from a SIP trunk into the queue, with a real phone (baresip) as the customer and an
aiortc peer as the agent answering in the inbox: hold audio while waiting, each hears the other,
hang-ups from either side, and what is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import Api
from tests.media.support import ClientPeer, is_hold_audio, is_tone, until_heard
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

"""Click-to-call end to end: an agent calls one of a contact's numbers from the inbox (an aiortc
peer for their side), the gateway dials it through the trunk — a baresip phone stands for the
customer — and the two talk. Routing counts the call as the agent's work, so no other call is
offered meanwhile; numbers that are not the contact's, and agents already on a call, are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.keys import ROUTING
from tests.helpers import Api
from tests.media.support import ClientPeer, is_tone, until_heard
from tests.realtime.support import Sockets, session_cookie
from tests.routing.test_service import incoming
from tests.sip.baresip import Baresip
from tests.sip.test_callbacks import events_of, settled
from tests.sip.test_phone_calls import CALLER_NUMBER

CUSTOMER_HZ, AGENT_HZ = 440.0, 1000.0


@pytest.fixture
async def customer(tmp_path: Path) -> AsyncIterator[Baresip]:
    phone = Baresip(tmp_path / "customer", CUSTOMER_HZ, user=CALLER_NUMBER)
    await phone.start()
    yield phone
    await phone.stop()


@pytest.fixture
def sip_settings(customer: Baresip) -> dict:
    return {"trunks": [{"name": "carrier", "addresses": ["127.0.0.1"],
                        "outbound": {"proxy": f"127.0.0.1:{customer.sip_port}", "ring_seconds": 6}}]}


@pytest.fixture
async def agent_peer() -> AsyncIterator[ClientPeer]:
    peer = ClientPeer(AGENT_HZ)
    yield peer
    await peer.close()


async def test_an_agent_calls_a_contacts_number_and_talks_to_them(
        client: TestClient, agent: Api, sockets: Sockets, customer: Baresip, agent_peer: ClientPeer):
    tid = agent.tenant_id()
    contact = await agent.post("/api/v1/contacts", expect=201, json={
        "tenant_id": tid, "name": "Ada Customer", "identities": [{"kind": "phone", "value": "+49 30 555123"}]})
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    sdp = await agent_peer.offer()

    stranger = await inbox.call("call_dial", {"tenant_id": tid, "contact_id": contact["id"], "number": "+44 20 7946 0000", "sdp": sdp})
    assert stranger["code"] == "not_found"  # only the contact's own numbers
    placed = await inbox.call("call_dial", {"tenant_id": tid, "contact_id": contact["id"], "number": "+49 30 555123", "sdp": sdp})
    assert placed["ok"], placed
    await agent_peer.accept(placed["sdp"])
    await customer.wait_for("CALL_ESTABLISHED")  # the customer's phone rang and they picked up
    await until_heard(agent_peer, lambda audio: is_tone(audio, CUSTOMER_HZ))
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))

    conversation = await agent.get(f"/api/v1/conversations/{placed['conversation_id']}")
    assert (conversation["subject"], conversation["contact"]["id"]) == (f"Call to {CALLER_NUMBER}", contact["id"])
    assert conversation["assignee_id"] == agent.me["user"]["id"]
    [task] = (await agent.get(f"/api/v1/conversations/{placed['conversation_id']}/tasks"))["items"]
    assert task["state"] == "assigned"
    # Routing counts it: the agent has no room for another call, nor for a second one placed.
    assert (await client.app[ROUTING].engine.agent_states(tid))[agent.me["user"]["id"]]["load"].get("voice") == 1
    again = await inbox.call("call_dial", {"tenant_id": tid, "contact_id": contact["id"], "number": "+49 30 555123", "sdp": sdp})
    assert again["code"] == "on_a_call"

    assert (await inbox.call("call_hangup", {"call_id": placed["call_id"]}))["ok"]
    await customer.wait_for("CALL_CLOSED")
    assert await settled(client, task["id"], "wrapup")
    started = [data for _, data in await events_of(client, placed["conversation_id"], "call.started")]
    assert started[0]["direction"] == "outbound" and started[0]["number"] == CALLER_NUMBER
    kinds = [kind for kind, _ in await events_of(client, placed["conversation_id"], "call.")]
    assert kinds == ["call.started", "call.answered", "call.ended"]


async def test_an_agent_without_room_for_a_call_cant_place_one_and_nothing_is_left_open(
        client: TestClient, agent: Api, sockets: Sockets, customer: Baresip, agent_peer: ClientPeer):
    tid = agent.tenant_id()
    contact = await agent.post("/api/v1/contacts", expect=201, json={
        "tenant_id": tid, "name": "Ada Customer", "identities": [{"kind": "phone", "value": "+49 30 555123"}]})
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    _, held = await incoming(client.app, tid, "visitor-calling", channel="voice")  # voice work routing counts, held elsewhere
    assert (await inbox.wait_for("task.offered"))["task_id"] == held
    assert (await inbox.call("accept_task", {"task_id": held}))["ok"]
    refused = await inbox.call("call_dial", {"tenant_id": tid, "contact_id": contact["id"], "number": "+49 30 555123",
                                             "sdp": await agent_peer.offer()})
    assert refused["code"] == "busy"
    placed = [c for c in (await agent.get("/api/v1/conversations?channel=voice"))["items"] if c["subject"].startswith("Call to")]
    assert [(c["status"], c["assignee_id"]) for c in placed] == [("closed", None)]  # not left open on the agent
    assert len(customer.events) == 0  # nobody was dialled

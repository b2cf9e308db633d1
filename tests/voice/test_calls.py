"""Web calls end to end on a running gateway: a visitor's aiortc peer calls over the /visitor
socket, waits in the queue hearing hold audio, the agent given the task answers over /agent with
an aiortc peer of their own, each hears the other's tone, and the call's recording — customer
left, agent right — is kept on the conversation. A call nobody answered counts as abandoned."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import numpy as np
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from channels.voice import channel as voice_channel
from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import CHANNELS, CONFIG, DB, ROUTING
from gateway.media import MediaEvent
from tests.conftest import make_config
from tests.helpers import Api
from tests.media.test_prompts import share_above
from tests.media.support import ClientPeer, energy_near, is_silent, is_tone, until_heard
from tests.realtime.support import Listener, Sockets, add_member, session_cookie

WIDGET = "demo-widget-key"
CUSTOMER_HZ, AGENT_HZ = 440.0, 1000.0


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                       channels={"chat": {"enabled": True}, "voice": {"enabled": True}},
                       media={"workers": 1, "connect_timeout_seconds": 3})


@pytest.fixture
async def peers() -> AsyncIterator[list[ClientPeer]]:
    made: list[ClientPeer] = []
    yield made
    for peer in made:
        await peer.close()


async def calling(sockets: Sockets, peers: list[ClientPeer], visitor_id: str) -> tuple[Listener, ClientPeer, dict]:
    visitor = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": visitor_id})
    assert await visitor.call("call_config") == {"ok": True, "ice_servers": []}
    peer = ClientPeer(CUSTOMER_HZ)
    peers.append(peer)
    started = await visitor.call("call_start", {"sdp": await peer.offer()})
    assert started["ok"], started
    await peer.accept(started["sdp"])
    return visitor, peer, started


async def task_state(client: TestClient, conversation_id: str) -> str:
    """The state of the call's task (a callback asked for during it is a task of its own)."""
    async with client.app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.tasks.c.state).where(
            t.tasks.c.conversation_id == conversation_id, t.tasks.c.channel == "voice"))).scalar_one()


async def settles_as(client: TestClient, conversation_id: str, state: str) -> bool:
    """The task moves on just after the call's end is told: give it a moment."""
    for _ in range(100):
        if await task_state(client, conversation_id) == state:
            return True
        await asyncio.sleep(0.05)
    return False


async def event_types(client: TestClient, conversation_id: str) -> list[str]:
    async with client.app[DB].connect() as conn:
        return list((await conn.execute(sa.select(t.events.c.type).where(t.events.c.conversation_id == conversation_id)
                                        .order_by(t.events.c.id))).scalars())


async def test_a_web_call_waits_with_hold_audio_is_answered_by_the_agent_and_is_recorded(
        client: TestClient, agent: Api, sockets: Sockets, peers: list[ClientPeer]):
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "away"}))["ok"]  # not yet: the call waits
    visitor, customer, started = await calling(sockets, peers, "visitor-call-0001")
    call_id, conversation_id = started["call_id"], started["conversation_id"]
    # Waiting: hold audio, not silence, and the visitor hears where they are in line.
    await until_heard(customer, lambda audio: not is_silent(audio) and not is_tone(audio, AGENT_HZ))
    assert (await visitor.wait_for("task.position"))["conversation_id"] == conversation_id

    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == conversation_id)
    assert offer["channel"] == "voice"
    agent_peer = ClientPeer(AGENT_HZ)
    peers.append(agent_peer)
    early = await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_peer.offer()})
    assert early["code"] == "not_accepted"
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    answered = await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_peer.offer()})
    assert answered["ok"] and answered["conversation_id"] == conversation_id
    await agent_peer.accept(answered["sdp"])
    assert (await inbox.call("call_answer", {"call_id": call_id, "sdp": await agent_peer.offer()}))["code"] == "already_answered"

    # Bridged: each hears the other's tone.
    await until_heard(agent_peer, lambda audio: is_tone(audio, CUSTOMER_HZ))
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))
    await agent_peer.heard.listen(1.0)  # a second of conversation, for the recording
    # Hold: the customer hears hold audio again, the agent silence; then back.
    assert (await inbox.call("call_hold", {"call_id": call_id, "on": True}))["ok"]
    await visitor.wait_for("call.held")
    await until_heard(customer, lambda audio: not is_silent(audio) and not is_tone(audio, AGENT_HZ))
    await until_heard(agent_peer, is_silent)
    assert (await inbox.call("call_hold", {"call_id": call_id, "on": False}))["ok"]
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))

    # The agent hangs up: the visitor is told, the agent goes on to wrap-up, the recording is kept.
    assert (await inbox.call("call_hangup", {"call_id": call_id}))["ok"]
    ended = await visitor.wait_for("call.ended")
    assert ended["call_id"] == call_id and "reason" not in ended
    assert await task_state(client, conversation_id) == "wrapup"
    recorded = await event_types(client, conversation_id)
    assert [e for e in recorded if e.startswith("call.")] == ["call.started", "call.answered", "call.held", "call.resumed", "call.ended"]
    assert "task.abandoned" not in recorded
    messages = (await agent.get(f"/api/v1/conversations/{conversation_id}/messages"))["items"]
    [recording] = [m for m in messages if m["meta"].get("call")]
    assert recording["body_text"].startswith("Call recording (")
    [file] = recording["meta"]["attachments"]
    assert file["content_type"] == "audio/ogg"
    download = await agent.request("GET", f"/api/v1/attachments/{file['id']}")
    assert download.status == 200
    audio = await download.read()
    left, right = _stereo(audio)
    assert _has_tone(left, CUSTOMER_HZ)
    assert _has_tone(right, AGENT_HZ)
    assert not _has_tone(left, AGENT_HZ) and not _has_tone(right, CUSTOMER_HZ)  # each party on their own side


async def test_a_waiting_caller_hears_their_place_and_one_who_hangs_up_before_anyone_answers_is_abandoned(
        client: TestClient, sockets: Sockets, peers: list[ClientPeer]):
    visitor, customer, started = await calling(sockets, peers, "visitor-call-0002")
    await until_heard(customer, lambda audio: not is_silent(audio))
    # Waiting, the caller is told their place in line (a voice over the hold melody).
    await until_heard(customer, lambda audio: share_above(audio, 800) > 0.2)
    peers.append(second := ClientPeer(CUSTOMER_HZ))
    assert (await visitor.call("call_start", {"sdp": await second.offer()}))["code"] == "call_in_progress"
    assert (await visitor.call("call_hangup", {"call_id": started["call_id"]}))["ok"]
    assert await task_state(client, started["conversation_id"]) == "abandoned"
    assert (await visitor.call("call_hangup", {"call_id": started["call_id"]}))["code"] == "not_found"
    # Another visitor can't touch someone else's call.
    other, _, _ = await calling(sockets, peers, "visitor-call-0003")
    assert (await other.call("call_mute", {"call_id": started["call_id"], "muted": True}))["code"] == "not_found"


async def test_bad_offers_get_clear_errors_and_leave_nothing_behind(client: TestClient, sockets: Sockets, agent: Api):
    visitor = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-call-0004"})
    refused = await visitor.call("call_start", {"sdp": "v=0 this is not a session description"})
    assert refused["ok"] is False and refused["code"] == "bad_offer" and refused["message"]
    assert (await visitor.call("call_start", {"sdp": "x" * 30_000}))["code"] == "invalid"
    assert (await visitor.call("call_start", {}))["code"] == "invalid"
    async with client.app[DB].connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(t.conversations)
                                   .where(t.conversations.c.channel == "voice"))).scalar_one() == 0
    # An agent can't answer a call that isn't theirs.
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("call_answer", {"call_id": "no-such-call", "sdp": "v=0 and so on"}))["code"] == "not_found"


def _stereo(ogg: bytes) -> tuple[np.ndarray, np.ndarray]:
    with av.open(io.BytesIO(ogg)) as container:
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=48_000)
        chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    samples = np.concatenate(chunks).reshape(-1, 2)
    return samples[:, 0], samples[:, 1]


def _has_tone(channel: np.ndarray, frequency: float) -> bool:
    """Whether any quarter second of the channel is that tone."""
    step = 12_000
    return any(is_tone(channel[i:i + step], frequency) for i in range(0, len(channel) - step, step))


async def answered_call(sockets: Sockets, agent: Api, peers: list[ClientPeer], visitor_id: str) -> tuple[Listener, ClientPeer, ClientPeer, dict]:
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    visitor, customer, started = await calling(sockets, peers, visitor_id)
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == started["conversation_id"])
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    agent_peer = ClientPeer(AGENT_HZ)
    peers.append(agent_peer)
    answered = await inbox.call("call_answer", {"call_id": started["call_id"], "sdp": await agent_peer.offer()})
    await agent_peer.accept(answered["sdp"])
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))
    return visitor, customer, agent_peer, started


async def ended_with(client: TestClient, conversation_id: str) -> dict:
    async with client.app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.events.c.data).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type == "call.ended"))).scalar_one()


async def test_an_agent_whose_browser_vanishes_mid_call_ends_it_cleanly_with_its_recording_and_line_quality(
        client: TestClient, agent: Api, sockets: Sockets, peers: list[ClientPeer], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(voice_channel, "QUALITY_SAMPLE_SECONDS", 0.2)
    visitor, customer, agent_peer, started = await answered_call(sockets, agent, peers, "visitor-call-0005")
    await agent_peer.heard.listen(0.5)
    await agent_peer.close()  # the agent's browser tab is gone
    assert (await visitor.wait_for("call.ended", timeout=15))["call_id"] == started["call_id"]
    ended = await ended_with(client, started["conversation_id"])
    assert ended["reason"] == "the agent's connection closed" and ended["talk_seconds"] >= 0
    assert ended["quality"]["customer"]["packets_received"] > 0 and "jitter_seconds" in ended["quality"]["agent"]
    assert await settles_as(client, started["conversation_id"], "wrapup")
    messages = (await agent.get(f"/api/v1/conversations/{started['conversation_id']}/messages"))["items"]
    assert [m["meta"]["attachments"][0]["content_type"] for m in messages if m["meta"].get("call")] == ["audio/ogg"]


async def test_a_caller_whose_media_never_connects_is_let_go_and_counted_as_abandoned(
        client: TestClient, sockets: Sockets, peers: list[ClientPeer]):
    visitor = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-call-0006"})
    peer = ClientPeer(CUSTOMER_HZ)
    peers.append(peer)
    # Candidates nobody can reach: ICE never completes.
    sdp = re.sub(r"a=candidate:(\S+) (\d) (\S+) (\d+) \S+ (\d+)", r"a=candidate:\1 \2 \3 \4 198.51.100.7 \5", await peer.offer())
    started = await visitor.call("call_start", {"sdp": sdp})
    assert started["ok"]
    ended = await visitor.wait_for("call.ended", timeout=30)
    assert ended["call_id"] == started["call_id"]
    assert (await ended_with(client, started["conversation_id"]))["reason"] == "the customer's connection failed"
    assert await settles_as(client, started["conversation_id"], "abandoned")


async def test_a_supervisor_listens_unseen_whispers_to_the_agent_only_and_barges_in(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, peers: list[ClientPeer]):
    visitor, customer, agent_peer, started = await answered_call(sockets, agent, peers, "visitor-call-0007")
    call_id = started["call_id"]
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    # A plain agent may not listen in on a colleague's call.
    colleague = await add_member(client, operator, agent.tenant_id(), "plain-agent@demo.example", "agent")
    nosy = await sockets.connect("/agent", cookie=session_cookie(colleague))
    peers.append(stranger := ClientPeer(700.0))
    assert (await nosy.call("call_monitor", {"call_id": call_id, "sdp": await stranger.offer()}))["code"] == "not_found"

    boss = await sockets.connect("/agent", cookie=session_cookie(operator))
    supervisor = ClientPeer(700.0)
    peers.append(supervisor)
    joined = await boss.call("call_monitor", {"call_id": call_id, "sdp": await supervisor.offer(), "mode": "listen"})
    assert joined["ok"], joined
    await supervisor.accept(joined["sdp"])
    await until_heard(supervisor, lambda audio: energy_near(audio, CUSTOMER_HZ) > 0.2 and energy_near(audio, AGENT_HZ) > 0.2)
    assert energy_near(await agent_peer.heard.listen(0.5), 700.0) < 0.01  # nobody hears a listener

    assert (await boss.call("call_monitor_mode", {"call_id": call_id, "mode": "whisper"}))["ok"]
    await until_heard(agent_peer, lambda audio: energy_near(audio, 700.0) > 0.2)
    assert energy_near(await customer.heard.listen(0.5), 700.0) < 0.01  # the customer never hears a whisper

    assert (await boss.call("call_monitor_mode", {"call_id": call_id, "mode": "barge"}))["ok"]
    await until_heard(customer, lambda audio: energy_near(audio, 700.0) > 0.2)
    assert (await boss.call("call_monitor_leave", {"call_id": call_id}))["ok"]
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ) and energy_near(audio, 700.0) < 0.01)

    # Supervision is on record for supervisors, and was never told to the agent or the caller.
    recorded = await event_types(client, started["conversation_id"])
    assert [e for e in recorded if e.startswith("supervision.")] == [
        "supervision.started", "supervision.mode_changed", "supervision.mode_changed", "supervision.ended"]
    assert not [name for name, _ in inbox.events + visitor.events if name.startswith("supervision.")]


async def test_a_blind_transfer_puts_the_caller_on_hold_audio_until_the_colleague_answers(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, peers: list[ClientPeer]):
    colleague = await add_member(client, operator, agent.tenant_id(), "second-line@demo.example", "agent")
    visitor, customer, agent_peer, started = await answered_call(sockets, agent, peers, "visitor-call-0008")
    call_id, conversation_id = started["call_id"], started["conversation_id"]
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    second = await sockets.connect("/agent", cookie=session_cookie(colleague))
    assert (await second.call("presence", {"status": "available"}))["ok"]
    colleague_id = colleague.me["user"]["id"]

    moved = await inbox.call("call_transfer", {"call_id": call_id, "agent_id": colleague_id, "note": "wants a refund"})
    assert moved["ok"], moved
    await until_heard(customer, lambda audio: not is_silent(audio) and not is_tone(audio, AGENT_HZ))  # hold audio
    assert (await inbox.call("call_hold", {"call_id": call_id, "on": True}))["code"] == "not_found"  # no longer theirs

    offer = await second.wait_for("task.offered", lambda d: d["conversation_id"] == conversation_id)
    assert (await second.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    next_peer = ClientPeer(700.0)
    peers.append(next_peer)
    answered = await second.call("call_answer", {"call_id": call_id, "sdp": await next_peer.offer()})
    assert answered["ok"], answered
    await next_peer.accept(answered["sdp"])
    await until_heard(customer, lambda audio: is_tone(audio, 700.0))
    await until_heard(next_peer, lambda audio: is_tone(audio, CUSTOMER_HZ))
    transferred = [e for e in await event_types(client, conversation_id) if e.startswith("call.")]
    assert transferred == ["call.started", "call.answered", "call.transferred", "call.answered"]


async def test_a_warm_transfer_lets_the_agent_talk_to_a_colleague_before_handing_the_caller_over(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, peers: list[ClientPeer]):
    colleague = await add_member(client, operator, agent.tenant_id(), "billing-expert@demo.example", "agent")
    visitor, customer, agent_peer, started = await answered_call(sockets, agent, peers, "visitor-call-0009")
    call_id, conversation_id = started["call_id"], started["conversation_id"]
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    expert = await sockets.connect("/agent", cookie=session_cookie(colleague))
    assert (await expert.call("presence", {"status": "available"}))["ok"]
    expert_id = colleague.me["user"]["id"]

    assert (await inbox.call("call_consult", {"call_id": call_id, "agent_id": expert_id}))["ok"]
    invited = await expert.wait_for("call.consult_offered")
    assert invited["call_id"] == call_id and invited["from_agent_name"] == "Demo Agent"
    await until_heard(customer, lambda audio: not is_silent(audio) and not is_tone(audio, AGENT_HZ))  # on hold
    expert_peer = ClientPeer(700.0)
    peers.append(expert_peer)
    joined = await expert.call("call_consult_answer", {"call_id": call_id, "sdp": await expert_peer.offer()})
    assert joined["ok"], joined
    await expert_peer.accept(joined["sdp"])
    # The two agents talk; the caller hears neither.
    await until_heard(expert_peer, lambda audio: is_tone(audio, AGENT_HZ))
    await until_heard(agent_peer, lambda audio: is_tone(audio, 700.0))
    heard = await customer.heard.listen(0.5)
    # The hold melody comes near 700 Hz, and Opus leaves a trace of a few % anywhere; either agent
    # in the caller's ear, even for a moment, would take far more than that.
    assert energy_near(heard, 700.0) < 0.15 and energy_near(heard, AGENT_HZ) < 0.1

    assert (await inbox.call("call_consult_complete", {"call_id": call_id}))["ok"]
    await until_heard(customer, lambda audio: is_tone(audio, 700.0))
    await until_heard(expert_peer, lambda audio: is_tone(audio, CUSTOMER_HZ))
    assert await settles_as(client, conversation_id, "assigned")
    async with client.app[DB].connect() as conn:
        holder = (await conn.execute(sa.select(t.tasks.c.assigned_agent_id).where(t.tasks.c.conversation_id == conversation_id))).scalar_one()
    assert holder == expert_id
    # The colleague now holds the call: they hang up, and go on to wrap-up.
    assert (await expert.call("call_hangup", {"call_id": call_id}))["ok"]
    assert await settles_as(client, conversation_id, "wrapup")
    calls = [e for e in await event_types(client, conversation_id) if e.startswith("call.")]
    assert calls == ["call.started", "call.answered", "call.consult_started", "call.consult_answered", "call.transferred", "call.ended"]


async def test_a_waiting_caller_can_ask_to_be_called_back_instead_which_is_not_abandoning(
        client: TestClient, sockets: Sockets, peers: list[ClientPeer]):
    visitor, customer, started = await calling(sockets, peers, "visitor-call-0010")
    call_id, conversation_id = started["call_id"], started["conversation_id"]
    bad = await visitor.call("call_callback", {"call_id": call_id, "number": "12345"})
    assert bad["code"] == "invalid_number" and "country code" in bad["message"]
    past = await visitor.call("call_callback", {"call_id": call_id, "number": "+44 20 7946 0000",
                                                "window_from": "2020-01-01T10:00:00+00:00", "window_to": "2020-01-01T11:00:00+00:00"})
    assert past["code"] == "invalid" and "over" in past["message"]
    naive = await visitor.call("call_callback", {"call_id": call_id, "number": "+44 20 7946 0000", "window_from": "2099-01-01T10:00"})
    assert naive["code"] == "invalid" and "offset" in naive["message"]
    start = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    asked = await visitor.call("call_callback", {"call_id": call_id, "number": "+44 20 7946 0000", "topic": "my refund",
                                                 "window_from": start.isoformat(), "window_to": (start + timedelta(hours=2)).isoformat()})
    assert asked == {"ok": True}
    assert (await visitor.wait_for("call.ended"))["call_id"] == call_id
    async with client.app[DB].connect() as conn:
        request = (await conn.execute(sa.select(t.events.c.data).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type == "callback.requested"))).scalar_one()
    assert request["number"] == "+442079460000" and request["topic"] == "my refund"
    assert datetime.fromisoformat(request["window_from"]) == start
    assert await settles_as(client, conversation_id, "cancelled")
    # The callback waits for its window in the caller's place: queued, with the call's enqueue time.
    async with client.app[DB].connect() as conn:
        call_task, callback_task = (await conn.execute(sa.select(t.tasks).where(
            t.tasks.c.conversation_id == conversation_id).order_by(t.tasks.c.channel.desc()))).all()
    assert (call_task.channel, callback_task.channel) == ("voice", "callback")
    assert callback_task.state == "queued" and callback_task.enqueued_at == call_task.enqueued_at
    assert callback_task.not_before == start
    assert await client.app[ROUTING].engine.task_info(callback_task.id) is None  # not offered before its window


async def test_callbacks_keep_to_the_tenants_countries_and_to_a_limit_per_number(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, peers: list[ClientPeer],
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(voice_channel.CALLBACK_LIMITS, "number", (1, 3600))
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/calls/settings", json={"callback_countries": ["gb"]})
    visitor, _, started = await calling(sockets, peers, "visitor-call-0012")
    abroad = await visitor.call("call_callback", {"call_id": started["call_id"], "number": "+49 30 123456"})
    assert abroad["code"] == "country_not_allowed"
    assert (await visitor.call("call_callback", {"call_id": started["call_id"], "number": "+44 20 7946 0000"}))["ok"]

    again, _, second = await calling(sockets, peers, "visitor-call-0013")
    refused = await again.call("call_callback", {"call_id": second["call_id"], "number": "+44 20 7946 0000"})
    assert refused["code"] == "rate_limited" and refused["retry_after"] > 0
    assert await task_state(client, second["conversation_id"]) == "queued"  # the caller waits on


async def test_a_tenant_that_switched_recording_off_gets_no_recording(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, peers: list[ClientPeer]):
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/calls/settings", json={"record": False})
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    visitor, customer, started = await calling(sockets, peers, "visitor-call-0011")
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == started["conversation_id"])
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    agent_peer = ClientPeer(AGENT_HZ)
    peers.append(agent_peer)
    answered = await inbox.call("call_answer", {"call_id": started["call_id"], "sdp": await agent_peer.offer()})
    assert answered["ok"] and answered["recording"] is False
    await agent_peer.accept(answered["sdp"])
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))
    assert (await inbox.call("call_recording", {"call_id": started["call_id"], "paused": True}))["code"] == "not_recording"
    assert (await inbox.call("call_hangup", {"call_id": started["call_id"]}))["ok"]
    messages = (await agent.get(f"/api/v1/conversations/{started['conversation_id']}/messages"))["items"]
    assert not [m for m in messages if m["meta"].get("call")]
    assert not list((client.app[CONFIG].data_dir / "recordings").glob("*.ogg"))


async def test_after_consulting_a_colleague_the_agent_goes_back_to_the_caller(
        client: TestClient, agent: Api, operator: Api, sockets: Sockets, peers: list[ClientPeer]):
    colleague = await add_member(client, operator, agent.tenant_id(), "second-opinion@demo.example", "agent")
    visitor, customer, agent_peer, started = await answered_call(sockets, agent, peers, "visitor-call-0012")
    call_id = started["call_id"]
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    expert = await sockets.connect("/agent", cookie=session_cookie(colleague))
    assert (await inbox.call("call_consult", {"call_id": call_id, "agent_id": colleague.me["user"]["id"]}))["ok"]
    expert_peer = ClientPeer(700.0)
    peers.append(expert_peer)
    joined = await expert.call("call_consult_answer", {"call_id": call_id, "sdp": await expert_peer.offer()})
    await expert_peer.accept(joined["sdp"])
    await until_heard(agent_peer, lambda audio: is_tone(audio, 700.0))
    assert (await inbox.call("call_consult_cancel", {"call_id": call_id}))["ok"]
    await until_heard(customer, lambda audio: not is_silent(audio) and not is_tone(audio, AGENT_HZ))  # still on hold
    assert (await inbox.call("call_hold", {"call_id": call_id, "on": False}))["ok"]
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))
    await until_heard(agent_peer, lambda audio: is_tone(audio, CUSTOMER_HZ))


async def test_a_caller_gone_while_the_call_is_set_up_is_not_left_waiting_for_an_agent(
        client: TestClient, sockets: Sockets, peers: list[ClientPeer], monkeypatch: pytest.MonkeyPatch):
    channel = client.app[CHANNELS].channels["voice"]
    identify = channel.ctx.identify_contact

    async def caller_hangs_up_meanwhile(*args, **kwargs):
        [call_id] = channel._starting  # the media is open, the conversation not yet stored
        await channel.on_media_event(MediaEvent(call_id, f"{call_id}.customer", "closed"))
        return await identify(*args, **kwargs)

    monkeypatch.setattr(channel.ctx, "identify_contact", caller_hangs_up_meanwhile)
    visitor = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-call-0013"})
    peer = ClientPeer(CUSTOMER_HZ)
    peers.append(peer)
    started = await visitor.call("call_start", {"sdp": await peer.offer()})
    assert started["ok"]
    assert (await visitor.wait_for("call.ended"))["call_id"] == started["call_id"]
    assert await settles_as(client, started["conversation_id"], "abandoned")
    assert started["call_id"] not in channel._calls


async def test_a_callback_whose_window_closes_before_anyone_takes_it_expires(
        client: TestClient, agent: Api, sockets: Sockets, peers: list[ClientPeer], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(voice_channel, "CALLBACK_SWEEP_SECONDS", 0.2)
    visitor, _, started = await calling(sockets, peers, "visitor-call-0014")
    conversation_id = started["conversation_id"]
    closes = datetime.now(timezone.utc) + timedelta(seconds=2)
    asked = await visitor.call("call_callback", {"call_id": started["call_id"], "number": "+44 20 7946 0000",
                                                 "window_to": closes.isoformat()})
    assert asked == {"ok": True}
    async with asyncio.timeout(15):  # nobody is available to take it before it closes
        while True:
            async with client.app[DB].connect() as conn:
                callback = (await conn.execute(sa.select(t.callbacks).where(t.callbacks.c.conversation_id == conversation_id))).one()
                task = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == callback.task_id))).one()
            if callback.state == "expired" and task.state == "cancelled":
                break
            await asyncio.sleep(0.1)
    assert datetime.now(timezone.utc) >= closes
    assert "callback.expired" in await event_types(client, conversation_id)
    shown = (await agent.get(f"/api/v1/conversations/{conversation_id}"))["attributes"]["callback"]
    assert (shown["state"], shown["number"]) == ("expired", "+442079460000")  # what the inbox shows


async def test_an_attempt_left_ringing_by_a_stopped_process_counts_as_failed_and_is_tried_again(
        client: TestClient, agent: Api, sockets: Sockets, peers: list[ClientPeer], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(voice_channel, "CALLBACK_SWEEP_SECONDS", 0.2)
    visitor, _, started = await calling(sockets, peers, "visitor-call-0015")
    conversation_id = started["conversation_id"]
    assert (await visitor.call("call_callback", {"call_id": started["call_id"], "number": "+44 20 7946 0000"}))["ok"]
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    offer = await inbox.wait_for("task.offered", lambda data: data["channel"] == "callback")
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    # A process took it up for dialling, then died before settling it (no trunk here: nothing rings).
    voice = client.app[CHANNELS].channels["voice"]
    call_id = (await agent.get(f"/api/v1/conversations/{conversation_id}"))["attributes"]["call"]["id"]
    assert await voice.callbacks.claim(call_id, agent.me["user"]["id"]) is not None
    async with client.app[DB].begin() as conn:
        await conn.execute(sa.update(t.callbacks).values(updated_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
    # The sweep settles the attempt (the callback waits again), then ends the agent's live work: both, in time.
    async with asyncio.timeout(10):
        while True:
            async with client.app[DB].connect() as conn:
                callback = (await conn.execute(sa.select(t.callbacks))).one()
                first = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.id == offer["task_id"]))).scalar_one()
            if callback.state == "waiting" and first != "assigned":
                break
            await asyncio.sleep(0.1)
    async with client.app[DB].connect() as conn:
        [attempt] = (await conn.execute(sa.select(t.callback_attempts))).all()
    assert (attempt.result, callback.attempts, callback.task_id != offer["task_id"]) == ("failed", 1, True)
    assert first == "wrapup"  # the agent who had it goes on to wrap-up

"""Two gateway processes behind one load balancer: the caller's socket lands on one, the agent's
on the other. The call's media lives where the caller's offer was taken; the agent's answer,
hold and hang-up are run there all the same."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiohttp import DummyCookieJar

from gateway.app import create_app
from tests.conftest import make_config
from tests.helpers import Api
from tests.media.support import ClientPeer, is_silent, is_tone, until_heard
from tests.realtime.support import Sockets, session_cookie


@pytest.mark.external_redis
async def test_an_agent_on_another_gateway_process_answers_holds_and_hangs_up_a_call(
        tmp_path: Path, external_redis_url: str, aiohttp_client):
    shared = make_config(tmp_path / "shared", redis={"url": external_redis_url},
                         realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                         channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    first = await aiohttp_client(create_app(shared), cookie_jar=DummyCookieJar())
    second = await aiohttp_client(create_app(shared), cookie_jar=DummyCookieJar())
    callers, agents = Sockets(str(first.make_url(""))), Sockets(str(second.make_url("")))
    peers: list[ClientPeer] = []
    try:
        agent = await Api.login(second, shared.demo.agent_email, shared.demo.agent_password)
        inbox = await agents.connect("/agent", cookie=session_cookie(agent))
        assert (await inbox.call("presence", {"status": "available"}))["ok"]
        visitor = await callers.connect("/visitor", auth={"widget_key": "demo-widget-key", "visitor_id": "visitor-two-procs"})
        customer = ClientPeer(440.0)
        peers.append(customer)
        started = await visitor.call("call_start", {"sdp": await customer.offer()})
        await customer.accept(started["sdp"])
        offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == started["conversation_id"])
        assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
        agent_peer = ClientPeer(1000.0)
        peers.append(agent_peer)
        answered = await inbox.call("call_answer", {"call_id": started["call_id"], "sdp": await agent_peer.offer()})
        assert answered["ok"], answered
        await agent_peer.accept(answered["sdp"])
        await until_heard(agent_peer, lambda audio: is_tone(audio, 440.0))
        await until_heard(customer, lambda audio: is_tone(audio, 1000.0))
        assert (await inbox.call("call_hold", {"call_id": started["call_id"], "on": True}))["ok"]
        await until_heard(agent_peer, is_silent)
        assert (await inbox.call("call_hangup", {"call_id": started["call_id"]}))["ok"]
        assert (await visitor.wait_for("call.ended"))["call_id"] == started["call_id"]
        # What the other process does not hold is refused as before, not forwarded anywhere.
        assert (await inbox.call("call_hold", {"call_id": started["call_id"], "on": False}))["code"] == "not_found"
    finally:
        for peer in peers:
            await peer.close()
        await callers.close()
        await agents.close()


@pytest.mark.external_redis
async def test_a_caller_whose_socket_reconnected_to_another_process_still_mutes_and_hangs_up(
        tmp_path: Path, external_redis_url: str, aiohttp_client):
    """The caller's audio still flows to the process that took the offer; their widget's new
    socket is on the other one, and its call events are run where the call is."""
    shared = make_config(tmp_path / "shared", redis={"url": external_redis_url},
                         realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                         channels={"chat": {"enabled": True}, "voice": {"enabled": True}}, media={"workers": 1})
    first = await aiohttp_client(create_app(shared), cookie_jar=DummyCookieJar())
    second = await aiohttp_client(create_app(shared), cookie_jar=DummyCookieJar())
    on_first, on_second = Sockets(str(first.make_url(""))), Sockets(str(second.make_url("")))
    visitor_auth = {"widget_key": "demo-widget-key", "visitor_id": "visitor-reconnected"}
    peers: list[ClientPeer] = []
    try:
        agent = await Api.login(first, shared.demo.agent_email, shared.demo.agent_password)
        inbox = await on_first.connect("/agent", cookie=session_cookie(agent))
        assert (await inbox.call("presence", {"status": "available"}))["ok"]
        visitor = await on_first.connect("/visitor", auth=visitor_auth)
        customer, agent_peer = ClientPeer(440.0), ClientPeer(1000.0)
        peers += [customer, agent_peer]
        started = await visitor.call("call_start", {"sdp": await customer.offer()})
        await customer.accept(started["sdp"])
        offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == started["conversation_id"])
        assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
        answered = await inbox.call("call_answer", {"call_id": started["call_id"], "sdp": await agent_peer.offer()})
        await agent_peer.accept(answered["sdp"])
        await until_heard(agent_peer, lambda audio: is_tone(audio, 440.0))

        reconnected = await on_second.connect("/visitor", auth=visitor_auth)
        assert (await reconnected.call("call_mute", {"call_id": started["call_id"], "muted": True}))["ok"]
        await until_heard(agent_peer, is_silent)
        # Another visitor's socket on that process can't touch the call.
        stranger = await on_second.connect("/visitor", auth={**visitor_auth, "visitor_id": "someone-else"})
        assert (await stranger.call("call_hangup", {"call_id": started["call_id"]}))["code"] == "not_found"

        assert (await reconnected.call("call_hangup", {"call_id": started["call_id"]}))["ok"]
        ended = await visitor.wait_for("call.ended")
        assert ended["call_id"] == started["call_id"]
        assert (await inbox.wait_for("task.wrapup"))["conversation_id"] == started["conversation_id"]
    finally:
        for peer in peers:
            await peer.close()
        await on_first.close()
        await on_second.close()

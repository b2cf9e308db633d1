"""Two gateway processes behind one load balancer: an event that happens on one reaches sockets
connected to the other (through Redis), and a visitor still gets only their own messages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import Sockets, post_message, session_cookie, visitor_conversation

pytestmark = pytest.mark.external_redis


@pytest.fixture
async def gateways(tmp_path: Path, database_url: str, external_redis_url: str) -> AsyncIterator[list[TestClient]]:
    channel = f"wecc-test:{uuid.uuid4().hex}"
    clients = []
    try:
        for name in ("one", "two"):
            config = make_config(
                tmp_path / name, database={"url": database_url}, redis={"url": external_redis_url}, realtime={"channel": channel}
            )
            client = TestClient(TestServer(create_app(config)), cookie_jar=DummyCookieJar())
            await client.start_server()
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            await client.close()


async def test_events_on_one_gateway_reach_sockets_on_the_other(gateways: list[TestClient]) -> None:
    one, two = gateways
    app_one = one.server.app
    demo = Config().demo
    agent = await Api.login(one, demo.agent_email, demo.agent_password)  # the session works on both
    sockets = Sockets(str(two.server.make_url("")).rstrip("/"))
    try:
        inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
        visitor = await sockets.connect("/visitor", auth={"widget_key": demo.widget_key, "visitor_id": "visitor-0001"})
        stranger = await sockets.connect("/visitor", auth={"widget_key": demo.widget_key, "visitor_id": "visitor-0002"})

        # Opened on gateway one after the visitor connected to gateway two.
        conversation_id = await visitor_conversation(app_one, agent.tenant_id(), "visitor-0001")
        await inbox.wait_for("conversation.created", lambda d: d["id"] == conversation_id)
        assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"]
        reply = await post_message(app_one, agent.tenant_id(), conversation_id, "Hello from the other node")

        heard = await visitor.wait_for("message.created")
        assert heard["message"]["id"] == reply["id"]
        await inbox.wait_for("message.created", lambda d: d["message"]["id"] == reply["id"])
        assert stranger.events == []
    finally:
        await sockets.close()

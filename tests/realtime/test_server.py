"""The socket server as operators see it: connections counted in /metrics, and a shutdown that
disconnects everyone promptly instead of waiting for open sockets."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Config
from gateway.keys import SOCKETS
from tests.helpers import Api
from tests.realtime.support import Sockets, session_cookie


def gauge(metrics: str, namespace: str) -> float:
    match = re.search(rf'^wecc_socket_connections{{namespace="{namespace}"}} (\S+)$', metrics, re.M)
    return float(match.group(1)) if match else 0.0


async def poll(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_open_connections_are_counted_per_namespace(client: TestClient, sockets: Sockets, agent: Api, config: Config) -> None:
    async def metrics() -> str:
        return await (await client.get("/metrics")).text()

    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-0001"})
    await sockets.refusal("/agent")  # refused connections are not counted
    text = await metrics()
    assert gauge(text, "/agent") == 1 and gauge(text, "/visitor") == 1

    await inbox.sio.disconnect()

    async def agent_gone() -> bool:
        return gauge(await metrics(), "/agent") == 0

    await poll(agent_gone)


async def test_shutdown_disconnects_clients_and_stops_its_tasks(tmp_path: Path, config: Config) -> None:
    app = create_app(config)
    client = TestClient(TestServer(app), cookie_jar=DummyCookieJar())
    await client.start_server()
    sockets = Sockets(str(client.server.make_url("")).rstrip("/"))
    try:
        agent = await Api.login(client, config.demo.agent_email, config.demo.agent_password)
        inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
        visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-0001"})
        server = app[SOCKETS]
        assert server.eio.background_tasks  # e.g. the Redis listener
    finally:
        await client.close()
    try:
        async def everyone_disconnected() -> bool:
            return not inbox.sio.connected and not visitor.sio.connected

        await poll(everyone_disconnected)
        assert not server.eio.background_tasks
        assert not server.eio.sockets
    finally:
        await sockets.close()


async def test_a_long_polling_client_between_polls_does_not_hold_up_the_shutdown(config: Config) -> None:
    """engine.io waits for each client to take its "closing" packet; a long-polling client with no
    request in flight (or one that just went away) never does, and the gateway never stopped."""
    app = create_app(config)
    client = TestClient(TestServer(app), cookie_jar=DummyCookieJar())
    await client.start_server()
    try:
        handshake = await (await client.get("/socket.io/?EIO=4&transport=polling")).text()
        sid = handshake.split('"sid":"')[1].split('"')[0]
        joined = await client.post(f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                                   data='40/visitor,{"widget_key":"%s","visitor_id":"visitor-poll-0001"}' % config.demo.widget_key)
        assert joined.status == 200
        answer = await (await client.get(f"/socket.io/?EIO=4&transport=polling&sid={sid}")).text()
        assert answer.startswith("40/visitor")  # connected; now no poll is in flight
        assert app[SOCKETS].eio.sockets
    finally:
        # A generous guard only so that a regression fails instead of hanging the whole run.
        await asyncio.wait_for(client.close(), timeout=60)
    assert not app[SOCKETS].eio.sockets

"""An agent who closes the inbox (laptop lid, crashed browser) is set offline after a grace time,
so customers' chats are not offered to nobody; a reload or a second tab keeps them on."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import DB
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import Sockets, session_cookie

GRACE = 0.5


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}", "agent_offline_after_seconds": GRACE})


async def presence(client: TestClient, agent: Api) -> tuple[str, str]:
    async with client.app[DB].connect() as conn:
        row = (await conn.execute(sa.select(t.agent_states.c.presence, t.agent_states.c.reason).where(
            t.agent_states.c.user_id == agent.me["user"]["id"]))).one()
    return row.presence, row.reason


async def test_closing_the_last_inbox_tab_sets_the_agent_offline(client: TestClient, agent: Api, sockets: Sockets):
    first = await sockets.connect("/agent", cookie=session_cookie(agent))
    second = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await first.call("presence", {"status": "available"}))["ok"]
    # One of two tabs closed: still available, however long.
    await first.sio.disconnect()
    await asyncio.sleep(GRACE * 3)
    assert (await presence(client, agent))[0] == "available"
    # The last tab closed and came back within the grace time (a reload): still available.
    await second.sio.disconnect()
    await asyncio.sleep(GRACE / 5)
    third = await sockets.connect("/agent", cookie=session_cookie(agent))
    await asyncio.sleep(GRACE * 3)
    assert (await presence(client, agent))[0] == "available"
    # Gone for good: offline, with the reason supervisors see.
    await third.sio.disconnect()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (await presence(client, agent))[0] != "offline":
        assert loop.time() < deadline, "the agent stayed available with no inbox open"
        await asyncio.sleep(0.05)
    assert await presence(client, agent) == ("offline", "inbox closed")

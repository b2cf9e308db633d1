"""The demo world with its showcase content (config [demo] showcase, on in config.toml): what
someone trying the product meets — a topic picker that routes to its queue, canned replies and
wrap-up codes in the inbox, an invitation on the demo page — seeded once, never over a tenant
admin's own settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient


from gateway.app import create_app
from gateway.db import schema as t
from gateway.keys import DB
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import Sockets


async def start(aiohttp_client: Callable[..., Awaitable[TestClient]], data_dir: Path) -> TestClient:
    return await aiohttp_client(create_app(make_config(data_dir, demo={"showcase": True})), cookie_jar=DummyCookieJar())


async def test_a_visitor_picks_a_topic_and_the_agent_has_replies_and_codes_ready(aiohttp_client, tmp_path: Path) -> None:
    client = await start(aiohttp_client, tmp_path / "data")
    config = await (await client.get("/api/v1/widget/config", params={"key": "demo-widget-key"})).json()
    topic = config["prechat"]["fields"][0]
    assert (topic["name"], topic["type"], topic["required"]) == ("topic", "select", False)
    assert [o["label"] for o in topic["options"]] == ["Buying something", "Help with an order", "Something else"]
    assert config["proactive"][0]["url_pattern"] == "/demo*"

    sockets = Sockets(str(client.server.make_url("")).rstrip("/"))
    try:
        visitor = await sockets.connect("/visitor", auth={"widget_key": "demo-widget-key", "visitor_id": "showcase-visitor-1"})
        started = await visitor.call("start_chat", {"client_id": "c-showcase-1", "text": "Is the blue one in stock?", "name": "Ann",
                                                    "fields": {"topic": "sales"}})
        assert started["ok"], started
    finally:
        await sockets.close()
    async with client.app[DB].connect() as conn:
        queue = (await conn.execute(sa.select(t.queues.c.name).join(t.tasks, t.tasks.c.queue_id == t.queues.c.id).where(
            t.tasks.c.conversation_id == started["conversation_id"]))).scalar_one()
    assert queue == "Sales"

    agent = await Api.login(client, "agent@demo.example", "demo-agent")
    tid = agent.tenant_id()
    canned = await agent.get(f"/api/v1/tenants/{tid}/canned-replies")
    assert {"hello", "bye"} <= {c["shortcut"] for c in canned["items"]}
    codes = await agent.get(f"/api/v1/tenants/{tid}/wrapup-codes")
    assert "resolved" in [c["code"] for c in codes["items"]] and codes["required"] is False


async def test_a_restart_keeps_what_the_tenant_admin_changed(aiohttp_client, tmp_path: Path) -> None:
    client = await start(aiohttp_client, tmp_path / "data")
    operator = await Api.login(client, "operator@demo.example", "demo-operator")
    tid = (await Api.login(client, "agent@demo.example", "demo-agent")).tenant_id()
    await operator.put(f"/api/v1/tenants/{tid}/widget/settings", json={"title": "Our own"})
    await operator.put(f"/api/v1/tenants/{tid}/wrapup-codes", json={"items": [{"code": "done", "label": "Done"}], "required": True})
    await client.close()

    again = await start(aiohttp_client, tmp_path / "data")  # seeds the same database once more
    config = await (await again.get("/api/v1/widget/config", params={"key": "demo-widget-key"})).json()
    assert (config["title"], config["prechat"]["fields"]) == ("Our own", [])
    agent = await Api.login(again, "agent@demo.example", "demo-agent")
    codes = await agent.get(f"/api/v1/tenants/{tid}/wrapup-codes")
    assert ([c["code"] for c in codes["items"]], codes["required"]) == (["done"], True)
    async with again.app[DB].connect() as conn:
        queues = (await conn.execute(sa.select(t.queues.c.name).where(t.queues.c.tenant_id == tid))).scalars().all()
    assert sorted(queues) == ["General", "Sales", "Support"]  # not made twice

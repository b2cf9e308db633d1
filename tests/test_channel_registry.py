"""Channels plug in through config alone: started with the gateway, fed the core's verbs, handed
agents' replies, and stopped on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.channel import ChannelContext
from gateway.config import Config, ConfigError
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import DomainEvent
from gateway.keys import CHANNELS, DB, EVENTS
from tests.conftest import make_config
from tests.fake_channel import FakeChannel
from tests.helpers import Api


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def config(tmp_path: Path, channel_settings: dict[str, Any]) -> Config:
    echo = {"enabled": True, "module": "tests.fake_channel", "greeting": "hi", **channel_settings}
    return make_config(tmp_path / "data", channels={"echo": echo})


@pytest.fixture
def echo(client: TestClient) -> FakeChannel:
    channel = client.app[CHANNELS].channels["echo"]
    assert isinstance(channel, FakeChannel)
    return channel


@pytest.fixture
def events(client: TestClient) -> list[DomainEvent]:
    seen: list[DomainEvent] = []

    async def listen(event: DomainEvent) -> None:
        seen.append(event)

    client.app[EVENTS].subscribe(listen)
    return seen


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def demo_conversation(ctx: ChannelContext, demo_tenant: str) -> tuple[str, str]:
    contact_id = await ctx.identify_contact(demo_tenant, "email", "ann@example.com", name="Ann")
    return contact_id, await ctx.open_conversation(demo_tenant, contact_id, subject="Order 17")


async def add_tenant(client: TestClient, slug: str) -> str:
    tenant_id = new_id()
    async with client.app[DB].begin() as conn:
        await conn.execute(
            t.tenants.insert().values(
                id=tenant_id, slug=slug, name=slug, widget_key=f"key-{slug}", widget_secret="s",
                allowed_origins=[], settings={}, created_at=utcnow(),
            )
        )
    return tenant_id


async def test_channel_starts_with_the_app_and_stops_on_cleanup(client: TestClient, echo: FakeChannel) -> None:
    assert (echo.started, echo.stopped) == (1, 0)
    assert echo.ctx is not None and echo.ctx.name == "echo"
    assert echo.greeting == "hi"  # its own settings reach it
    await client.close()
    assert (echo.started, echo.stopped) == (1, 1)


async def test_context_verbs_store_and_publish(client: TestClient, echo: FakeChannel, events: list[DomainEvent]) -> None:
    ctx = echo.ctx
    assert ctx is not None
    [demo] = await ctx.tenant_ids()
    contact_id, conversation_id = await demo_conversation(ctx, demo)
    assert await ctx.identify_contact(demo, "email", "ANN@example.com") == contact_id
    appended = await ctx.append(demo, conversation_id, body_text="Where is my order?", client_id="m-1")
    again = await ctx.append(demo, conversation_id, body_text="Where is my order?", client_id="m-1")
    task_id = await ctx.enqueue_task(demo, conversation_id, priority=3)

    assert appended.created and not again.created and again.message["id"] == appended.message["id"]
    recorded = [e for e in events if e.id]  # live-only updates (the queue position) have no id
    assert [e.type for e in recorded] == ["contact.created", "conversation.created", "message.created", "task.queued"]
    assert all(e.tenant_id == demo for e in events)
    created = recorded[1]
    assert created.data["channel"] == "echo" and created.actor == "channel:echo"
    assert recorded[2].data["message"]["author_type"] == "contact"
    assert recorded[3].data["task_id"] == task_id
    async with client.app[DB].connect() as conn:
        task = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == task_id))).one()
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(t.events))).scalar_one()
    assert (task.channel, task.state, task.priority, task.conversation_id) == ("echo", "queued", 3, conversation_id)
    assert stored >= 4  # every published event is also in SQL


async def test_an_agents_reply_reaches_the_channel(client: TestClient, agent: Api, echo: FakeChannel) -> None:
    assert echo.ctx is not None
    contact_id, conversation_id = await demo_conversation(echo.ctx, agent.tenant_id())
    await echo.ctx.append(agent.tenant_id(), conversation_id, body_text="Hello?")
    sent = await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "On its way!"})

    await eventually(lambda: len(echo.delivered) == 1)
    [reply] = echo.delivered
    assert (reply.tenant_id, reply.conversation_id, reply.contact_id) == (agent.tenant_id(), conversation_id, contact_id)
    assert reply.message["id"] == sent["id"]
    assert reply.message["body_text"] == "On its way!"
    assert reply.message["author_id"] == agent.me["user"]["id"]  # type: ignore[index]


async def test_a_failed_delivery_is_reported(
    client: TestClient, agent: Api, echo: FakeChannel, events: list[DomainEvent]
) -> None:
    assert echo.ctx is not None
    _, conversation_id = await demo_conversation(echo.ctx, agent.tenant_id())
    echo.fail_with = "mail server said no"
    sent = await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "Hi"})

    await eventually(lambda: any(e.type == "message.delivery_failed" for e in events))
    failed = next(e for e in events if e.type == "message.delivery_failed")
    assert failed.tenant_id == agent.tenant_id() and failed.conversation_id == conversation_id
    assert (failed.data["conversation_id"], failed.data["message_id"], failed.data["error"]) == (
        conversation_id, sent["id"], "mail server said no")
    # The agent sees it on the message itself, also after a reload.
    [shown] = (await agent.get(f"/api/v1/conversations/{conversation_id}/messages"))["items"]
    assert shown["meta"]["delivery"]["status"] == "failed" and shown["meta"]["delivery"]["error"] == "mail server said no"
    async with client.app[DB].connect() as conn:
        stored = (await conn.execute(sa.select(t.events.c.data).where(t.events.c.type == "message.delivery_failed"))).scalar_one()
    assert stored["message_id"] == sent["id"]  # persisted: reports and webhooks see it too


@pytest.mark.parametrize("channel_settings", [{"tenants": ["other"]}])
async def test_only_the_listed_tenants_are_served(client: TestClient, agent: Api, echo: FakeChannel) -> None:
    assert echo.ctx is not None
    other = await add_tenant(client, "other")
    assert await echo.ctx.tenant_ids() == [other]

    _, demo_conversation_id = await demo_conversation(echo.ctx, agent.tenant_id())
    await agent.post(f"/api/v1/conversations/{demo_conversation_id}/messages", expect=201, json={"body_text": "demo reply"})
    # Notes stay inside, and a customer's own messages are not echoed back.
    await agent.post(f"/api/v1/conversations/{demo_conversation_id}/messages", expect=201,
                     json={"body_text": "note", "kind": "note"})
    contact = await echo.ctx.identify_contact(other, "email", "bob@example.com")
    other_conversation = await echo.ctx.open_conversation(other, contact)
    await echo.ctx.append(other, other_conversation, body_text="from the customer")
    await echo.ctx.append(other, other_conversation, body_text="other reply", author_type="agent", author_id="someone")

    await client.close()  # shutdown lets replies already handed over finish going out
    assert [r.message["body_text"] for r in echo.delivered] == ["other reply"]


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"enabled": True}, "no channel module 'channels.nosuch'"),
        ({"enabled": True, "module": "tests.no_such_module"}, "no channel module 'tests.no_such_module'"),
        ({"enabled": True, "module": "tests.helpers"}, "has no create_channel"),
        ({"enabled": True, "module": "tests.fake_channel"}, "did not return the 'nosuch' channel"),
        ({"enabled": True, "module": "tests.fake_channel", "greeting": 5}, "greeting must be a string"),
    ],
)
def test_bad_channel_config_names_the_channel(tmp_path: Path, settings: dict[str, Any], problem: str) -> None:
    config = make_config(tmp_path / "data", channels={"nosuch": settings})
    with pytest.raises(ConfigError) as info:
        create_app(config)
    assert info.value.key == "channels.nosuch"
    assert problem in info.value.problem


def test_a_disabled_channel_is_not_loaded(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data", channels={"nosuch": {"enabled": False}})
    assert create_app(config)[CHANNELS].channels == {}


def test_the_agent_events_a_channel_may_not_take_are_exactly_the_ones_the_inbox_socket_answers_itself() -> None:
    from gateway.channel import CORE_AGENT_EVENTS
    from gateway.realtime.agent import AgentNamespace

    own = {name.removeprefix("on_") for name in dir(AgentNamespace) if name.startswith("on_")}
    assert own == set(CORE_AGENT_EVENTS)


def test_the_visitor_events_a_channel_may_not_take_are_exactly_the_ones_the_widget_socket_answers_itself() -> None:
    from gateway.channel import CORE_VISITOR_EVENTS
    from gateway.realtime.visitor import VisitorNamespace

    own = {name.removeprefix("on_") for name in dir(VisitorNamespace) if name.startswith("on_")}
    assert own == set(CORE_VISITOR_EVENTS)

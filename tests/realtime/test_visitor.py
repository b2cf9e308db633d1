"""The widget's live connection (/visitor): tenant by widget key, allowed origins, and a visitor
sees their own conversation's public messages — nothing else."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.helpers import Api
from tests.realtime.conftest import VISITOR_EVENTS_PER_WINDOW, VISITOR_SIGNALS_PER_WINDOW
from tests.realtime.support import Sockets, new_tenant, post_message, visitor_conversation

MESSAGE_FIELDS = {"id", "client_id", "kind", "author_type", "body_text", "body_html", "created_at"}


def widget(config: Config, visitor_id: str) -> dict[str, str]:
    return {"widget_key": config.demo.widget_key, "visitor_id": visitor_id}


async def test_visitor_gets_public_messages_of_their_own_conversation_only(
    client: TestClient, sockets: Sockets, config: Config, agent: Api
) -> None:
    app = client.server.app
    tenant_id = agent.tenant_id()
    # Anna's conversation exists before she connects; Ben's starts after he has connected.
    anna_conversation = await visitor_conversation(app, tenant_id, "anna-visitor-01")
    anna = await sockets.connect("/visitor", auth=widget(config, "anna-visitor-01"))
    ben = await sockets.connect("/visitor", auth=widget(config, "ben-visitor-002"))
    ben_conversation = await visitor_conversation(app, tenant_id, "ben-visitor-002")

    await post_message(app, tenant_id, anna_conversation, "she sounds annoyed", kind="note")
    to_ben = await post_message(app, tenant_id, ben_conversation, "Hi Ben!", author_id=agent.me["user"]["id"])
    to_anna = await post_message(app, tenant_id, anna_conversation, "Hi Anna!", author_id=agent.me["user"]["id"])

    received = await anna.wait_for("message.created")
    assert received == {
        "conversation_id": anna_conversation,
        "message": {**{key: to_anna[key] for key in MESSAGE_FIELDS}, "attachments": []},
    }
    assert await ben.wait_for("message.created") == {
        "conversation_id": ben_conversation,
        "message": {**{key: to_ben[key] for key in MESSAGE_FIELDS}, "attachments": []},
    }
    # Ben's message was sent before Anna's: had it reached Anna, it would be here by now. Notes,
    # internal events (conversation.created, contact.created) and metadata never reach visitors.
    assert [name for name, _ in anna.events] == ["message.created"]
    assert [name for name, _ in ben.events] == ["message.created"]
    assert "annoyed" not in str(anna.events) and "routing detail" not in str(anna.events)


async def test_visitor_must_name_a_tenant_and_come_from_its_site(
    client: TestClient, sockets: Sockets, config: Config, operator: Api
) -> None:
    assert "unknown widget key" in await sockets.refusal("/visitor", auth={"widget_key": "nope", "visitor_id": "visitor-0001"})
    assert "visitor_id" in await sockets.refusal("/visitor", auth=widget(config, "short"))
    assert "visitor_id" in await sockets.refusal("/visitor", auth=widget(config, "has spaces in it"))
    assert "widget_key" in await sockets.refusal("/visitor", auth={"visitor_id": "visitor-0001"})
    assert "widget_key" in await sockets.refusal("/visitor")
    assert "not allowed" in await sockets.refusal("/visitor", auth=widget(config, "visitor-0001"), origin="https://evil.example")

    # The demo tenant allows the gateway's public URL; requests without Origin aren't from a browser page.
    assert (await sockets.connect("/visitor", auth=widget(config, "visitor-0001"), origin=config.public_url)).sio.connected
    assert (await sockets.connect("/visitor", auth=widget(config, "visitor-0002"))).sio.connected

    # A suspended tenant's widget stops connecting.
    tenant, _ = await new_tenant(client, operator, "shop", allowed_origins=["https://shop.example"])
    shop_auth = {"widget_key": tenant["widget_key"], "visitor_id": "visitor-0003"}
    assert (await sockets.connect("/visitor", auth=shop_auth, origin="https://shop.example")).sio.connected
    assert "not allowed" in await sockets.refusal("/visitor", auth=shop_auth, origin=config.public_url)
    await operator.patch(f"/api/v1/tenants/{tenant['id']}", json={"status": "suspended"})
    assert "unknown widget key" in await sockets.refusal("/visitor", auth=shop_auth, origin="https://shop.example")


async def test_visitor_events_are_rate_limited(sockets: Sockets, config: Config) -> None:
    visitor = await sockets.connect("/visitor", auth=widget(config, "chatty-visitor"))
    for _ in range(VISITOR_EVENTS_PER_WINDOW):
        answer = await visitor.call("ping", {})
        assert answer["ok"] is True and answer["ts"] > 0
    limited = await visitor.call("ping", {})
    assert limited["ok"] is False and limited["code"] == "rate_limited" and limited["retry_after"] >= 1
    # Unknown events count against the same budget instead of slipping past it.
    assert (await visitor.call("anything", {}))["code"] == "rate_limited"

    # The budget is the visitor's, not the connection's: reconnecting does not reset it...
    again = await sockets.connect("/visitor", auth=widget(config, "chatty-visitor"))
    assert (await again.call("ping", {}))["code"] == "rate_limited"
    # ...and another visitor has their own.
    other = await sockets.connect("/visitor", auth=widget(config, "quiet-visitor"))
    assert (await other.call("ping", {}))["ok"] is True
    # Typing and receipts have a budget of their own: a lively chat does not use up its lines'.
    assert (await visitor.call("typing", {"conversation_id": "nope", "typing": True}))["code"] != "rate_limited"
    for _ in range(VISITOR_SIGNALS_PER_WINDOW):
        await other.call("typing", {"conversation_id": "nope", "typing": True})
    assert (await other.call("receipt", {"conversation_id": "nope", "read": "x"}))["code"] == "rate_limited"
    assert (await other.call("ping", {}))["ok"] is True


async def test_visitor_payloads_are_validated(sockets: Sockets, config: Config) -> None:
    visitor = await sockets.connect("/visitor", auth=widget(config, "visitor-0009"))
    assert (await visitor.call("ping", {"x": 1}))["code"] == "invalid"
    assert (await visitor.call("ping", "x" * 10_000))["code"] == "invalid"
    assert (await visitor.call("ping"))["ok"] is True

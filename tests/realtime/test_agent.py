"""The inbox's live connection (/agent): who gets in, and which events an agent sees."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import Api
from tests.realtime.support import Sockets, new_tenant, post_message, session_cookie, visitor_conversation


async def test_agent_without_a_session_is_refused(sockets: Sockets, agent: Api) -> None:
    assert "log in first" in await sockets.refusal("/agent")
    assert "log in first" in await sockets.refusal("/agent", cookie="not-a-session")
    # A logged-in agent's cookie sent from another site's page is refused too.
    assert "inbox page" in await sockets.refusal("/agent", cookie=session_cookie(agent), origin="https://evil.example")

    await agent.request("POST", "/api/v1/auth/logout")
    assert "log in first" in await sockets.refusal("/agent", cookie=session_cookie(agent))


async def test_agent_sees_new_conversations_of_their_tenant_and_messages_of_joined_ones(
    client: TestClient, sockets: Sockets, agent: Api
) -> None:
    app = client.server.app
    tenant_id = agent.tenant_id()
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent), origin=str(client.server.make_url("")).rstrip("/"))

    conversation_id = await visitor_conversation(app, tenant_id, "visitor-aaaa-0001")
    created = await inbox.wait_for("conversation.created", lambda d: d["id"] == conversation_id)
    assert created["tenant_id"] == tenant_id and created["channel"] == "chat"
    await inbox.wait_for("contact.created")

    assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"]
    message = await post_message(app, tenant_id, conversation_id, "Hello, how can I help?")
    note = await post_message(app, tenant_id, conversation_id, "VIP, be nice", kind="note")
    await inbox.wait_for("message.created", lambda d: d["message"]["id"] == note["id"])
    received = inbox.got("message.created")
    assert [m["message"]["body_text"] for m in received] == ["Hello, how can I help?", "VIP, be nice"]
    assert received[0]["message"]["id"] == message["id"]

    # After leaving, the conversation's messages stop (the next tenant event proves it).
    assert await inbox.call("leave_conversation", {"conversation_id": conversation_id}) == {"ok": True}
    await post_message(app, tenant_id, conversation_id, "still there?")
    other = await visitor_conversation(app, tenant_id, "visitor-aaaa-0002")
    await inbox.wait_for("conversation.created", lambda d: d["id"] == other)
    assert len(inbox.got("message.created")) == 2


async def test_agent_cannot_join_or_hear_another_tenants_conversations(
    client: TestClient, sockets: Sockets, agent: Api, operator: Api
) -> None:
    app = client.server.app
    tenant_a = agent.tenant_id()
    tenant_b, agent_b = await new_tenant(client, operator, "acme")
    inbox_a = await sockets.connect("/agent", cookie=session_cookie(agent))
    inbox_b = await sockets.connect("/agent", cookie=session_cookie(agent_b))

    conversation_b = await visitor_conversation(app, tenant_b["id"], "visitor-bbbb-0001")
    refused = await inbox_a.call("join_conversation", {"conversation_id": conversation_b})
    missing = await inbox_a.call("join_conversation", {"conversation_id": "0190aaaa-0000-7000-8000-000000000000"})
    assert refused == missing == {"ok": False, "code": "not_found", "message": "conversation not found"}
    await post_message(app, tenant_b["id"], conversation_b, "for acme only")

    # Tenant A's own event comes after B's; once it arrives, B's would have too.
    conversation_a = await visitor_conversation(app, tenant_a, "visitor-aaaa-0003")
    await inbox_a.wait_for("conversation.created", lambda d: d["id"] == conversation_a)
    assert all(d.get("tenant_id", tenant_a) == tenant_a for _, d in inbox_a.events if isinstance(d, dict) and "tenant_id" in d)
    assert not inbox_a.got("conversation.created", lambda d: d["id"] == conversation_b)
    assert not inbox_a.got("message.created")

    # Tenant B's agent does get them.
    await inbox_b.wait_for("conversation.created", lambda d: d["id"] == conversation_b)
    assert (await inbox_b.call("join_conversation", {"conversation_id": conversation_b}))["ok"]
    assert not inbox_b.got("conversation.created", lambda d: d["id"] == conversation_a)


async def test_agent_events_are_validated(sockets: Sockets, agent: Api) -> None:
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    for bad in (None, "x", {"conversation_id": 5}, {"conversation_id": ""}, {"conversation_id": "a" * 65},
                {"conversation_id": "x", "extra": 1}, {"conversation_id": "x" * 5000}):
        answer = await inbox.call("join_conversation", bad)
        assert answer["ok"] is False and answer["code"] == "invalid", (bad, answer)
        assert answer["message"]
    assert (await inbox.call("presence", {"status": "sleeping"}))["code"] == "invalid"
    assert (await inbox.call("no_such_event", {}))["code"] == "unknown_event"
    # A client can't fake the server's own lifecycle events.
    assert (await inbox.call("disconnect", {}))["code"] == "unknown_event"
    assert inbox.sio.connected


async def test_presence_is_recorded_as_an_event_for_each_tenant(
    client: TestClient, sockets: Sockets, agent: Api
) -> None:
    tenant_id = agent.tenant_id()
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert await inbox.call("presence", {"status": "away"}) == {"ok": True, "status": "away"}

    page = await agent.get(f"/api/v1/tenants/{tenant_id}/events?type=agent.presence_changed")
    assert [e["data"] for e in page["items"]] == [{"agent_id": agent.me["user"]["id"], "status": "away", "reason": ""}]
    assert page["items"][0]["actor"] == f"user:{agent.me['user']['id']}"

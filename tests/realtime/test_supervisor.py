"""The supervisor views' live connection (/supervisor): every event of the supervised tenants."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import Api
from tests.realtime.support import Sockets, add_member, new_tenant, post_message, session_cookie, visitor_conversation


async def test_supervisor_namespace_is_for_supervisors_only(
    client: TestClient, sockets: Sockets, agent: Api, operator: Api
) -> None:
    plain_agent = await add_member(client, operator, agent.tenant_id(), "plain@demo.example", "agent")
    assert "only supervisors" in await sockets.refusal("/supervisor", cookie=session_cookie(plain_agent))
    assert "log in first" in await sockets.refusal("/supervisor")
    # The demo agent is the demo tenant's supervisor.
    assert (await sockets.connect("/supervisor", cookie=session_cookie(agent))).sio.connected


async def test_supervisor_sees_every_event_of_their_tenant_and_none_of_others(
    client: TestClient, sockets: Sockets, agent: Api, operator: Api
) -> None:
    app = client.server.app
    tenant_id = agent.tenant_id()
    other, other_agent = await new_tenant(client, operator, "acme")
    board = await sockets.connect("/supervisor", cookie=session_cookie(agent))
    other_inbox = await sockets.connect("/agent", cookie=session_cookie(other_agent))

    elsewhere = await visitor_conversation(app, other["id"], "visitor-elsewhere")
    conversation_id = await visitor_conversation(app, tenant_id, "visitor-0001")
    note = await post_message(app, tenant_id, conversation_id, "internal remark", kind="note")
    assert await other_inbox.call("presence", {"status": "available"}) == {"ok": True, "status": "available"}
    assert await (await sockets.connect("/agent", cookie=session_cookie(agent))).call("presence", {"status": "away"}) == {
        "ok": True, "status": "away"}

    # Internal events too, without joining any conversation.
    await board.wait_for("agent.presence_changed", lambda d: d["status"] == "away")
    assert board.got("conversation.created", lambda d: d["id"] == conversation_id)
    assert board.got("message.created", lambda d: d["message"]["id"] == note["id"])
    assert not board.got("conversation.created", lambda d: d["id"] == elsewhere)
    assert not board.got("agent.presence_changed", lambda d: d["status"] == "available")


async def test_an_operator_watches_one_business_at_a_time(client: TestClient, sockets: Sockets, agent: Api, operator: Api) -> None:
    app = client.server.app
    demo_id = agent.tenant_id()
    acme, _ = await new_tenant(client, operator, "acme")
    board = await sockets.connect("/supervisor", cookie=session_cookie(operator))
    unwatched = await visitor_conversation(app, demo_id, "visitor-unwatched")
    assert await board.call("watch_tenant", {"tenant_id": demo_id}) == {"ok": True}
    watched = await visitor_conversation(app, demo_id, "visitor-watched")
    await board.wait_for("conversation.created", lambda d: d["id"] == watched)
    assert not board.got("conversation.created", lambda d: d["id"] == unwatched)  # before the watch: not heard

    assert await board.call("watch_tenant", {"tenant_id": acme["id"]}) == {"ok": True}
    left_behind = await visitor_conversation(app, demo_id, "visitor-left-behind")
    now_watched = await visitor_conversation(app, acme["id"], "visitor-acme")
    await board.wait_for("conversation.created", lambda d: d["id"] == now_watched)
    assert not board.got("conversation.created", lambda d: d["id"] == left_behind)
    assert (await board.call("watch_tenant", {"tenant_id": "no-such-tenant"}))["code"] == "not_found"
    assert (await board.call("queue_snapshot", {"tenant_id": acme["id"]}))["ok"]

    supervisor = await sockets.connect("/supervisor", cookie=session_cookie(agent))
    assert (await supervisor.call("watch_tenant", {"tenant_id": acme["id"]}))["code"] == "forbidden"

"""A supervisor steers the live work of their business: moves work from one agent to another or
back to a queue, closes it outright, and sets an agent's status, which the agent's inbox hears.
Agents can't; another business's supervisor can't even see the work."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.db import schema as t
from gateway.keys import DB, ROUTING
from tests.helpers import Api
from tests.realtime.support import Sockets, add_member, new_tenant, session_cookie
from tests.routing.test_service import incoming, task_row, wait_count


async def test_a_supervisor_moves_closes_and_sets_status(client: TestClient, agent: Api, operator: Api, sockets: Sockets) -> None:
    tenant_id = agent.tenant_id()  # the demo agent supervises the demo business
    ann = await add_member(client, operator, tenant_id, "ann@steer.example", "agent")
    bob = await add_member(client, operator, tenant_id, "bob@steer.example", "agent")
    ann_inbox = await sockets.connect("/agent", cookie=session_cookie(ann))
    assert (await ann_inbox.call("presence", {"status": "available"}))["ok"]
    _, task_id = await incoming(client.app, tenant_id, "steer-visitor-1")
    offer = (await wait_count(ann_inbox, "task.offered", 1))[0]
    assert (await ann_inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]

    # An agent can't steer a colleague's work; another business's supervisor can't find it.
    await bob.post(f"/api/v1/tasks/{task_id}/reassign", expect=404, json={"agent_id": bob.me["user"]["id"]})
    _, stranger = await new_tenant(client, operator, "elsewhere", role="supervisor")
    await stranger.post(f"/api/v1/tasks/{task_id}/close", expect=404, json={})
    await agent.post(f"/api/v1/tasks/{task_id}/reassign", expect=422, json={})

    # Ann's chat goes to Bob: reserved for him, with the supervisor's note on the conversation.
    bob_inbox = await sockets.connect("/agent", cookie=session_cookie(bob))
    assert (await bob_inbox.call("presence", {"status": "available"}))["ok"]
    await agent.post(f"/api/v1/tasks/{task_id}/reassign", json={"agent_id": bob.me["user"]["id"], "note": "Bob knows this customer"})
    moved = await bob_inbox.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    assert moved["conversation_id"] == offer["conversation_id"]
    notes = await agent.get(f"/api/v1/conversations/{offer['conversation_id']}/messages")
    assert [m["body_text"] for m in notes["items"] if m["kind"] == "note"] == ["Bob knows this customer"]

    # Then closed outright: the work ends, and the conversation with it.
    await agent.post(f"/api/v1/tasks/{task_id}/close", json={"note": "duplicate"})
    assert (await task_row(client.app, task_id)).state == "cancelled"
    assert (await agent.get(f"/api/v1/conversations/{offer['conversation_id']}"))["status"] == "closed"
    assert (await agent.post(f"/api/v1/tasks/{task_id}/close", expect=409, json={}))["code"] == "finished"

    # Ann is sent away: routing stops offering her work, and her inbox's status follows.
    await ann.put(f"/api/v1/tenants/{tenant_id}/agents/{ann.me['user']['id']}/presence", expect=403, json={"status": "away"})
    await agent.put(f"/api/v1/tenants/{tenant_id}/agents/{ann.me['user']['id']}/presence", json={"status": "away"})
    heard = await ann_inbox.wait_for("agent.presence_changed", lambda d: d["status"] == "away")
    assert heard["agent_id"] == ann.me["user"]["id"]
    assert (await client.app[ROUTING].snapshot(tenant_id))["agents"][ann.me["user"]["id"]]["presence"] == "away"
    await agent.put(f"/api/v1/tenants/{tenant_id}/agents/{stranger.me['user']['id']}/presence", expect=404, json={"status": "away"})
    # Putting someone in is theirs to do; and an agent shared with another business is that business's too.
    await agent.put(f"/api/v1/tenants/{tenant_id}/agents/{ann.me['user']['id']}/presence", expect=422, json={"status": "available"})
    elsewhere = stranger.tenant_id("elsewhere")
    await operator.post(f"/api/v1/tenants/{elsewhere}/members", 201, json={"email": "ann@steer.example", "role": "agent"})
    shared = await agent.put(f"/api/v1/tenants/{tenant_id}/agents/{ann.me['user']['id']}/presence", expect=403, json={"status": "offline"})
    assert shared["code"] == "shared_agent"
    await operator.put(f"/api/v1/tenants/{tenant_id}/agents/{ann.me['user']['id']}/presence", json={"status": "offline"})
    async with client.app[DB].connect() as conn:
        actions = set((await conn.execute(sa.select(t.audit_log.c.action).where(t.audit_log.c.tenant_id == tenant_id))).scalars())
    assert {"task.reassigned", "task.force_closed", "agent.presence_set"} <= actions


async def test_a_call_is_not_closed_or_moved_from_under_its_agent(client: TestClient, agent: Api, operator: Api, sockets: Sockets) -> None:
    tenant_id = agent.tenant_id()
    ann = await add_member(client, operator, tenant_id, "ann@calls.example", "agent")
    ann_inbox = await sockets.connect("/agent", cookie=session_cookie(ann))
    assert (await ann_inbox.call("presence", {"status": "available"}))["ok"]
    _, task_id = await incoming(client.app, tenant_id, "caller-steer-1", channel="voice")
    await wait_count(ann_inbox, "task.offered", 1)
    assert (await ann_inbox.call("accept_task", {"task_id": task_id}))["ok"]
    # The call's line is the call bar's (and the caller's) to end; supervisors listen or barge instead.
    assert (await agent.post(f"/api/v1/tasks/{task_id}/close", expect=409, json={}))["code"] == "live_call"
    queue = (await operator.get(f"/api/v1/tenants/{tenant_id}/queues"))["items"][0]["id"]
    assert (await agent.post(f"/api/v1/tasks/{task_id}/reassign", expect=409, json={"queue_id": queue}))["code"] == "live_call"
    assert (await task_row(client.app, task_id)).state == "assigned"
    # Nor is work handed to someone who isn't there to take it.
    bob = await add_member(client, operator, tenant_id, "bob@calls.example", "agent")
    _, chat = await incoming(client.app, tenant_id, "chat-steer-2")
    assert (await agent.post(f"/api/v1/tasks/{chat}/reassign", expect=409, json={"agent_id": bob.me["user"]["id"]}))["code"] == "agent_unavailable"

"""Routing end to end on a running gateway: agents go available in the inbox, work offered over
the socket, accepted, recorded in SQL before anyone hears of it, rebuilt after Redis loses it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.config import Config
from gateway.core.contacts import identify_contact
from gateway.core.conversations import enqueue_task, open_conversation
from gateway.db import schema as t
from gateway.keys import DB, EVENTS, REDIS, ROUTING
from gateway.routing.service import now_ms
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import PASSWORD, Listener, Sockets, add_member, session_cookie


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # On SQLite and on PostgreSQL: only PostgreSQL fences engine steps against a rebuild.
    return make_config(
        tmp_path / "data", database={"url": database_url},
        realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
        routing={"ring_seconds": 30.0, "tick_seconds": 0.05, "sticky_seconds": 0.0, "wrapup_seconds": 30.0},
    )


async def incoming(app: Any, tenant_id: str, visitor: str, *, priority: int = 0, channel: str = "chat") -> tuple[str, str]:
    """A visitor starts a chat and the channel queues it, as the chat channel will."""
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "visitor", visitor)
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, channel)
        task_id, queued = await enqueue_task(conn, tenant_id, conversation_id, channel, priority=priority)
    await app[EVENTS].publish(*contact.events, opened, *queued)
    return conversation_id, task_id


async def task_row(app: Any, task_id: str) -> Any:
    async with app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == task_id))).one()


async def task_history(app: Any, task_id: str) -> list[str]:
    async with app[DB].connect() as conn:
        rows = await conn.execute(sa.select(t.task_events.c.type).where(t.task_events.c.task_id == task_id).order_by(t.task_events.c.id))
        return list(rows.scalars())


async def wait_count(listener: Listener, event: str, count: int, timeout: float = 5.0) -> list[Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(listener.got(event)) < count:
        assert loop.time() < deadline, f"{len(listener.got(event))} {event} of {count}"
        await asyncio.sleep(0.01)
    return listener.got(event)


async def inbox(sockets: Sockets, api: Api) -> Listener:
    listener = await sockets.connect("/agent", cookie=session_cookie(api))
    assert (await listener.call("presence", {"status": "available"}))["ok"]
    return listener


async def test_an_available_agent_is_offered_the_chat_and_takes_it(client, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    me = await inbox(sockets, agent)
    conversation_id, task_id = await incoming(app, tid, "visitor-0001")
    offer = await me.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    assert offer["agent_id"] == agent.me["user"]["id"] and offer["conversation_id"] == conversation_id
    # The offer was on record before it was announced.
    assert (await task_row(app, task_id)).state in ("offered", "assigned")
    assert (await me.call("accept_task", {"task_id": task_id}))["ok"]
    row = await task_row(app, task_id)
    assert (row.state, row.assigned_agent_id) == ("assigned", agent.me["user"]["id"])
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["assignee_id"] == agent.me["user"]["id"]
    # Accepting again (the inbox retries when an answer is lost) is fine and records nothing new.
    assert (await me.call("accept_task", {"task_id": task_id}))["ok"]
    assert (await me.call("complete_task", {"task_id": task_id}))["ok"]
    assert await task_history(app, task_id) == ["queued", "offered", "accepted", "done"]
    assert (await task_row(app, task_id)).ended_at is not None


async def test_offers_go_only_to_the_agent_concerned(client, agent: Api, operator: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    colleague = await add_member(client, operator, tid, "colleague@demo.example", "agent")
    busy = await sockets.connect("/agent", cookie=session_cookie(colleague))  # connected but not available
    me = await inbox(sockets, agent)
    _, task_id = await incoming(app, tid, "visitor-0002")
    await me.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    assert busy.got("task.offered") == []
    refused = await busy.call("accept_task", {"task_id": task_id})
    assert refused["ok"] is False
    assert (await task_row(app, task_id)).state == "offered"


async def test_reject_passes_the_chat_on_and_keeps_its_place(client, agent: Api, operator: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    me = await inbox(sockets, agent)
    _, first = await incoming(app, tid, "visitor-0003")
    await me.wait_for("task.offered", lambda d: d["task_id"] == first)
    colleague = await add_member(client, operator, tid, "colleague@demo.example", "agent")
    other = await inbox(sockets, colleague)
    assert (await me.call("reject_task", {"task_id": first}))["ok"]
    offer = await other.wait_for("task.offered", lambda d: d["task_id"] == first)
    assert offer["agent_id"] == colleague.me["user"]["id"]
    assert await task_history(app, first) == ["queued", "offered", "rejected", "offered"]


async def test_waiting_visitors_hear_their_place_and_wait(client, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    visitors = []
    for n in range(3):
        vid = f"visitor-10{n:02d}"
        visitors.append(await sockets.connect("/visitor", auth={"widget_key": "demo-widget-key", "visitor_id": vid}))
        await incoming(app, tid, vid)
    # No agent is available: positions 1, 2, 3 and no estimate.
    for n, visitor in enumerate(visitors):
        update = await visitor.wait_for("task.position", lambda d, n=n: d["queue_length"] == 3)
        assert update["position"] == n + 1 and update["estimated_wait_seconds"] is None
        assert "task_id" not in update  # visitors get their place, not our ids
    me = await inbox(sockets, agent)  # capacity 3 chats: takes all three, oldest first
    offered = [d["task_id"] for d in await wait_count(me, "task.offered", 3)]
    assert len(set(offered)) == 3


async def test_routing_state_is_rebuilt_from_sql_when_redis_loses_it(client, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    tasks = [(await incoming(app, tid, f"visitor-20{n:02d}", priority=p))[1] for n, p in enumerate([0, 5, 0])]
    await app[REDIS].flushall()
    # Sessions lived in Redis too: the agent logs in again. The next routing step finds Redis
    # empty, rebuilds from SQL, then routes.
    agent = await Api.login(client, agent.me["user"]["email"], "demo-agent")
    me = await inbox(sockets, agent)
    order = [d["task_id"] for d in await wait_count(me, "task.offered", 3)]
    assert order[0] == tasks[1]  # the priority 5 chat first
    assert sorted(order) == sorted(tasks) and len(order) == 3  # each once
    for task_id in tasks:
        assert (await task_row(app, task_id)).state == "offered"


async def test_work_for_later_waits_outside_routing_then_comes_in_its_original_place(client, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    # A callback asked for an hour ahead, by a customer who queued before anyone else.
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tid, "visitor", "visitor-later")
        conversation_id, opened = await open_conversation(conn, tid, contact.contact_id, "voice")
        later, queued = await enqueue_task(conn, tid, conversation_id, "callback", enqueued_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                           not_before=datetime.now(timezone.utc) + timedelta(hours=1))
    await app[EVENTS].publish(*contact.events, opened, *queued)
    _, now_task = await incoming(app, tid, "visitor-now", channel="callback")
    await app[REDIS].flushall()  # a rebuild from SQL must not bring it in early either
    agent = await Api.login(client, agent.me["user"]["email"], "demo-agent")
    me = await inbox(sockets, agent)
    assert [d["task_id"] for d in await wait_count(me, "task.offered", 1)] == [now_task]
    assert (await me.call("accept_task", {"task_id": now_task}))["ok"]
    _, behind = await incoming(app, tid, "visitor-behind", channel="callback")  # waits: one callback at a time
    await app[ROUTING].wake_due_tasks()
    await app[ROUTING]._requeue_missing()
    assert await app[ROUTING].engine.task_info(later) is None and (await task_row(app, later)).state == "queued"

    # Its time comes: routing's sweep wakes it, and it stands first in line.
    async with app[DB].begin() as conn:
        await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == later).values(not_before=datetime.now(timezone.utc)))
    async with asyncio.timeout(5):
        while await app[ROUTING].engine.task_info(later) is None:
            await asyncio.sleep(0.05)
    assert (await task_row(app, later)).not_before is None
    assert (await me.call("complete_task", {"task_id": now_task}))["ok"]
    offered = [d["task_id"] for d in await wait_count(me, "task.offered", 2)]
    assert offered[1] == later  # ahead of the callback queued before it woke
    assert (await app[ROUTING].engine.task_info(behind))["state"] == "queued"


async def test_a_rebuild_restores_what_only_the_history_remembers(client, agent: Api, operator: Api, sockets: Sockets):
    """Who rejected or missed a chat, a chat transferred to a colleague not yet in, a wrap-up's
    deadline and a streak of missed offers: after Redis is wiped, routing holds them as before."""
    app, tid = client.app, agent.tenant_id()
    engine = app[ROUTING].engine
    colleague = await add_member(client, operator, tid, "colleague@demo.example", "agent")
    me_id, other_id = agent.me["user"]["id"], colleague.me["user"]["id"]
    me = await inbox(sockets, agent)

    async def offered(visitor: str) -> str:
        _, task_id = await incoming(app, tid, visitor)
        await me.wait_for("task.offered", lambda d: d["task_id"] == task_id)
        return task_id

    rejected = await offered("visitor-6000")
    assert (await me.call("reject_task", {"task_id": rejected}))["ok"]
    handed = await offered("visitor-6001")
    assert (await me.call("accept_task", {"task_id": handed}))["ok"]
    assert (await me.call("transfer_task", {"task_id": handed, "agent_id": other_id}))["ok"]
    wrapping = await offered("visitor-6002")
    assert (await me.call("accept_task", {"task_id": wrapping}))["ok"]
    assert (await me.call("wrapup_task", {"task_id": wrapping}))["ok"]
    ring_ms, engine._ring_ms = engine._ring_ms, 100
    missed = await offered("visitor-6003")
    await me.wait_for("task.offer_timed_out", lambda d: d["task_id"] == missed)
    engine._ring_ms = ring_ms

    tasks = [rejected, handed, wrapping, missed]
    before = {task_id: await engine.task_info(task_id) for task_id in tasks}
    assert before[rejected]["excluded"] == before[missed]["excluded"] == before[handed]["excluded"] == [me_id]
    assert (before[handed]["state"], before[handed]["reserved_for"]) == ("queued", other_id)
    assert before[wrapping]["auto_done_at_ms"] is not None
    agent_before = await engine.agent_info(me_id)
    assert agent_before is not None and agent_before["missed"] == 1

    await app[REDIS].flushall()
    await app[ROUTING].rebuild()
    after = {task_id: await engine.task_info(task_id) for task_id in tasks}
    for task_id in tasks:
        assert after[task_id] == before[task_id], (task_id, after[task_id], before[task_id])
    agent_after = await engine.agent_info(me_id)
    assert agent_after is not None
    assert {k: agent_after[k] for k in ("presence", "load", "tasks", "missed")} == \
        {k: agent_before[k] for k in ("presence", "load", "tasks", "missed")}
    # The colleague comes in (logging in again: sessions were in Redis too) and gets all three;
    # the agent who let them go is not offered them again.
    colleague = await Api.login(client, "colleague@demo.example", PASSWORD)
    other = await inbox(sockets, colleague)
    assert sorted(d["task_id"] for d in await wait_count(other, "task.offered", 3)) == sorted([rejected, handed, missed])
    assert {d["task_id"] for d in me.got("task.offered")} == set(tasks)  # the first offers only


async def test_supervisor_snapshot(client, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    for n in range(2):
        await incoming(app, tid, f"visitor-30{n:02d}")
    general = (await agent.get(f"/api/v1/tenants/{tid}/routing/snapshot"))  # the demo agent is a supervisor
    queue_id = (await task_row(app, (await incoming(app, tid, "visitor-3099"))[1])).queue_id  # the default queue
    snapshot = await agent.get(f"/api/v1/tenants/{tid}/routing/snapshot")
    assert snapshot["queues"][queue_id]["waiting"] == 3
    assert snapshot["queues"][queue_id]["longest_wait_ms"] >= 0
    assert general["queues"][queue_id]["waiting"] == 2
    supervisor = await sockets.connect("/supervisor", cookie=session_cookie(agent))
    live = await supervisor.call("queue_snapshot", {"tenant_id": tid})
    assert live["ok"] and live["queues"][queue_id]["waiting"] == 3
    me = await inbox(sockets, agent)
    for offer in await wait_count(me, "task.offered", 3):  # ringing still counts as waiting
        assert (await me.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    after = await agent.get(f"/api/v1/tenants/{tid}/routing/snapshot")
    assert after["queues"].get(queue_id, {"waiting": 0})["waiting"] == 0
    assert after["agents_by_presence"] == {"available": 1}
    assert len(after["agents"][agent.me["user"]["id"]]["tasks"]) == 3


async def test_missing_offers_sets_the_agent_away(client, agent: Api, sockets: Sockets, tmp_path):
    app, tid = client.app, agent.tenant_id()
    service = app[ROUTING]
    service.engine._ring_ms = 100  # ring briefly (the engine passes it with every call)
    me = await inbox(sockets, agent)
    for n in range(3):
        _, task_id = await incoming(app, tid, f"visitor-40{n:02d}")
        await me.wait_for("task.offer_timed_out", lambda d, t=task_id: d["task_id"] == t)
    async with app[DB].connect() as conn:
        presence = (await conn.execute(sa.select(t.agent_states.c.presence).where(t.agent_states.c.user_id == agent.me["user"]["id"]))).scalar_one()
    assert presence == "away"


async def test_transfer_to_a_colleague_with_a_note(client, agent: Api, operator: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    colleague = await add_member(client, operator, tid, "colleague@demo.example", "agent")
    me = await inbox(sockets, agent)
    conversation_id, task_id = await incoming(app, tid, "visitor-5000", priority=4)
    await me.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    await me.call("accept_task", {"task_id": task_id})
    other = await inbox(sockets, colleague)
    nope = await other.call("transfer_task", {"task_id": task_id, "agent_id": colleague.me["user"]["id"]})
    assert nope["ok"] is False and nope["code"] == "not_yours"
    done = await me.call("transfer_task", {"task_id": task_id, "agent_id": colleague.me["user"]["id"], "note": "wants a refund"})
    assert done["ok"], done
    await other.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    await other.call("accept_task", {"task_id": task_id})
    row = await task_row(app, task_id)
    assert (row.state, row.assigned_agent_id, row.priority) == ("assigned", colleague.me["user"]["id"], 4)
    notes = await agent.get(f"/api/v1/conversations/{conversation_id}/messages?kind=note")
    assert [n["body_text"] for n in notes["items"]] == ["wants a refund"]
    assert (await agent.get(f"/api/v1/conversations/{conversation_id}"))["assignee_id"] == colleague.me["user"]["id"]


async def queue_work(app: Any, tenant_id: str, visitor: str, queue_id: str) -> str:
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "visitor", visitor)
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
        task_id, queued = await enqueue_task(conn, tenant_id, conversation_id, "chat", queue_id=queue_id)
    await app[EVENTS].publish(*contact.events, opened, *queued)
    return task_id


async def wait_history(app: Any, task_id: str, kind: str, timeout: float = 10.0) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while kind not in (history := await task_history(app, task_id)):
        assert loop.time() < deadline, f"no {kind} in {history}"
        await asyncio.sleep(0.05)
    return history


async def test_closed_queue_keeps_the_work_and_says_so(client, operator: Api, agent: Api):
    app, tid = client.app, agent.tenant_id()
    closed = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={
        "name": "Night", "settings": {"hours": {"timezone": "UTC", "weekly": {}, "closed_dates": [datetime.now(timezone.utc).date().isoformat()]}}})
    task_id = await queue_work(app, tid, "visitor-6000", closed["id"])
    assert await wait_history(app, task_id, "queue_closed") == ["queued", "queue_closed"]
    assert (await task_row(app, task_id)).state == "queued"  # still waiting: nothing is dropped
    events = await operator.get(f"/api/v1/tenants/{tid}/events?type=task.queue_closed")
    assert [e["data"]["task_id"] for e in events["items"]] == [task_id]


async def test_a_queue_without_hours_of_its_own_keeps_the_business_hours_of_its_tenant(client, operator: Api, agent: Api):
    app, tid = client.app, agent.tenant_id()
    today = datetime.now(timezone.utc).date().isoformat()
    await operator.patch(f"/api/v1/tenants/{tid}", json={"business_hours": {"timezone": "UTC", "weekly": {}, "closed_dates": [today]}})
    plain = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Plain"})
    own = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Always", "settings": {
        "hours": {"timezone": "UTC", "weekly": {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}})
    closed_task = await queue_work(app, tid, "visitor-6100", plain["id"])
    assert await wait_history(app, closed_task, "queue_closed") == ["queued", "queue_closed"]
    open_task = await queue_work(app, tid, "visitor-6101", own["id"])
    await wait_history(app, open_task, "queued")
    await operator.patch(f"/api/v1/tenants/{tid}", json={"business_hours": None})  # always open again
    later = await queue_work(app, tid, "visitor-6102", plain["id"])
    await wait_history(app, later, "queued")
    await asyncio.sleep(0.3)  # routing has had its turn: neither says closed
    assert await task_history(app, open_task) == ["queued"] and await task_history(app, later) == ["queued"]


async def test_a_queue_may_give_some_channels_a_target_of_their_own(client, operator: Api, agent: Api):
    app, tid = client.app, agent.tenant_id()
    mixed = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={
        "name": "Mixed", "settings": {"sla_seconds": 30, "sla_by_channel": {"email": 4 * 3600}}})
    await operator.post(f"/api/v1/tenants/{tid}/queues", expect=422, json={"name": "Bad", "settings": {"sla_by_channel": {"sms": 60}}})
    targets = {}
    async with app[DB].begin() as conn:
        for channel in ("chat", "email"):
            contact = await identify_contact(conn, tid, "email", f"{channel}@target.example")
            conversation_id, _ = await open_conversation(conn, tid, contact.contact_id, channel)
            task_id, _ = await enqueue_task(conn, tid, conversation_id, channel, queue_id=mixed["id"])
            targets[channel] = (await conn.execute(sa.select(t.tasks.c.sla_seconds).where(t.tasks.c.id == task_id))).scalar_one()
    assert targets == {"chat": 30, "email": 4 * 3600}


async def test_long_waits_overflow_and_then_reach_the_fallback(client, operator: Api, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    backup = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Backup", "settings": {"max_wait_seconds": 1}})
    first = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={
        "name": "First line", "settings": {"overflow_after_seconds": 1, "overflow_queue_id": backup["id"]}})
    task_id = await queue_work(app, tid, "visitor-7000", first["id"])
    # The wait counts from the original enqueue, so the backup queue's limit is already passed.
    assert await wait_history(app, task_id, "max_wait_reached") == ["queued", "overflowed", "requeued", "max_wait_reached"]
    await asyncio.sleep(1.5)  # more sweeps pass: each happens once only
    assert await task_history(app, task_id) == ["queued", "overflowed", "requeued", "max_wait_reached"]
    row = await task_row(app, task_id)
    assert (row.queue_id, row.state) == (backup["id"], "queued")
    # It kept its place: the first to be offered when someone comes.
    me = await inbox(sockets, agent)
    assert (await me.wait_for("task.offered"))["task_id"] == task_id
    resp = await operator.request("PATCH", f"/api/v1/tenants/{tid}/queues/{first['id']}", json={
        "settings": {"overflow_after_seconds": 5, "overflow_queue_id": first["id"]}})
    assert resp.status == 422


async def test_another_system_queues_a_conversation_over_rest(client, agent: Api, operator: Api, sockets: Sockets):
    tid = agent.tenant_id()
    token = await operator.post(f"/api/v1/tenants/{tid}/api-tokens", expect=201, json={"name": "crm", "scopes": ["conversations:write", "contacts:write"]})
    crm = Api(client, token=token["token"])
    contact = await crm.post("/api/v1/contacts", expect=201, json={"tenant_id": tid, "name": "Case 88"})
    conversation = await crm.post("/api/v1/conversations", expect=201, json={"tenant_id": tid, "contact_id": contact["id"], "channel": "email"})
    task = await crm.post(f"/api/v1/conversations/{conversation['id']}/tasks", expect=201, json={"priority": 7})
    assert (task["state"], task["priority"], task["channel"]) == ("queued", 7, "email")
    again = await crm.request("POST", f"/api/v1/conversations/{conversation['id']}/tasks", json={})
    assert again.status == 409 and (await again.json())["details"]["task_id"] == task["id"]
    me = await inbox(sockets, agent)
    assert (await me.wait_for("task.offered"))["task_id"] == task["id"]
    assert (await crm.get(f"/api/v1/tasks/{task['id']}"))["state"] == "offered"


async def test_a_queue_relaxes_the_skills_it_needs_after_a_while(client, operator: Api, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    await operator.post(f"/api/v1/tenants/{tid}/skills", expect=201, json={"name": "billing"})
    await operator.patch(f"/api/v1/tenants/{tid}/members/{agent.me['user']['id']}", json={"skills": {"billing": 1}})
    bad = await operator.request("POST", f"/api/v1/tenants/{tid}/queues", json={
        "name": "Half", "settings": {"relax_skills_after_seconds": 5}})
    assert bad.status == 422 and "relaxed_skills" in (await bad.json())["message"]
    unknown = await operator.request("POST", f"/api/v1/tenants/{tid}/queues", json={
        "name": "Typo", "settings": {"relax_skills_after_seconds": 5, "relaxed_skills": {"biling": 1}}})
    assert unknown.status == 422
    billing = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Billing", "settings": {
        "required_skills": {"billing": 3}, "relax_skills_after_seconds": 1, "relaxed_skills": {"billing": 1}}})
    me = await inbox(sockets, agent)  # billing level 1: not enough at first
    task_id = await queue_work(app, tid, "visitor-8000", billing["id"])
    assert (await app[ROUTING].engine.task_info(task_id))["state"] == "queued"
    offer = await me.wait_for("task.offered", lambda d: d["task_id"] == task_id, timeout=10)
    assert offer["agent_id"] == agent.me["user"]["id"]
    assert await task_history(app, task_id) == ["queued", "skills_changed", "offered"]
    assert (await task_row(app, task_id)).required_skills == {"billing": 1}
    changed = await operator.get(f"/api/v1/tenants/{tid}/events?type=task.skills_changed")
    assert [e["data"]["required_skills"] for e in changed["items"]] == [{"billing": 1}]


async def test_a_tenant_sets_how_its_work_rings_wraps_up_and_blends(client, operator: Api, agent: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    path = f"/api/v1/tenants/{tid}/routing/settings"
    defaults = await agent.get(path)  # supervisors may read them
    assert defaults["settings"] == {"ring_seconds": None, "sticky_seconds": None, "wrapup_seconds": None, "blocking": None}
    assert defaults["effective"] == {"ring_seconds": 30.0, "sticky_seconds": 0.0, "wrapup_seconds": 30.0,
                                     "blocking": {"voice": ["chat", "callback"], "callback": ["chat", "voice"]}}
    assert (await agent.request("PUT", path, json={"ring_seconds": 5})).status == 403  # only admins change them
    for wrong in ({"ring_seconds": 1}, {"blocking": {"chat": ["chat"]}}, {"blocking": {"sms": []}}, {"ring": 5}):
        assert (await operator.request("PUT", path, json=wrong)).status == 422, wrong

    me = await inbox(sockets, agent)
    _, call = await incoming(app, tid, "visitor-9000", channel="voice")
    await me.wait_for("task.offered", lambda d: d["task_id"] == call)
    assert (await me.call("accept_task", {"task_id": call}))["ok"]
    _, chat = await incoming(app, tid, "visitor-9001")
    assert (await app[ROUTING].engine.task_info(chat))["state"] == "queued"  # on a call: no chats (the default)

    saved = await operator.put(path, json={"ring_seconds": 5, "wrapup_seconds": 0, "blocking": {}})
    assert saved["effective"]["ring_seconds"] == 5.0 and saved["effective"]["blocking"] == {}
    assert (await agent.get(path))["settings"] == {"ring_seconds": 5.0, "sticky_seconds": None, "wrapup_seconds": 0.0, "blocking": {}}
    # Nothing blocks now: the waiting chat is offered although the call goes on.
    await me.wait_for("task.offered", lambda d: d["task_id"] == chat)
    before = int(datetime.now(timezone.utc).timestamp() * 1000)
    _, another = await incoming(app, tid, "visitor-9002")
    offer = await me.wait_for("task.offered", lambda d: d["task_id"] == another)
    assert 5_000 <= offer["expires_ms"] - before < 30_000  # rings 5 s, not the center's 30 s
    assert (await me.call("wrapup_task", {"task_id": call}))["ok"]
    assert (await app[ROUTING].engine.task_info(call))["auto_done_at_ms"] is None  # wrap-up until the agent ends it
    audit = await operator.get(f"/api/v1/tenants/{tid}/audit-log")
    assert "routing.updated" in [entry["action"] for entry in audit["items"]]


async def test_steps_a_dead_process_never_recorded_are_caught_up(client, agent: Api, sockets: Sockets):
    """A process makes a routing step in Redis and is killed before recording it in SQL."""
    app, tid = client.app, agent.tenant_id()
    service, engine, me_id = app[ROUTING], app[ROUTING].engine, agent.me["user"]["id"]
    me = await inbox(sockets, agent)
    _, first = await incoming(app, tid, "visitor-9100")
    await me.wait_for("task.offered", lambda d: d["task_id"] == first)
    await engine.accept(first, me_id, now_ms())  # ... and the process dies
    assert (await task_row(app, first)).state == "offered"
    # The inbox retries on another process: it succeeds, and SQL learns of it.
    assert (await me.call("accept_task", {"task_id": first}))["ok"]
    await engine.complete(first, me_id, now_ms())  # ... and that process dies
    assert (await me.call("complete_task", {"task_id": first}))["ok"]
    assert await task_history(app, first) == ["queued", "offered", "accepted", "done"]

    # Nobody retries: the reconciler catches up, once however often it runs.
    _, second = await incoming(app, tid, "visitor-9101")
    await me.wait_for("task.offered", lambda d: d["task_id"] == second)
    await engine.accept(second, me_id, now_ms())
    await engine.wrapup(second, me_id, now_ms(), 60_000)
    await service._reconcile_held(settled_seconds=0)
    row = await task_row(app, second)
    assert (row.state, row.assigned_agent_id) == ("wrapup", me_id)
    await engine.complete(second, me_id, now_ms())
    await asyncio.gather(service._reconcile_held(settled_seconds=0), service._reconcile_held(settled_seconds=0))
    await service._reconcile_held(settled_seconds=0)
    assert await task_history(app, second) == ["queued", "offered", "accepted", "wrapup", "done"]
    assert (await task_row(app, second)).state == "done"

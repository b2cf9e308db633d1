"""What agents finish work with: canned replies (kept by supervisors, read by every agent),
wrap-up codes (required when the business says so), where work can be transferred to, and the
tasks of a conversation."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import Listener, Sockets, session_cookie

WIDGET = "demo-widget-key"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"})


async def plain_agent(operator: Api, tenant_id: str, email: str = "pat@demo.example") -> Api:
    await operator.post(f"/api/v1/tenants/{tenant_id}/members", expect=201,
                        json={"email": email, "password": "long enough pw", "role": "agent", "name": "Pat Agent"})
    return await Api.login(operator.client, email, "long enough pw")


async def test_supervisors_keep_canned_replies_and_every_agent_reads_them(operator: Api, agent: Api):
    tid = agent.tenant_id()
    pat = await plain_agent(operator, tid)
    created = await agent.post(f"/api/v1/tenants/{tid}/canned-replies", expect=201,
                               json={"shortcut": "refund", "title": "Refund policy", "body": "Refunds take 5 working days."})
    await agent.post(f"/api/v1/tenants/{tid}/canned-replies", expect=201, json={"shortcut": "hello", "title": "Greeting", "body": "Hi!"})
    taken = await agent.post(f"/api/v1/tenants/{tid}/canned-replies", expect=409, json={"shortcut": "hello", "title": "x", "body": "y"})
    assert taken["code"] == "shortcut_taken"
    assert [r["shortcut"] for r in (await pat.get(f"/api/v1/tenants/{tid}/canned-replies"))["items"]] == ["hello", "refund"]
    # An agent uses them; only supervisors and admins change them.
    await pat.post(f"/api/v1/tenants/{tid}/canned-replies", expect=403, json={"shortcut": "mine", "title": "t", "body": "b"})
    await pat.patch(f"/api/v1/tenants/{tid}/canned-replies/{created['id']}", expect=403, json={"body": "changed"})
    changed = await agent.patch(f"/api/v1/tenants/{tid}/canned-replies/{created['id']}", json={"body": "Refunds take 3 days."})
    assert changed["body"] == "Refunds take 3 days." and changed["shortcut"] == "refund"
    assert (await agent.patch(f"/api/v1/tenants/{tid}/canned-replies/{created['id']}", expect=409, json={"shortcut": "hello"}))["code"] == "shortcut_taken"
    bad = await agent.post(f"/api/v1/tenants/{tid}/canned-replies", expect=422, json={"shortcut": "Has Space", "title": "t", "body": "b"})
    assert "shortcut" in str(bad)
    await agent.delete(f"/api/v1/tenants/{tid}/canned-replies/{created['id']}", expect=204)
    assert [r["shortcut"] for r in (await pat.get(f"/api/v1/tenants/{tid}/canned-replies"))["items"]] == ["hello"]


async def held_chat(sockets: Sockets, agent: Api, visitor_id: str) -> tuple[Listener, dict]:
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    me = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": visitor_id})
    started = await me.call("start_chat", {"client_id": "c-990000001", "text": "I want my money back"})
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == started["conversation_id"])
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    return inbox, offer


async def test_work_is_summed_up_with_a_wrap_up_code_when_the_business_requires_one(client: TestClient, operator: Api,
                                                                                    agent: Api, sockets: Sockets):
    tid = agent.tenant_id()
    assert await agent.get(f"/api/v1/tenants/{tid}/wrapup-codes") == {"items": [], "required": False}
    await agent.put(f"/api/v1/tenants/{tid}/wrapup-codes", expect=403, json={"items": [], "required": True})
    codes = {"items": [{"code": "refund", "label": "Refund given"}, {"code": "info", "label": "Information"}], "required": True}
    assert await operator.put(f"/api/v1/tenants/{tid}/wrapup-codes", json=codes) == codes
    assert (await operator.put(f"/api/v1/tenants/{tid}/wrapup-codes", expect=422,
                               json={"items": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]}))["code"] == "validation_error"

    inbox, offer = await held_chat(sockets, agent, "visitor-wrapup-01")
    task_id, conversation_id = offer["task_id"], offer["conversation_id"]
    # The conversation's tasks tell a fresh inbox tab which task it holds.
    tasks = await agent.get(f"/api/v1/conversations/{conversation_id}/tasks")
    assert [(x["id"], x["state"]) for x in tasks["items"]] == [(task_id, "assigned")]

    missing = await inbox.call("complete_task", {"task_id": task_id})
    assert (missing["ok"], missing["code"]) == (False, "wrapup_code_required")
    unknown = await inbox.call("wrapup_task", {"task_id": task_id, "wrapup_code": "sale"})
    assert unknown["code"] == "unknown_wrapup_code"
    assert (await inbox.call("wrapup_task", {"task_id": task_id, "wrapup_code": "refund", "note": "gave 20 EUR back"}))["ok"]
    assert (await inbox.call("complete_task", {"task_id": task_id}))["ok"]
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["wrapup"] == {"task_id": task_id, "code": "refund", "label": "Refund given",
                                                    "note": "gave 20 EUR back", "agent_id": agent.me["user"]["id"]}
    coded = await agent.get(f"/api/v1/tenants/{tid}/events?type=task.wrapup_coded")
    assert [e["data"]["code"] for e in coded["items"]] == ["refund"]
    assert (await agent.get(f"/api/v1/tasks/{task_id}"))["state"] == "done"


async def test_transfer_targets_list_the_tenants_queues_and_seated_agents(operator: Api, agent: Api):
    tid = agent.tenant_id()
    await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Billing"})
    pat = await plain_agent(operator, tid)
    other = await operator.post("/api/v1/tenants", expect=201, json={"slug": "other", "name": "Other"})
    await operator.post(f"/api/v1/tenants/{other['id']}/queues", expect=201, json={"name": "Not yours"})
    targets = await pat.get(f"/api/v1/tenants/{tid}/transfer-targets")
    assert "Billing" in [q["name"] for q in targets["queues"]] and "Not yours" not in str(targets)
    assert {a["name"]: a["presence"] for a in targets["agents"]} == {"Demo Agent": "offline", "Pat Agent": "offline"}
    await pat.get(f"/api/v1/tenants/{other['id']}/transfer-targets", expect=404)  # as if it did not exist


async def test_an_agent_can_follow_a_conversation_without_showing_as_viewing_it(operator: Api, agent: Api, sockets: Sockets):
    inbox, offer = await held_chat(sockets, agent, "visitor-follow-01")
    conversation_id = offer["conversation_id"]
    followed = await inbox.call("join_conversation", {"conversation_id": conversation_id, "view": False})
    assert followed == {"ok": True, "viewers": []}
    colleague = await sockets.connect("/agent", cookie=session_cookie(operator))
    joined = await colleague.call("join_conversation", {"conversation_id": conversation_id})
    assert [v["name"] for v in joined["viewers"]] != [] and "Demo Agent" not in [v["name"] for v in joined["viewers"]]
    # Following still delivers the conversation's messages live.
    await operator.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "from a colleague"})
    await inbox.wait_for("message.created", lambda d: d["message"]["body_text"] == "from a colleague")

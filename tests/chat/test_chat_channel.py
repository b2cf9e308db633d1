"""Web chat over the widget's socket, server side: a visitor starts a chat, writes, an agent is
offered it and answers; resends are stored once; history and typing; no visitor ever reaches
another visitor's conversation."""

from __future__ import annotations

import hashlib
import hmac
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
from tests.realtime.support import Listener, Sockets, session_cookie

WIDGET = "demo-widget-key"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"})


async def visitor(sockets: Sockets, visitor_id: str) -> Listener:
    return await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": visitor_id})


async def test_a_visitor_chats_with_an_agent(client: TestClient, agent: Api, operator: Api, sockets: Sockets):
    await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/widget/settings",
                       json={"prechat": {"fields": [{"name": "order", "label": "Order number"}]}})
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    me = await visitor(sockets, "visitor-chat-0001")
    started = await me.call("start_chat", {"client_id": "c-000000001", "text": "Hello, my order is late",
                                           "name": "Ada <b>L</b>", "email": "ada@example.com", "fields": {"order": "A-17"}})
    assert started["ok"], started
    conversation_id = started["conversation_id"]
    assert started["message"]["body_text"] == "Hello, my order is late"
    assert set(started["message"]) == {"id", "client_id", "kind", "author_type", "body_text", "body_html", "created_at", "attachments"}
    # The chat is queued and offered; the agent takes it and sees the pre-chat form.
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == conversation_id)
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["channel"] == "chat"
    assert conversation["attributes"]["prechat"] == {"name": "Ada <b>L</b>", "email": "ada@example.com", "fields": {"order": "A-17"}}
    # Typing both ways: the agent on the conversation sees the visitor type, and the reverse.
    assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"]
    assert (await me.call("typing", {"conversation_id": conversation_id, "typing": True}))["ok"]
    seen = await inbox.wait_for("conversation.typing")
    assert (seen["author_type"], seen["typing"]) == ("contact", True)
    assert (await inbox.call("typing", {"conversation_id": conversation_id, "typing": True}))["ok"]
    assert await me.wait_for("conversation.typing") == {"conversation_id": conversation_id, "typing": True}
    assert len(me.got("conversation.typing")) == 1  # not its own typing echoed back
    # The agent answers over REST; the visitor hears it live.
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "Let me check"})
    reply = await me.wait_for("message.created", lambda d: d["message"]["author_type"] == "agent")
    assert reply["message"]["body_text"] == "Let me check"
    # A second line goes to the same conversation and queues nothing new (work is in progress).
    second = await me.call("send_message", {"conversation_id": conversation_id, "client_id": "c-000000002", "text": "Thanks"})
    assert second["ok"]
    history = await me.call("history", {"conversation_id": conversation_id})
    assert [(m["author_type"], m["body_text"]) for m in history["messages"]] == [
        ("contact", "Hello, my order is late"), ("agent", "Let me check"), ("contact", "Thanks")]
    async with client.app[DB].connect() as conn:
        tasks = (await conn.execute(sa.select(t.tasks.c.id).where(t.tasks.c.conversation_id == conversation_id))).all()
    assert len(tasks) == 1


async def test_a_resent_message_is_stored_once(client: TestClient, sockets: Sockets):
    me = await visitor(sockets, "visitor-chat-0002")
    first = await me.call("start_chat", {"client_id": "c-100000001", "text": "Hi"})
    conversation_id = first["conversation_id"]
    line = {"conversation_id": conversation_id, "client_id": "c-100000002", "text": "Are you there?"}
    a, b = await me.call("send_message", line), await me.call("send_message", line)
    assert a["ok"] and b["ok"] and a["message"]["id"] == b["message"]["id"]
    # After a reload the widget starts again: the open chat continues, the first line not doubled.
    again = await (await visitor(sockets, "visitor-chat-0002")).call("start_chat", {"client_id": "c-100000001", "text": "Hi"})
    assert again["conversation_id"] == conversation_id and again["message"]["id"] == first["message"]["id"]
    history = await me.call("history", {"conversation_id": conversation_id})
    assert [m["body_text"] for m in history["messages"]] == ["Hi", "Are you there?"]


async def test_a_line_resent_after_the_work_ended_does_not_queue_new_work(client: TestClient, agent: Api, sockets: Sockets):
    me = await visitor(sockets, "visitor-chat-0003")
    started = await me.call("start_chat", {"client_id": "c-100000011", "text": "Hi"})
    line = {"conversation_id": started["conversation_id"], "client_id": "c-100000012", "text": "Thanks, bye"}
    assert (await me.call("send_message", line))["ok"]
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == started["conversation_id"])
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    assert (await inbox.call("complete_task", {"task_id": offer["task_id"]}))["ok"]
    # The widget resends a line whose acknowledgement it lost: stored once, and nobody is asked again.
    assert (await me.call("send_message", line))["ok"]
    async with client.app[DB].connect() as conn:
        tasks = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.conversation_id == started["conversation_id"]))).scalars().all()
    assert tasks == ["done"]


async def test_history_comes_in_pages_that_say_whether_older_lines_exist(client: TestClient, sockets: Sockets):
    me = await visitor(sockets, "visitor-chat-0004")
    conversation_id = (await me.call("start_chat", {"client_id": "c-100000020", "text": "line 0"}))["conversation_id"]
    for n in range(1, 50):
        assert (await me.call("send_message", {"conversation_id": conversation_id, "client_id": f"c-1000001{n:02d}", "text": f"line {n}"}))["ok"]
    exactly_one_page = await me.call("resume", {})
    assert len(exactly_one_page["messages"]) == 50 and exactly_one_page["has_more"] is False
    assert (await me.call("send_message", {"conversation_id": conversation_id, "client_id": "c-100000200", "text": "line 50"}))["ok"]
    latest = await me.call("resume", {})
    assert [m["body_text"] for m in latest["messages"]] == [f"line {n}" for n in range(1, 51)] and latest["has_more"] is True
    older = await me.call("history", {"conversation_id": conversation_id, "before": latest["messages"][0]["id"]})
    assert [m["body_text"] for m in older["messages"]] == ["line 0"] and older["has_more"] is False


async def test_a_visitor_cannot_reach_another_visitors_conversation(client: TestClient, agent: Api, sockets: Sockets):
    alice = await visitor(sockets, "visitor-chat-alice")
    mallory = await visitor(sockets, "visitor-chat-mallory")
    conversation_id = (await alice.call("start_chat", {"client_id": "c-200000001", "text": "my card number is secret"}))["conversation_id"]
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"kind": "note", "body_text": "internal: fraud check"})
    for event, payload in (("send_message", {"conversation_id": conversation_id, "client_id": "c-200000002", "text": "hi"}),
                           ("history", {"conversation_id": conversation_id}),
                           ("typing", {"conversation_id": conversation_id, "typing": True})):
        refused = await mallory.call(event, payload)
        assert (refused["ok"], refused["code"]) == (False, "not_found"), event
    history = await alice.call("history", {"conversation_id": conversation_id})
    assert [m["body_text"] for m in history["messages"]] == ["my card number is secret"]  # no internal note
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "for alice"})
    await alice.wait_for("message.created", lambda d: d["message"]["body_text"] == "for alice")
    assert not [e for e in mallory.events if "for alice" in str(e) or "secret" in str(e)]


@pytest.mark.parametrize("payload, code", [
    ({"client_id": "c-300000001"}, "invalid"),  # no text
    ({"client_id": "short", "text": "hi"}, "invalid"),
    ({"client_id": "c-300000001", "text": "x" * 5001}, "invalid"),
    ({"client_id": "c-300000001", "text": "hi", "admin": True}, "invalid"),
    ({"client_id": "c-300000001", "text": "hi", "fields": {f"f{n}": "v" for n in range(21)}}, "invalid"),
])
async def test_bad_chat_input_gets_a_clear_error(client: TestClient, sockets: Sockets, payload, code):
    me = await visitor(sockets, "visitor-chat-0003")
    refused = await me.call("start_chat", payload)
    assert refused["ok"] is False and refused["code"] == code and refused["message"]


def sign(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def test_a_signed_in_user_is_known_by_the_sites_signed_id(client: TestClient, operator: Api, sockets: Sockets):
    tid = (await operator.get("/api/v1/tenants"))["items"][0]["id"]
    secret = (await operator.post(f"/api/v1/tenants/{tid}/widget-secret"))["widget_secret"]
    signed = {"widget_key": WIDGET, "user_id": "user-42", "user_hash": sign(secret, "user-42")}
    laptop = await sockets.connect("/visitor", auth={**signed, "visitor_id": "visitor-laptop-01"})
    conversation_id = (await laptop.call("start_chat", {"client_id": "c-400000001", "text": "from my laptop"}))["conversation_id"]
    # The same user on another device continues the same chat.
    phone = await sockets.connect("/visitor", auth={**signed, "visitor_id": "visitor-phone-001"})
    again = await phone.call("start_chat", {"client_id": "c-400000002", "text": "now on my phone"})
    assert again["conversation_id"] == conversation_id
    history = await phone.call("history", {"conversation_id": conversation_id})
    assert [m["body_text"] for m in history["messages"]] == ["from my laptop", "now on my phone"]
    # Forged, unsigned, or signed with another secret: refused at the door, never merged in.
    for auth in ({"user_id": "user-42", "user_hash": sign("guess", "user-42")},
                 {"user_id": "user-42"},
                 {"user_id": "user-43", "user_hash": signed["user_hash"]}):
        refusal = await sockets.refusal("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-mallory1", **auth})
        assert "user" in refusal, auth
    # An anonymous visitor naming no user gets a conversation of their own.
    anonymous = await visitor(sockets, "visitor-anon-0001")
    other = await anonymous.call("start_chat", {"client_id": "c-400000003", "text": "hi"})
    assert other["conversation_id"] != conversation_id
    assert (await anonymous.call("history", {"conversation_id": conversation_id}))["code"] == "not_found"


async def test_with_nobody_in_the_visitor_leaves_a_message_that_waits_as_work(client: TestClient, agent: Api, sockets: Sockets):
    me = await visitor(sockets, "visitor-offline-01")
    assert await me.call("availability") == {"ok": True, "open": True, "agents_available": False}
    left = await me.call("leave_message", {"client_id": "c-500000001", "text": "Please call me back", "name": "Bo",
                                           "email": "bo@example.com"})
    assert left["ok"], left
    conversation = await agent.get(f"/api/v1/conversations/{left['conversation_id']}")
    assert conversation["attributes"]["offline"] is True and conversation["attributes"]["prechat"]["email"] == "bo@example.com"
    # The widget resends when the acknowledgement was lost: the same message, stored once.
    again = await me.call("leave_message", {"client_id": "c-500000001", "text": "Please call me back", "name": "Bo",
                                            "email": "bo@example.com"})
    assert (again["conversation_id"], again["message"]["id"]) == (left["conversation_id"], left["message"]["id"])
    contact_id = conversation["contact"]["id"]
    assert [c["id"] for c in (await agent.get(f"/api/v1/conversations?contact_id={contact_id}"))["items"]] == [left["conversation_id"]]
    # Never dropped: the first agent to come in is offered it.
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == left["conversation_id"])
    assert (await me.call("availability"))["agents_available"] is True


async def test_the_visitor_rates_the_chat(client: TestClient, agent: Api, sockets: Sockets):
    me = await visitor(sockets, "visitor-rating-01")
    conversation_id = (await me.call("start_chat", {"client_id": "c-600000001", "text": "hi"}))["conversation_id"]
    for wrong in ({"conversation_id": conversation_id, "score": 6}, {"conversation_id": conversation_id, "score": 0}):
        assert (await me.call("rate", wrong))["code"] == "invalid"
    assert (await me.call("rate", {"conversation_id": conversation_id, "score": 5, "comment": "quick <script>x</script>"}))["ok"]
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["csat"] == {"score": 5, "comment": "quick <script>x</script>"}  # stored as text
    tid = agent.tenant_id()
    rated = await agent.get(f"/api/v1/tenants/{tid}/events?type=conversation.rated")
    assert [e["data"]["csat"]["score"] for e in rated["items"]] == [5]
    stranger = await visitor(sockets, "visitor-rating-02")
    assert (await stranger.call("rate", {"conversation_id": conversation_id, "score": 1}))["code"] == "not_found"


async def test_a_visitor_who_ends_the_chat_while_waiting_has_abandoned_it(client: TestClient, agent: Api, sockets: Sockets):
    me = await visitor(sockets, "visitor-chat-0009")
    started = await me.call("start_chat", {"client_id": "c-000000091", "text": "Anyone there?"})
    conversation_id = started["conversation_id"]
    stranger = await visitor(sockets, "visitor-chat-0010")
    assert (await stranger.call("end_chat", {"conversation_id": conversation_id}))["code"] == "not_found"
    # Nobody is available: the chat waits; the visitor gives up.
    assert await me.call("end_chat", {"conversation_id": conversation_id}) == {"ok": True, "status": "closed"}
    assert (await me.wait_for("conversation.updated"))["status"] == "closed"
    async with client.app[DB].connect() as conn:
        states = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.conversation_id == conversation_id))).scalars().all()
    assert states == ["abandoned"]
    report = await agent.get(f"/api/v1/tenants/{agent.tenant_id()}/reports/traffic", params={"interval": "none", "by": "channel"})
    chat = next(row for row in report["totals"] if row["key"] == "chat")
    assert (chat["offered"], chat["handled"], chat["abandoned"]) == (1, 0, 1)
    assert (await me.call("end_chat", {"conversation_id": conversation_id}))["status"] == "closed"  # once is enough


async def test_an_agent_is_told_when_the_visitor_leaves_their_chat(client: TestClient, agent: Api, sockets: Sockets):
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    me = await visitor(sockets, "visitor-chat-0011")
    conversation_id = (await me.call("start_chat", {"client_id": "c-000000111", "text": "Hi"}))["conversation_id"]
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == conversation_id)
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"]
    assert await me.call("end_chat", {"conversation_id": conversation_id}) == {"ok": True, "status": "left"}
    said = await inbox.wait_for("message.created", lambda d: d["message"]["author_type"] == "system")
    assert said["message"]["body_text"] == "The customer left the chat."
    # The agent still holds the work, to wrap it up.
    async with client.app[DB].connect() as conn:
        state = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.id == offer["task_id"]))).scalar_one()
    assert state == "assigned"

"""What keeps a chat whole for the visitor across reloads and for the agents around it: resuming
the open chat, delivery and read receipts both ways, who joined and when it ended, the host page's
custom attributes, and which colleagues have the conversation open."""

from __future__ import annotations


from aiohttp.test_utils import TestClient

from tests.helpers import Api
from tests.realtime.support import Listener, Sockets, session_cookie

WIDGET = "demo-widget-key"


async def visitor(sockets: Sockets, visitor_id: str) -> Listener:
    return await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": visitor_id})


async def accepted_chat(sockets: Sockets, agent: Api, visitor_id: str) -> tuple[Listener, Listener, str]:
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    me = await visitor(sockets, visitor_id)
    started = await me.call("start_chat", {"client_id": "c-800000001", "text": "Hello?", "attributes": {"plan": "pro"}})
    conversation_id = started["conversation_id"]
    offer = await inbox.wait_for("task.offered", lambda d: d["conversation_id"] == conversation_id)
    assert (await inbox.call("accept_task", {"task_id": offer["task_id"]}))["ok"]
    assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"]
    return me, inbox, conversation_id


async def test_after_a_reload_the_visitor_resumes_the_open_chat(client: TestClient, agent: Api, sockets: Sockets):
    fresh = await visitor(sockets, "visitor-resume-01")
    assert await fresh.call("resume") == {"ok": True, "conversation": None, "messages": [], "has_more": False,
                                          "receipts": {"delivered": None, "read": None}}
    me, inbox, conversation_id = await accepted_chat(sockets, agent, "visitor-resume-01")
    # The visitor is told who joined, by first name only.
    joined = await me.wait_for("task.accepted")
    assert joined == {"conversation_id": conversation_id, "agent_name": "Demo"}
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "Hi, I'm here"})
    await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"kind": "note", "body_text": "VIP?"})
    reloaded = await visitor(sockets, "visitor-resume-01")
    resumed = await reloaded.call("resume")
    assert resumed["conversation"] == {"id": conversation_id, "status": "open", "agent_name": "Demo"}
    assert [m["body_text"] for m in resumed["messages"]] == ["Hello?", "Hi, I'm here"]  # never the note
    # Other visitors have nothing to resume.
    assert (await (await visitor(sockets, "visitor-resume-02")).call("resume"))["conversation"] is None
    # The agent ends the chat: the visitor is told (so the widget can ask for a rating), and
    # there is nothing left to resume.
    await agent.patch(f"/api/v1/conversations/{conversation_id}", json={"status": "closed"})
    assert await reloaded.wait_for("conversation.updated", lambda d: d["status"] == "closed") == {
        "conversation_id": conversation_id, "status": "closed"}
    assert (await reloaded.call("resume"))["conversation"] is None


async def test_receipts_travel_both_ways_and_only_move_forward(client: TestClient, agent: Api, sockets: Sockets):
    me, inbox, conversation_id = await accepted_chat(sockets, agent, "visitor-receipt-1")
    first = await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "one"})
    second = await agent.post(f"/api/v1/conversations/{conversation_id}/messages", expect=201, json={"body_text": "two"})
    # The widget got both, then showed them: the agent sees the ticks.
    assert (await me.call("receipt", {"conversation_id": conversation_id, "message_id": second["id"], "status": "delivered"}))["ok"]
    assert await inbox.wait_for("conversation.receipt") == {
        "conversation_id": conversation_id, "message_id": second["id"], "status": "delivered", "by": "contact"}
    assert (await me.call("receipt", {"conversation_id": conversation_id, "message_id": second["id"], "status": "read"}))["ok"]
    await inbox.wait_for("conversation.receipt", lambda d: d["status"] == "read")
    # An older receipt arriving late changes nothing and tells nobody.
    assert (await me.call("receipt", {"conversation_id": conversation_id, "message_id": first["id"], "status": "read"}))["ok"]
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["receipts"]["contact"] == {"delivered": second["id"], "read": second["id"]}
    assert len(inbox.got("conversation.receipt")) == 2
    # The agent reads the customer's line: the visitor sees it, without the staff's fields.
    line = (await me.call("send_message", {"conversation_id": conversation_id, "client_id": "c-800000002", "text": "thanks"}))["message"]
    assert (await inbox.call("receipt", {"conversation_id": conversation_id, "message_id": line["id"], "status": "read"}))["ok"]
    assert await me.wait_for("conversation.receipt") == {"conversation_id": conversation_id, "message_id": line["id"], "status": "read"}
    history = await me.call("history", {"conversation_id": conversation_id})
    assert history["receipts"] == {"delivered": line["id"], "read": line["id"]}
    # Receipts name messages of that conversation only, and only its own visitor may send them.
    assert (await me.call("receipt", {"conversation_id": conversation_id, "message_id": "nope", "status": "read"}))["code"] == "not_found"
    stranger = await visitor(sockets, "visitor-receipt-2")
    assert (await stranger.call("receipt", {"conversation_id": conversation_id, "message_id": line["id"],
                                            "status": "read"}))["code"] == "not_found"


async def test_the_host_pages_attributes_reach_the_agent(client: TestClient, agent: Api, sockets: Sockets):
    me, _, conversation_id = await accepted_chat(sockets, agent, "visitor-attrs-001")
    assert (await me.call("set_attributes", {"attributes": {"cart": "3 items", "plan": "team"}}))["ok"]
    conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["attributes"]["custom"] == {"plan": "team", "cart": "3 items"}
    too_many = {f"k{n}": "v" for n in range(21)}
    assert (await me.call("set_attributes", {"attributes": too_many}))["code"] == "invalid"
    # Before any chat, nothing is stored yet (the widget sends them with start_chat).
    assert await (await visitor(sockets, "visitor-attrs-002")).call("set_attributes", {"attributes": {"a": "b"}}) == {
        "ok": True, "conversation_id": None}


async def test_agents_see_who_else_has_the_conversation_open(client: TestClient, agent: Api, operator: Api, sockets: Sockets):
    _, inbox, conversation_id = await accepted_chat(sockets, agent, "visitor-viewers-1")
    colleague = await sockets.connect("/agent", cookie=session_cookie(operator))
    joined = await colleague.call("join_conversation", {"conversation_id": conversation_id})
    names = sorted(v["name"] for v in joined["viewers"])
    assert len(names) == 2 and "Demo Agent" in names
    seen = await inbox.wait_for("conversation.viewers", lambda d: len(d["viewers"]) == 2)
    assert seen["conversation_id"] == conversation_id
    # Leaving (or closing the inbox) takes them off the list.
    await colleague.sio.disconnect()
    left = await inbox.wait_for("conversation.viewers", lambda d: len(d["viewers"]) == 1)
    assert [v["name"] for v in left["viewers"]] == ["Demo Agent"]

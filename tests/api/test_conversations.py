"""The inbox's conversation API: list and filter, search, paginate, reply, note, assign."""

from __future__ import annotations

from typing import Any

from gateway.core.contacts import identify_contact
from gateway.core.conversations import append_message, enqueue_task, open_conversation
from gateway.keys import DB, EVENTS
from tests.helpers import Api
from tests.realtime.support import Sockets, add_member
from tests.routing.test_service import inbox, incoming


async def customer_writes(app: Any, tenant_id: str, email: str, channel: str, text: str, subject: str = "") -> str:
    """A customer reaching the tenant through a channel, the way a channel adapter records it."""
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "email", email, name=email.split("@")[0])
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, channel, subject=subject)
        appended = await append_message(conn, tenant_id, conversation_id, kind="message", author_type="contact",
                                        author_id=contact.contact_id, body_text=text)
    await app[EVENTS].publish(*contact.events, opened, *appended.events)
    return conversation_id


async def test_list_filters_by_channel_status_assignee_and_text(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    chat = await customer_writes(app, tid, "ann@x.example", "chat", "my parcel never arrived")
    mail = await customer_writes(app, tid, "bob@x.example", "email", "invoice 7731 is wrong", subject="Invoice question")
    await agent.patch(f"/api/v1/conversations/{mail}", json={"assignee_id": agent.me["user"]["id"]})

    def ids(page: dict[str, Any]) -> list[str]:
        return [c["id"] for c in page["items"]]

    assert ids(await agent.get("/api/v1/conversations")) == [mail, chat]  # most recently active first
    assert ids(await agent.get("/api/v1/conversations?channel=chat")) == [chat]
    assert ids(await agent.get("/api/v1/conversations?assignee=me")) == [mail]
    assert ids(await agent.get("/api/v1/conversations?assignee=none")) == [chat]
    assert ids(await agent.get("/api/v1/conversations?q=PARCEL")) == [chat]  # message text, any case
    assert ids(await agent.get("/api/v1/conversations?q=invoice%20question")) == [mail]  # subject
    assert ids(await agent.get("/api/v1/conversations?q=100%25")) == []  # % is literal, not a wildcard
    await agent.patch(f"/api/v1/conversations/{chat}", json={"status": "closed"})
    assert ids(await agent.get("/api/v1/conversations?status=closed")) == [chat]
    listed = (await agent.get(f"/api/v1/conversations?contact_id={(await agent.get(f'/api/v1/conversations/{chat}'))['contact']['id']}"))
    assert ids(listed) == [chat]
    assert listed["items"][0]["contact"]["name"] == "ann"


async def test_cursor_pagination_walks_every_conversation_once(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    made = [await customer_writes(app, tid, f"c{i}@x.example", "chat", f"hello {i}") for i in range(7)]
    seen: list[str] = []
    url = "/api/v1/conversations?limit=3"
    while True:
        page = await agent.get(url)
        seen += [c["id"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        url = f"/api/v1/conversations?limit=3&cursor={page['next_cursor']}"
    assert seen == list(reversed(made))
    resp = await agent.request("GET", "/api/v1/conversations?cursor=garbage")
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_cursor"


async def test_reply_and_note_and_a_retried_send_is_stored_once(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    conversation = await customer_writes(app, tid, "ann@x.example", "chat", "hi")
    url = f"/api/v1/conversations/{conversation}/messages"
    first = await agent.post(url, expect=201, json={"body_text": "Hello Ann!", "client_id": "c-1"})
    again = await agent.post(url, expect=200, json={"body_text": "Hello Ann!", "client_id": "c-1"})
    assert again["id"] == first["id"]
    await agent.post(url, expect=201, json={"body_text": "VIP, be nice", "kind": "note"})
    messages = (await agent.get(url))["items"]
    assert [(m["author_type"], m["kind"], m["body_text"]) for m in messages] == [
        ("contact", "message", "hi"), ("agent", "message", "Hello Ann!"), ("agent", "note", "VIP, be nice")]
    assert [m["body_text"] for m in (await agent.get(url + "?kind=note"))["items"]] == ["VIP, be nice"]
    page = await agent.get(url + "?limit=2")
    rest = await agent.get(url + f"?limit=2&cursor={page['next_cursor']}")
    assert [m["id"] for m in page["items"] + rest["items"]] == [m["id"] for m in messages]


async def test_replies_are_text_and_html_never_gets_through(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    conversation = await customer_writes(app, tid, "eve@x.example", "chat", "<img src=x onerror=alert(1)>")
    messages = (await agent.get(f"/api/v1/conversations/{conversation}/messages"))["items"]
    # Stored as the text the customer typed; body_html stays empty for plain messages.
    assert messages[0]["body_text"] == "<img src=x onerror=alert(1)>"
    assert messages[0]["body_html"] is None


async def test_bad_input_gets_clear_errors(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    conversation = await customer_writes(app, tid, "ann@x.example", "chat", "hi")
    url = f"/api/v1/conversations/{conversation}/messages"
    resp = await agent.request("POST", url, json={"body_text": ""})
    body = await resp.json()
    assert resp.status == 422 and body["code"] == "validation_error" and body["details"][0]["field"] == "body_text"
    resp = await agent.request("POST", url, json={"body_text": "x", "surprise": 1})
    assert resp.status == 422 and (await resp.json())["details"][0]["field"] == "surprise"
    resp = await agent.request("POST", url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_json"
    resp = await agent.request("POST", url, json={"body_text": "x" * 2_000_000})
    assert resp.status == 413 and (await resp.json())["code"] == "payload_too_large"
    resp = await agent.request("PATCH", f"/api/v1/conversations/{conversation}", json={"assignee_id": "someone-else"})
    assert resp.status == 422 and (await resp.json())["code"] == "unknown_assignee"
    resp = await agent.request("GET", "/api/v1/conversations?limit=5000")
    assert resp.status == 422
    resp = await agent.request("GET", "/api/v1/no-such-route")
    assert resp.status == 404 and (await resp.json())["code"] == "not_found"


async def test_closed_conversation_takes_notes_but_not_replies(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    conversation = await customer_writes(app, tid, "ann@x.example", "chat", "hi")
    await agent.patch(f"/api/v1/conversations/{conversation}", json={"status": "closed"})
    url = f"/api/v1/conversations/{conversation}/messages"
    resp = await agent.request("POST", url, json={"body_text": "late reply"})
    assert resp.status == 409 and (await resp.json())["code"] == "conversation_closed"
    await agent.post(url, expect=201, json={"body_text": "follow up next week", "kind": "note"})


async def test_changes_are_domain_events(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    seen: list[Any] = []

    async def listen(event: Any) -> None:
        seen.append(event)

    app[EVENTS].subscribe(listen)
    conversation = await customer_writes(app, tid, "ann@x.example", "chat", "hi")
    await agent.post(f"/api/v1/conversations/{conversation}/messages", expect=201, json={"body_text": "note", "kind": "note"})
    await agent.patch(f"/api/v1/conversations/{conversation}", json={"status": "pending"})
    types = [e.type for e in seen]
    assert types == ["contact.created", "conversation.created", "message.created", "message.created", "conversation.updated"]
    assert seen[3].audience == "internal"  # a note is never for the customer
    assert seen[2].audience == "public"
    assert seen[-1].data["status"] == "pending"


async def test_work_transferred_away_is_no_longer_the_agents(client, agent: Api, operator: Api, sockets: Sockets):
    app, tid = client.app, agent.tenant_id()
    colleague = await add_member(client, operator, tid, "colleague@demo.example", "agent")
    me = await inbox(sockets, agent)
    conversation_id, task_id = await incoming(app, tid, "visitor-xfer-1")
    await me.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    assert (await me.call("accept_task", {"task_id": task_id}))["ok"]
    mine = await agent.get("/api/v1/conversations?assignee=me")
    assert [c["id"] for c in mine["items"]] == [conversation_id]
    queue = await operator.post(f"/api/v1/tenants/{tid}/queues", 201, json={"name": "Billing"})

    # Handed to a queue where nobody is free: it waits, nobody's.
    assert (await me.call("transfer_task", {"task_id": task_id, "queue_id": queue["id"]}))["ok"]
    assert (await agent.get("/api/v1/conversations?assignee=me"))["items"] == []
    assert [c["id"] for c in (await agent.get("/api/v1/conversations?assignee=none"))["items"]] == [conversation_id]
    assert (await agent.get(f"/api/v1/conversations/{conversation_id}"))["assignee_id"] is None

    # A colleague takes it: theirs, in every list.
    other = await inbox(sockets, colleague)
    await other.wait_for("task.offered", lambda d: d["task_id"] == task_id)
    assert (await other.call("accept_task", {"task_id": task_id}))["ok"]
    colleague_id = colleague.me["user"]["id"]
    assert (await agent.get(f"/api/v1/conversations/{conversation_id}"))["assignee_id"] == colleague_id
    assert [c["id"] for c in (await colleague.get("/api/v1/conversations?assignee=me"))["items"]] == [conversation_id]
    assert [c["id"] for c in (await agent.get(f"/api/v1/conversations?assignee={colleague_id}"))["items"]] == [conversation_id]
    assert (await agent.get("/api/v1/conversations?assignee=none"))["items"] == []

    # Handed back to the first agent directly: theirs again once they take it.
    assert (await other.call("transfer_task", {"task_id": task_id, "agent_id": agent.me["user"]["id"]}))["ok"]
    assert (await colleague.get("/api/v1/conversations?assignee=me"))["items"] == []
    await me.wait_for("task.offered", lambda d: d["task_id"] == task_id and len(me.got("task.offered")) > 1)
    assert (await me.call("accept_task", {"task_id": task_id}))["ok"]
    assert [c["id"] for c in (await agent.get("/api/v1/conversations?assignee=me"))["items"]] == [conversation_id]


async def test_an_offer_withdrawn_from_another_agent_leaves_the_assignee(client, agent: Api, operator: Api, sockets: Sockets):
    # Only the agent who had the work loses the conversation: an offer to someone else that was
    # withdrawn (they went away before answering) must not take it from its assignee.
    app, tid = client.app, agent.tenant_id()
    colleague = await add_member(client, operator, tid, "colleague2@demo.example", "agent")
    await operator.put(f"/api/v1/tenants/{tid}/routing/settings", json={"sticky_seconds": 0})  # offered to whoever is free
    me = await inbox(sockets, agent)
    conversation_id, first = await incoming(app, tid, "visitor-xfer-2")
    await me.wait_for("task.offered", lambda d: d["task_id"] == first)
    assert (await me.call("accept_task", {"task_id": first}))["ok"]
    assert (await me.call("complete_task", {"task_id": first}))["ok"]
    assert (await me.call("presence", {"status": "away"}))["ok"]
    other = await inbox(sockets, colleague)
    async with app[DB].begin() as conn:
        second, queued = await enqueue_task(conn, tid, conversation_id, "chat")
    await app[EVENTS].publish(*queued)
    await other.wait_for("task.offered", lambda d: d["task_id"] == second)
    assert (await other.call("presence", {"status": "away"}))["ok"]  # the offer is withdrawn, unanswered
    assert (await agent.get(f"/api/v1/conversations/{conversation_id}"))["assignee_id"] == agent.me["user"]["id"]

"""Co-browsing over the sockets, on a running gateway with real Redis: the conversation's agent asks,
the visitor's widget is asked and consents (or declines), the page's batches reach the agent and
supervisors only, a late joiner catches up from the page's latest full snapshot, either side can stop
at once, and every step is on the conversation's record."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway import cobrowse as sessions_module
from gateway.config import Config
from gateway.core.contacts import identify_contact
from gateway.core.conversations import conversation_json, open_conversation
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import DB, EVENTS
from tests.helpers import Api
from tests.realtime.support import Sockets, add_member, new_tenant, session_cookie, visitor_conversation
from tests.realtime.test_visitor import widget

PAGE = "page-stream-0001"  # the recorder's stream id: one page, in one tab
META = {"type": 4, "data": {"href": "https://shop.example/cart", "width": 1280, "height": 720}, "timestamp": 1}
FULL = {"type": 2, "data": {"node": {"type": 0, "childNodes": [], "id": 1}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": 2}


def moved(n: int) -> dict:
    return {"type": 3, "data": {"source": 1, "positions": [{"x": n, "y": n, "id": 1, "timeOffset": 0}]}, "timestamp": 10 + n}


async def assigned_to(client: TestClient, conversation_id: str, user_id: str) -> None:
    async with client.app[DB].begin() as conn:
        await conn.execute(sa.update(t.conversations).where(t.conversations.c.id == conversation_id).values(assignee_id=user_id))


async def audit(client: TestClient, conversation_id: str) -> list[tuple[str, dict]]:
    async with client.app[DB].connect() as conn:
        rows = (await conn.execute(sa.select(t.events.c.type, t.events.c.data).where(
            t.events.c.conversation_id == conversation_id, t.events.c.type.like("cobrowse.%")).order_by(t.events.c.id))).all()
    return [(row.type, row.data) for row in rows]


async def test_the_agent_asks_the_visitor_consents_and_the_page_reaches_the_agent_and_supervisors_only(
        client: TestClient, sockets: Sockets, config: Config, agent: Api, operator: Api) -> None:
    tenant_id = agent.tenant_id()
    conversation_id = await visitor_conversation(client.app, tenant_id, "cobrowse-visitor-1")
    ann = await add_member(client, operator, tenant_id, "ann@demo.example", "agent")
    bob = await add_member(client, operator, tenant_id, "bob@demo.example", "agent")
    await assigned_to(client, conversation_id, ann.me["user"]["id"])
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-1"))
    ann_inbox = await sockets.connect("/agent", cookie=session_cookie(ann))
    bob_inbox = await sockets.connect("/agent", cookie=session_cookie(bob))

    assert (await bob_inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["code"] == "not_yours"
    asked = await ann_inbox.call("cobrowse_request", {"conversation_id": conversation_id})
    assert asked["ok"] and asked["state"] == "asked"
    session_id = asked["session_id"]
    prompt = await visitor.wait_for("cobrowse.requested")
    assert prompt == {"conversation_id": conversation_id, "session_id": session_id, "agent_name": ann.me["user"]["name"].split(" ")[0]}
    again = await ann_inbox.call("cobrowse_request", {"conversation_id": conversation_id})
    assert again["session_id"] == session_id  # one session per conversation

    # Nothing flows before consent; then the page does, to the agent in the session's room.
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [META]}))["code"] == "not_active"
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["ok"]
    joined = await ann_inbox.call("cobrowse_join", {"session_id": session_id})
    assert joined["ok"] and joined["state"] == "active" and joined["batches"] == []
    assert (await bob_inbox.call("cobrowse_join", {"session_id": session_id}))["code"] == "not_found"  # not his conversation
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META, FULL]}))["ok"]
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [moved(1)]}))["ok"]
    first = await ann_inbox.wait_for("cobrowse.batch")
    assert first == {"session_id": session_id, "stream": PAGE, "seq": 1, "snapshot": True, "sent": 0, "events": [META, FULL]}
    assert bob_inbox.got("cobrowse.batch") == []

    # A supervisor who joins late starts from the page's latest full snapshot, and from the page's
    # clock now (its batches say what it is; this page's runs an hour ahead of ours).
    ahead = round(time.time() * 1000) + 3_600_000
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [moved(2)], "sent": ahead}))["ok"]
    supervisor = await sockets.connect("/agent", cookie=session_cookie(agent))
    late = await supervisor.call("cobrowse_join", {"session_id": session_id})
    assert [b["events"] for b in late["batches"]] == [[META, FULL], [moved(1)], [moved(2)]]
    assert ahead <= late["page_now"] < ahead + 5_000
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META, FULL]}))["ok"]
    assert [b["events"] for b in (await supervisor.call("cobrowse_join", {"session_id": session_id}))["batches"]] == [[META, FULL]]

    # The visitor stops it: everyone hears so at once, and nothing more is relayed.
    assert (await visitor.call("cobrowse_stop", {"session_id": session_id}))["ok"]
    assert (await ann_inbox.wait_for("cobrowse.stopped"))["by"] == "visitor"
    assert (await visitor.wait_for("cobrowse.stopped"))["by"] == "visitor"
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [moved(2)]}))["code"] == "not_active"
    assert [kind for kind, _ in await audit(client, conversation_id)] == ["cobrowse.requested", "cobrowse.started", "cobrowse.stopped"]


async def test_a_declined_request_streams_nothing_and_another_visitor_cant_answer_it(
        client: TestClient, sockets: Sockets, config: Config, agent: Api) -> None:
    tenant_id = agent.tenant_id()
    conversation_id = await visitor_conversation(client.app, tenant_id, "cobrowse-visitor-2")
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    session_id = (await inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["session_id"]
    stranger = await sockets.connect("/visitor", auth=widget(config, "someone-else-0003"))
    assert (await stranger.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["code"] == "not_found"
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-2"))
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": False}))["ok"]
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["code"] == "not_asked"
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [META]}))["code"] == "not_active"
    assert [kind for kind, _ in await audit(client, conversation_id)] == ["cobrowse.requested", "cobrowse.declined"]
    # A new request may be made after a refusal.
    assert (await inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["session_id"] != session_id


async def test_batches_are_checked_and_a_page_that_changed_a_lot_is_asked_for_a_new_snapshot(
        client: TestClient, sockets: Sockets, config: Config, agent: Api, monkeypatch) -> None:
    monkeypatch.setattr(sessions_module, "MAX_KEPT_BATCHES", 3)
    conversation_id = await visitor_conversation(client.app, agent.tenant_id(), "cobrowse-visitor-4")
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    session_id = (await inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["session_id"]
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-4"))
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["ok"]
    both = await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [META],
                                                 "part": {"id": "p1", "index": 0, "count": 1, "text": "{}"}})
    assert both["code"] == "invalid"
    too_long = await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True,
                                                     "part": {"id": "p2", "index": 0, "count": 2, "text": "x" * 100_001}})
    assert too_long["code"] == "invalid"
    # A snapshot too large for one message goes in parts, kept and relayed as they come.
    for index in range(2):
        part = {"id": "snap-1", "index": index, "count": 2, "text": '[{"type":4}' if index == 0 else ',{"type":2}]'}
        assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "part": part}))["ok"]
    kept = (await inbox.call("cobrowse_join", {"session_id": session_id}))["batches"]
    assert [b["part"]["index"] for b in kept] == [0, 1]
    answers = [await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [moved(n)]}) for n in range(3)]
    assert answers[0] == {"ok": True} and answers[-1] == {"ok": True, "resnapshot": True}


async def phone_conversation(client: TestClient, tenant_id: str, number: str) -> str:
    """A caller's conversation: no web visitor behind it, so the page can only come by code."""
    async with client.app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "phone", number)
        conversation_id, _ = await open_conversation(conn, tenant_id, contact.contact_id, "voice")
    return conversation_id


async def test_the_agent_points_and_with_a_second_consent_acts_on_the_page_until_the_visitor_takes_it_back(
        client: TestClient, sockets: Sockets, config: Config, agent: Api, operator: Api) -> None:
    tenant_id = agent.tenant_id()
    conversation_id = await visitor_conversation(client.app, tenant_id, "cobrowse-visitor-5")
    ann = await add_member(client, operator, tenant_id, "ann5@demo.example", "agent")
    await assigned_to(client, conversation_id, ann.me["user"]["id"])
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-5"))
    inbox = await sockets.connect("/agent", cookie=session_cookie(ann))
    session_id = (await inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["session_id"]
    pointing = {"session_id": session_id, "stream": PAGE, "node": 12, "x": 0.25, "y": 0.5}
    assert (await inbox.call("cobrowse_pointer", pointing))["code"] == "not_active"  # not joined, nothing shared yet
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["ok"]
    assert (await inbox.call("cobrowse_join", {"session_id": session_id}))["control"] == ""

    # Pointing needs no second consent; the visitor's widget draws it at the node.
    assert (await inbox.call("cobrowse_pointer", {**pointing, "highlight": True}))["ok"]
    assert await visitor.wait_for("cobrowse.pointer") == {**pointing, "highlight": True, "hide": False}
    assert (await inbox.call("cobrowse_pointer", {**pointing, "x": 2}))["code"] == "invalid"

    # Acting does: nothing reaches the page until the visitor grants control.
    click = {"session_id": session_id, "stream": PAGE, "kind": "click", "node": 12, "x": 0.5, "y": 0.5}
    assert (await inbox.call("cobrowse_action", click))["code"] == "no_control"
    assert (await inbox.call("cobrowse_control", {"session_id": session_id, "want": True})) == {"ok": True, "control": "asked"}
    asked = await visitor.wait_for("cobrowse.control")
    assert asked == {"session_id": session_id, "control": "asked", "by": "agent", "agent_name": ann.me["user"]["name"].split(" ")[0]}
    assert (await inbox.call("cobrowse_action", click))["code"] == "no_control"
    assert (await visitor.call("cobrowse_grant", {"session_id": session_id, "grant": True}))["ok"]
    assert (await inbox.wait_for("cobrowse.control", lambda c: c["control"] == "granted"))["by"] == "visitor"
    assert (await inbox.call("cobrowse_action", click))["ok"]
    assert (await visitor.wait_for("cobrowse.action"))["kind"] == "click"
    assert (await inbox.call("cobrowse_action", {"session_id": session_id, "stream": PAGE, "kind": "navigate", "url": "javascript:alert(1)"}))["code"] == "invalid"
    assert (await inbox.call("cobrowse_action", {"session_id": session_id, "stream": PAGE, "kind": "input", "value": "x"}))["code"] == "invalid"

    # The visitor takes it back at once: the next action is refused.
    assert (await visitor.call("cobrowse_grant", {"session_id": session_id, "grant": False}))["ok"]
    assert (await inbox.call("cobrowse_action", click))["code"] == "no_control"
    assert (await inbox.wait_for("cobrowse.control", lambda c: c["control"] == ""))["by"] == "visitor"
    assert [kind for kind, _ in await audit(client, conversation_id)] == [
        "cobrowse.requested", "cobrowse.started", "cobrowse.control_requested", "cobrowse.control_granted", "cobrowse.control_ended"]

    # The page moved on to another of the site's pages: the agent is told it went; the same browser
    # carries on, others can't.
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META, FULL]}))["ok"]
    await visitor.sio.disconnect()
    assert (await inbox.wait_for("cobrowse.away"))["session_id"] == session_id
    reloaded = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-5"))
    resumed = await reloaded.call("cobrowse_resume", {"session_id": session_id})
    assert resumed == {"ok": True, "state": "active", "agent_name": asked["agent_name"], "control": ""}
    stranger = await sockets.connect("/visitor", auth=widget(config, "someone-else-0005"))
    assert (await stranger.call("cobrowse_resume", {"session_id": session_id}))["code"] == "not_active"
    assert (await inbox.call("cobrowse_stop", {"session_id": session_id}))["ok"]
    assert (await reloaded.call("cobrowse_resume", {"session_id": session_id}))["code"] == "not_active"
    assert (await inbox.call("cobrowse_pointer", pointing))["code"] == "not_active"


async def test_a_visitor_reads_out_a_code_and_the_agent_on_the_call_sees_their_page(
        client: TestClient, sockets: Sockets, config: Config, agent: Api, operator: Api) -> None:
    tenant_id = agent.tenant_id()
    call = await phone_conversation(client, tenant_id, "+4930901820")
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("cobrowse_request", {"conversation_id": call}))["code"] == "no_visitor"
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-6"))
    offered = await visitor.call("cobrowse_code", {})
    assert offered["ok"] and len(offered["code"]) == 6 and offered["expires_in"] == sessions_module.CODE_SECONDS
    session_id = offered["session_id"]
    # Waiting for the agent, the page changes: the code is still there on the next page.
    assert (await visitor.call("cobrowse_resume", {"session_id": session_id}))["code"] == offered["code"]
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [META]}))["code"] == "not_active"

    wrong = "000000" if offered["code"] != "000000" else "111111"
    assert (await inbox.call("cobrowse_claim", {"conversation_id": call, "code": wrong}))["code"] == "bad_code"
    assert (await inbox.call("cobrowse_claim", {"conversation_id": call, "code": "12a"}))["code"] == "invalid"
    # Another business's agent can't use this tenant's code, even on a conversation of their own.
    tenant_b, agent_b = await new_tenant(client, operator, "otherco", role="supervisor")
    other_call = await phone_conversation(client, tenant_b["id"], "+4930901821")
    other_inbox = await sockets.connect("/agent", cookie=session_cookie(agent_b))
    assert (await other_inbox.call("cobrowse_claim", {"conversation_id": other_call, "code": offered["code"]}))["code"] == "bad_code"
    assert (await other_inbox.call("cobrowse_claim", {"conversation_id": call, "code": offered["code"]}))["code"] == "not_found"

    claimed = await inbox.call("cobrowse_claim", {"conversation_id": call, "code": offered["code"]})
    assert claimed == {"ok": True, "session_id": session_id, "state": "active"}
    started = await visitor.wait_for("cobrowse.started")
    assert started["session_id"] == session_id and started["agent_name"] == agent.me["user"]["name"].split(" ")[0]
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META, FULL]}))["ok"]
    assert (await inbox.wait_for("cobrowse.batch"))["events"] == [META, FULL]  # claiming joined the session's room
    assert (await inbox.call("cobrowse_claim", {"conversation_id": call, "code": offered["code"]}))["code"] == "bad_code"  # used
    another = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-6b"))
    fresh = (await another.call("cobrowse_code", {}))["code"]
    assert (await inbox.call("cobrowse_claim", {"conversation_id": call, "code": fresh}))["code"] == "busy"
    assert (await visitor.call("cobrowse_stop", {"session_id": session_id}))["ok"]
    assert (await visitor.wait_for("cobrowse.stopped"))["by"] == "visitor"
    assert [(kind, data.get("by_code")) for kind, data in await audit(client, call)] == [
        ("cobrowse.started", True), ("cobrowse.stopped", None)]
    assert (await inbox.call("cobrowse_claim", {"conversation_id": call, "code": offered["code"]}))["code"] == "bad_code"


async def test_a_business_that_turned_co_browsing_off_is_never_asked(
        client: TestClient, sockets: Sockets, config: Config, agent: Api, operator: Api) -> None:
    tenant_id = agent.tenant_id()
    await operator.put(f"/api/v1/tenants/{tenant_id}/widget/settings", json={"cobrowse": {"enabled": False}})
    conversation_id = await visitor_conversation(client.app, tenant_id, "cobrowse-visitor-7")
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["code"] == "disabled"
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-7"))
    assert (await visitor.call("cobrowse_code", {}))["code"] == "disabled"


async def handed_over(client: TestClient, conversation_id: str, assignee_id: str | None, status: str = "open") -> None:
    """What a transfer (or a close) does to the conversation, as the rest of the gateway hears it."""
    app = client.app
    async with app[DB].begin() as conn:
        await conn.execute(sa.update(t.conversations).where(t.conversations.c.id == conversation_id).values(
            assignee_id=assignee_id, status=status))
        row = (await conn.execute(
            sa.select(t.conversations, t.contacts.c.name.label("contact_name")).join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
            .where(t.conversations.c.id == conversation_id))).one()
        event = await record_event(conn, "conversation.updated", row.tenant_id, conversation_json(row, row.contact_name),
                                   conversation_id=conversation_id)
    await app[EVENTS].publish(event)


async def test_the_page_follows_the_conversation_to_its_new_agent_and_ends_when_it_closes(
        client: TestClient, sockets: Sockets, config: Config, agent: Api, operator: Api) -> None:
    tenant_id = agent.tenant_id()
    conversation_id = await visitor_conversation(client.app, tenant_id, "cobrowse-visitor-8")
    ann = await add_member(client, operator, tenant_id, "ann8@demo.example", "agent")
    bob = await add_member(client, operator, tenant_id, "bob8@demo.example", "agent")
    await assigned_to(client, conversation_id, ann.me["user"]["id"])
    visitor = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-8"))
    ann_inbox = await sockets.connect("/agent", cookie=session_cookie(ann))
    bob_inbox = await sockets.connect("/agent", cookie=session_cookie(bob))
    for inbox in (ann_inbox, bob_inbox):
        assert (await inbox.call("join_conversation", {"conversation_id": conversation_id}))["ok"] is not False
    session_id = (await ann_inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["session_id"]
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["ok"]
    assert (await ann_inbox.call("cobrowse_join", {"session_id": session_id}))["ok"]

    # Ann has control of the page when she transfers the chat to Bob: she is out of the page's room,
    # he may come in, and control goes back to the visitor (who let Ann act, not whoever is next).
    assert (await ann_inbox.call("cobrowse_control", {"session_id": session_id, "want": True}))["ok"]
    assert (await visitor.call("cobrowse_grant", {"session_id": session_id, "grant": True}))["ok"]
    supervisor = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await supervisor.call("cobrowse_join", {"session_id": session_id}))["control"] == "granted"
    click = {"session_id": session_id, "stream": PAGE, "kind": "click", "node": 4}
    assert (await supervisor.call("cobrowse_action", click))["code"] == "no_control"  # granted to Ann, not to all who watch
    await handed_over(client, conversation_id, bob.me["user"]["id"])
    assert (await ann_inbox.wait_for("cobrowse.recheck"))["session_id"] == session_id
    told = await visitor.wait_for("cobrowse.control", lambda c: c["by"] == "transfer")
    assert told["control"] == "" and told["agent_name"] == bob.me["user"]["name"].split(" ")[0]
    assert (await ann_inbox.call("cobrowse_join", {"session_id": session_id}))["code"] == "not_found"
    assert (await ann_inbox.call("cobrowse_pointer", {"session_id": session_id, "stream": PAGE, "node": 3}))["code"] == "not_active"
    # Every inbox in the room is told to join again, a moment later (as the inbox does: the room
    # closes on every process first); the supervisor gets back in.
    await supervisor.wait_for("cobrowse.recheck")
    await asyncio.sleep(0.3)
    assert (await supervisor.call("cobrowse_join", {"session_id": session_id}))["ok"]
    assert (await bob_inbox.call("cobrowse_join", {"session_id": session_id}))["control"] == ""
    assert (await bob_inbox.call("cobrowse_action", click))["code"] == "no_control"
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META, FULL]}))["ok"]
    assert (await bob_inbox.wait_for("cobrowse.batch"))["events"] == [META, FULL]
    assert (await supervisor.wait_for("cobrowse.batch"))["events"] == [META, FULL]  # the recheck let him back in
    assert ann_inbox.got("cobrowse.batch") == []
    assert "cobrowse.control_ended" in [kind for kind, _ in await audit(client, conversation_id)]

    # The conversation closes: so does the session, for both sides.
    await handed_over(client, conversation_id, None, status="closed")
    assert (await bob_inbox.wait_for("cobrowse.stopped"))["by"] == "closed"
    assert (await visitor.wait_for("cobrowse.stopped"))["by"] == "closed"
    assert (await visitor.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [moved(1)]}))["code"] == "not_active"


async def test_one_page_streams_at_a_time_and_the_agent_acts_only_on_the_page_shown(
        client: TestClient, sockets: Sockets, config: Config, agent: Api) -> None:
    conversation_id = await visitor_conversation(client.app, agent.tenant_id(), "cobrowse-visitor-9")
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    session_id = (await inbox.call("cobrowse_request", {"conversation_id": conversation_id}))["session_id"]
    first_tab = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-9"))
    assert (await first_tab.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["ok"]
    assert (await first_tab.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META, FULL]}))["ok"]
    assert (await inbox.call("cobrowse_join", {"session_id": session_id}))["stream"] == PAGE

    # The same visitor's other tab (or their next page) resumes and sends its own snapshot: it takes
    # over, and the first tab's batches are refused from then on (its widget stops recording).
    other = "page-stream-0002"
    second_tab = await sockets.connect("/visitor", auth=widget(config, "cobrowse-visitor-9"))
    assert (await second_tab.call("cobrowse_resume", {"session_id": session_id}))["ok"]
    assert (await second_tab.call("cobrowse_batch", {"session_id": session_id, "stream": other, "snapshot": True, "events": [META, FULL]}))["ok"]
    refused = await first_tab.call("cobrowse_batch", {"session_id": session_id, "stream": PAGE, "events": [moved(1)]})
    assert refused["code"] == "superseded"
    relayed = await inbox.wait_for("cobrowse.batch", lambda b: b["stream"] == other)
    assert relayed["seq"] == 2  # numbered per session: a late joiner plays each once
    # The gone page's disconnect does not make the agent think the page went away.
    await first_tab.sio.disconnect()
    assert (await inbox.call("cobrowse_pointer", {"session_id": session_id, "stream": other, "node": 3}))["ok"]
    await second_tab.wait_for("cobrowse.pointer")
    assert inbox.got("cobrowse.away") == []
    # Pointer and actions carry the page they were aimed at: the widget drops those for another.
    assert (await second_tab.wait_for("cobrowse.pointer"))["stream"] == other

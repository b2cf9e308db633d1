"""Tenant isolation over the sockets, with real socket.io clients on a running gateway: the admin and
a supervisor of tenant A (alpha), and a shared agent (A's tenant admin who is a plain agent of B),
try every event that names a tenant, conversation, task, co-browsing session or call of tenant B (the
demo tenant). Each is refused, and B's events reach B's supervisor but none of A's sockets.

The events tried, by namespace (gateway/realtime/*.py, channels/voice/channel.py):
  /supervisor  connect (the rooms come from the session: only the tenants one supervises),
               queue_snapshot {tenant_id}
  /agent       join_conversation {conversation_id, view: true | false}, leave_conversation, receipt,
               typing; accept_task, reject_task, wrapup_task, complete_task, transfer_task {task_id};
               cobrowse_request, cobrowse_claim {conversation_id}; cobrowse_join, cobrowse_control,
               cobrowse_pointer, cobrowse_action, cobrowse_stop {session_id};
               call_monitor {call_id, mode: listen | whisper | barge}, call_monitor_mode,
               call_monitor_leave, call_answer, call_hold, call_mute, call_recording, call_hangup,
               call_transfer, call_consult, call_consult_answer, call_consult_decline,
               call_consult_cancel, call_consult_complete {call_id}; call_dial {tenant_id}
Rooms they would get into: tenant:{B} on /agent and /supervisor, conversation:{B's}, cobrowse:{B's
session}, and a supervisor's media leg on B's call. B's events that must not reach A: messages
and internal notes, task.offered / task.accepted, conversation.created, co-browsing batches,
supervision of B's call. A's own event sent after B's shows A's sockets would have had them by then.
The shared agent's /agent socket hears B's conversations and work as B's agent (by design) but its
/supervisor socket does not; A's live views (queue_snapshot, wallboard, routing snapshot) show the
shared agent without the work they hold for B.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api
from tests.media.support import ClientPeer
from tests.realtime.support import (
    PASSWORD, Listener, Sockets, add_member, new_tenant, post_message, session_cookie, visitor_conversation,
)

PAGE = "page-stream-0001"
META = {"type": 4, "data": {"href": "https://shop.example/bravo-secret-page", "width": 1280, "height": 720}, "timestamp": 1}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                       channels={"chat": {"enabled": True}, "voice": {"enabled": True}},
                       media={"workers": 1, "connect_timeout_seconds": 3})


@pytest.fixture
async def peers() -> AsyncIterator[list[ClientPeer]]:
    made: list[ClientPeer] = []
    yield made
    for peer in made:
        await peer.close()


@dataclass
class World:
    a_id: str
    b_id: str
    intruders: dict[str, Api]  # A's admin and A's supervisor: no membership in B at all
    shared: Api  # A's tenant admin, and a plain agent of B
    b_supervisor: Api  # the demo agent: B's supervisor
    b_agent: Api


async def make_world(client: TestClient, operator: Api, agent: Api) -> World:
    alpha, a_admin = await new_tenant(client, operator, "alpha", role="tenant_admin")
    a_supervisor = await add_member(client, operator, alpha["id"], "supervisor@alpha.example", "supervisor")
    b_id = agent.tenant_id()
    shared = await add_member(client, operator, alpha["id"], "shared@center.example", "tenant_admin")
    await operator.post(f"/api/v1/tenants/{b_id}/members", 201, json={"email": "shared@center.example", "role": "agent"})
    shared = await Api.login(client, "shared@center.example", PASSWORD)
    assert {m["tenant_id"]: m["role"] for m in shared.me["memberships"]} == {alpha["id"]: "tenant_admin", b_id: "agent"}
    b_agent = await add_member(client, operator, b_id, "agent@bravo.example", "agent")
    return World(alpha["id"], b_id, {"A's admin": a_admin, "A's supervisor": a_supervisor}, shared, agent, b_agent)


async def connect(sockets: Sockets, namespace: str, people: dict[str, Api]) -> dict[str, Listener]:
    return {name: await sockets.connect(namespace, cookie=session_cookie(api)) for name, api in people.items()}


def refused(answer: Any, *codes: str) -> bool:
    return isinstance(answer, dict) and answer.get("ok") is False and (not codes or answer.get("code") in codes)


async def a_event_reached(client: TestClient, world: World, listeners: dict[str, Listener], visitor_id: str) -> None:
    """A new conversation of A, opened after B's events: once every A socket has it, B's would be there too."""
    conversation_id = await visitor_conversation(client.app, world.a_id, visitor_id)
    for listener in listeners.values():
        await listener.wait_for("conversation.created", lambda d: d["id"] == conversation_id)


def assert_heard_nothing_of(listeners: dict[str, Listener], markers: list[str]) -> None:
    for name, listener in listeners.items():
        leaked = [(event, data) for event, data in listener.events
                  if any(marker in json.dumps(data, default=str) for marker in markers)]
        assert not leaked, f"{name} on {listener.namespace} heard tenant B: {leaked}"


async def test_tenant_a_staff_cannot_join_or_hear_tenant_bs_rooms(
        client: TestClient, sockets: Sockets, operator: Api, agent: Api) -> None:
    app = client.app
    world = await make_world(client, operator, agent)
    conversation_b = await visitor_conversation(app, world.b_id, "bravo-visitor-0001")
    first = await post_message(app, world.b_id, conversation_b, "bravo secret hello", author_type="visitor")
    task_b = (await world.b_supervisor.post(f"/api/v1/conversations/{conversation_b}/tasks", 201, json={}))["id"]
    b_board = await sockets.connect("/supervisor", cookie=session_cookie(world.b_supervisor))
    b_inbox = await sockets.connect("/agent", cookie=session_cookie(world.b_agent))
    joined = await b_inbox.call("join_conversation", {"conversation_id": conversation_b})
    assert joined["ok"] and [v["user_id"] for v in joined["viewers"]] == [world.b_agent.me["user"]["id"]]

    inboxes = await connect(sockets, "/agent", world.intruders)
    everyone_of_a = {**world.intruders, "the shared agent": world.shared}
    boards = await connect(sockets, "/supervisor", everyone_of_a)
    shared_inbox = await sockets.connect("/agent", cookie=session_cookie(world.shared))

    # /supervisor: each is in their own tenant's room only, and can't ask for B's live view.
    for name, board in boards.items():
        assert refused(await board.call("queue_snapshot", {"tenant_id": world.b_id}), "not_found"), name
        assert (await board.call("queue_snapshot", {"tenant_id": world.a_id}))["ok"], name
    # /agent: B's conversation is not theirs to join (viewing or not), read, type in or leave a trace on.
    for name, inbox in inboxes.items():
        for view in (True, False):
            answer = await inbox.call("join_conversation", {"conversation_id": conversation_b, "view": view})
            assert answer == {"ok": False, "code": "not_found", "message": "conversation not found"}, (name, view)
        assert refused(await inbox.call("receipt", {"conversation_id": conversation_b, "message_id": first["id"], "status": "read"}),
                       "not_found"), name
        assert refused(await inbox.call("typing", {"conversation_id": conversation_b, "typing": True}), "not_found"), name
        assert (await inbox.call("leave_conversation", {"conversation_id": conversation_b}))["ok"], name  # harmless: never in it
    # Nor B's work, not even for the shared agent (it was never offered to them).
    for name, inbox in {**inboxes, "the shared agent": shared_inbox}.items():
        for step in ("accept_task", "reject_task", "wrapup_task", "complete_task"):
            answer = await inbox.call(step, {"task_id": task_b})
            assert refused(answer) and answer["code"] not in ("invalid", "internal_error"), (name, step, answer)
        answer = await inbox.call("transfer_task", {"task_id": task_b, "agent_id": world.intruders["A's admin"].me["user"]["id"]})
        assert refused(answer) and answer["code"] not in ("invalid", "internal_error"), (name, answer)

    # B's life goes on: its work is offered to the shared agent (B's only one available) and taken,
    # a note and a line are written, a customer comes.
    assert (await shared_inbox.call("presence", {"status": "available"}))["ok"]
    assert (await shared_inbox.wait_for("task.offered", lambda d: d["task_id"] == task_b))
    assert (await shared_inbox.call("accept_task", {"task_id": task_b}))["ok"]
    note = await post_message(app, world.b_id, conversation_b, "bravo secret note", kind="note", author_id=world.b_agent.me["user"]["id"])
    line = await post_message(app, world.b_id, conversation_b, "bravo secret line", author_type="visitor")
    conversation_b2 = await visitor_conversation(app, world.b_id, "bravo-visitor-0002")
    # It reaches B's supervisor (and B's agent on the conversation): the test can tell.
    for event, match in [("message.created", lambda d: d["message"]["id"] == note["id"]),
                         ("message.created", lambda d: d["message"]["id"] == line["id"]),
                         ("task.offered", lambda d: d["task_id"] == task_b), ("task.accepted", lambda d: d["task_id"] == task_b),
                         ("conversation.created", lambda d: d["id"] == conversation_b2)]:
        await b_board.wait_for(event, match)
    await b_inbox.wait_for("message.created", lambda d: d["message"]["id"] == line["id"])

    a_sockets = {**{f"{n} (inbox)": s for n, s in inboxes.items()}, **{f"{n} (supervisor view)": s for n, s in boards.items()}}
    await a_event_reached(client, world, {**a_sockets, "the shared agent (inbox)": shared_inbox}, "alpha-visitor-0001")
    markers = [world.b_id, conversation_b, conversation_b2, task_b, first["id"], "bravo secret"]
    assert_heard_nothing_of(a_sockets, markers)
    # A's live views show the shared agent, but not the work they hold for B; B's shows it.
    for name, board in boards.items():
        snapshot = await board.call("queue_snapshot", {"tenant_id": world.a_id})
        assert world.shared.me["user"]["id"] in snapshot["agents"], name
        assert not [m for m in markers if m in json.dumps(snapshot)], (name, snapshot)
    for name, api in everyone_of_a.items():
        for view in ("wallboard", "routing/snapshot"):
            shown = await api.get(f"/api/v1/tenants/{world.a_id}/{view}")
            assert not [m for m in markers if m in json.dumps(shown)], (name, view, shown)
    b_wallboard = await world.b_supervisor.get(f"/api/v1/tenants/{world.b_id}/wallboard")
    held = {a["id"]: [w["task_id"] for w in a["work"]] for a in b_wallboard["agents"]}
    assert held[world.shared.me["user"]["id"]] == [task_b]
    # Nobody of A showed up as viewing B's conversation.
    a_users = {api.me["user"]["id"] for api in everyone_of_a.values()}
    assert not [d for d in b_inbox.got("conversation.viewers") if a_users & {v["user_id"] for v in d["viewers"]}]


async def test_tenant_a_staff_cannot_watch_tenant_bs_co_browsing(
        client: TestClient, sockets: Sockets, config: Config, operator: Api, agent: Api) -> None:
    app = client.app
    world = await make_world(client, operator, agent)
    conversation_b = await visitor_conversation(app, world.b_id, "bravo-cobrowser-01")
    visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "bravo-cobrowser-01"})
    b_inbox = await sockets.connect("/agent", cookie=session_cookie(world.b_supervisor))
    asked = await b_inbox.call("cobrowse_request", {"conversation_id": conversation_b})
    assert asked["ok"], asked
    session_id = asked["session_id"]
    assert (await visitor.call("cobrowse_consent", {"session_id": session_id, "accept": True}))["ok"]
    assert (await b_inbox.call("cobrowse_join", {"session_id": session_id}))["ok"]
    # A second visitor of B reads out a code, waiting for B's agent on some conversation.
    code_visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "bravo-cobrowser-02"})
    code = await code_visitor.call("cobrowse_code", {})
    assert code["ok"], code

    inboxes = await connect(sockets, "/agent", {**world.intruders, "the shared agent": world.shared})
    boards = await connect(sockets, "/supervisor", {**world.intruders, "the shared agent": world.shared})
    conversation_a = await visitor_conversation(app, world.a_id, "alpha-cobrowser-01")  # A's own: A's staff may co-browse it
    pointing = {"session_id": session_id, "stream": PAGE, "node": 1, "x": 0.5, "y": 0.5}
    for name, inbox in inboxes.items():
        shared = name == "the shared agent"
        # The shared agent may read B's conversation (they serve B), but co-browsing is for its
        # assignee and B's supervisors only.
        expected = "not_yours" if shared else "not_found"
        assert refused(await inbox.call("cobrowse_request", {"conversation_id": conversation_b}), expected), name
        assert refused(await inbox.call("cobrowse_claim", {"conversation_id": conversation_b, "code": code["code"]}), expected), name
        # B's code is B's: it opens nothing on A's conversation either.
        assert refused(await inbox.call("cobrowse_claim", {"conversation_id": conversation_a, "code": code["code"]}), "bad_code"), name
        assert refused(await inbox.call("cobrowse_join", {"session_id": session_id}), "not_found"), name
        assert refused(await inbox.call("cobrowse_control", {"session_id": session_id, "want": True}), "not_found"), name
        assert refused(await inbox.call("cobrowse_pointer", pointing), "not_active"), name
        assert refused(await inbox.call("cobrowse_action", {**pointing, "kind": "click"}), "not_found"), name
        assert refused(await inbox.call("cobrowse_stop", {"session_id": session_id}), "not_found"), name

    # The page still streams to B's supervisor, and to nobody of A.
    batch = {"session_id": session_id, "stream": PAGE, "snapshot": True, "events": [META]}
    assert (await visitor.call("cobrowse_batch", batch))["ok"]
    assert (await b_inbox.wait_for("cobrowse.batch"))["events"] == [META]
    # The code was good all along: B's supervisor claims it on a conversation of B.
    conversation_b2 = await visitor_conversation(app, world.b_id, "bravo-cobrowser-03")
    claimed = await b_inbox.call("cobrowse_claim", {"conversation_id": conversation_b2, "code": code["code"]})
    assert claimed == {"ok": True, "session_id": code["session_id"], "state": "active"}
    assert (await code_visitor.wait_for("cobrowse.started"))["session_id"] == code["session_id"]
    assert len(code_visitor.got("cobrowse.started")) == 1  # and only then

    a_sockets = {**{f"{n} (inbox)": s for n, s in inboxes.items() if n != "the shared agent"},
                 **{f"{n} (supervisor view)": s for n, s in boards.items()}}
    await a_event_reached(client, world, {**a_sockets, "the shared agent (inbox)": inboxes["the shared agent"]}, "alpha-cobrowser-02")
    assert_heard_nothing_of(a_sockets, [world.b_id, conversation_b, session_id, code["session_id"], "bravo-secret-page"])
    # The shared agent hears B's conversations as its agent, but not the page: that is in the session's room.
    assert not inboxes["the shared agent"].got("cobrowse.batch")
    assert not visitor.got("cobrowse.control") and not visitor.got("cobrowse.pointer") and not visitor.got("cobrowse.stopped")


async def test_tenant_a_staff_cannot_listen_whisper_or_barge_on_tenant_bs_calls(
        client: TestClient, sockets: Sockets, config: Config, operator: Api, agent: Api, peers: list[ClientPeer]) -> None:
    world = await make_world(client, operator, agent)
    caller = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "bravo-caller-0001"})
    customer = ClientPeer(440.0)
    stranger = ClientPeer(700.0)
    supervisor_peer = ClientPeer(900.0)
    peers.extend([customer, stranger, supervisor_peer])
    started = await caller.call("call_start", {"sdp": await customer.offer()})
    assert started["ok"], started
    await customer.accept(started["sdp"])
    call_id, conversation_b = started["call_id"], started["conversation_id"]

    inboxes = await connect(sockets, "/agent", {**world.intruders, "the shared agent": world.shared})
    boards = await connect(sockets, "/supervisor", {**world.intruders, "the shared agent": world.shared})
    offer = await stranger.offer()
    others = world.intruders["A's admin"].me["user"]["id"]
    for name, inbox in inboxes.items():
        for mode in ("listen", "whisper", "barge"):
            assert refused(await inbox.call("call_monitor", {"call_id": call_id, "sdp": offer, "mode": mode}), "not_found"), (name, mode)
        for event, payload in [
            ("call_monitor_mode", {"call_id": call_id, "mode": "barge"}), ("call_monitor_leave", {"call_id": call_id}),
            ("call_answer", {"call_id": call_id, "sdp": offer}), ("call_hold", {"call_id": call_id, "on": True}),
            ("call_mute", {"call_id": call_id, "muted": True}), ("call_recording", {"call_id": call_id, "paused": True}),
            ("call_transfer", {"call_id": call_id, "agent_id": others}), ("call_consult", {"call_id": call_id, "agent_id": others}),
            ("call_consult_answer", {"call_id": call_id, "sdp": offer}), ("call_consult_decline", {"call_id": call_id}),
            ("call_consult_cancel", {"call_id": call_id}), ("call_consult_complete", {"call_id": call_id}),
            ("call_hangup", {"call_id": call_id}),
        ]:
            assert refused(await inbox.call(event, payload), "not_found"), (name, event)
        if name != "the shared agent":  # who serves B may ring B's customers; the others may not
            dial = {"tenant_id": world.b_id, "contact_id": str(uuid.uuid4()), "number": "+4930901999", "sdp": offer}
            assert refused(await inbox.call("call_dial", dial), "not_found"), name

    # B's supervisor can listen in: the call was there to be listened to.
    b_inbox = await sockets.connect("/agent", cookie=session_cookie(world.b_supervisor))
    b_board = await sockets.connect("/supervisor", cookie=session_cookie(world.b_supervisor))
    listening = await b_inbox.call("call_monitor", {"call_id": call_id, "sdp": await supervisor_peer.offer(), "mode": "listen"})
    assert listening["ok"], listening
    await b_board.wait_for("supervision.started", lambda d: d["conversation_id"] == conversation_b)
    assert not caller.got("call.ended") and not caller.got("call.held")

    a_sockets = {**{f"{n} (inbox)": s for n, s in inboxes.items() if n != "the shared agent"},
                 **{f"{n} (supervisor view)": s for n, s in boards.items()}}
    await a_event_reached(client, world, {**a_sockets, "the shared agent (inbox)": inboxes["the shared agent"]}, "alpha-caller-0001")
    assert_heard_nothing_of(a_sockets, [world.b_id, conversation_b, call_id])
    assert not [name for name, _ in inboxes["the shared agent"].events if name.startswith("supervision.")]

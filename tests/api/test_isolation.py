"""Tenant isolation across the whole REST API: a user of tenant A using tenant B's ids gets 403 or
404 and learns nothing — checked for every route the API registers, so a new route cannot slip by
without a case here. The walk runs as A's tenant admin, as A's supervisor, and as a shared agent
(A's tenant admin, a plain agent of B: only an agent's routes open in B). A's own things can't be
pointed at B's queues, contacts or members either; B's world is compared before and after each."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pathlib import Path

import pytest
from aiohttp import FormData

from gateway.config import Config
from tests.conftest import make_config

from gateway.keys import API, ROUTING
from tests.helpers import Api

ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Webhooks point at a closed local port: nothing leaves the machine, deliveries just fail.
    return make_config(tmp_path / "data", webhooks={"allow_private_addresses": True}, mail={"tenant_servers_may_be_private": True})


async def make_tenant(operator: Api, slug: str) -> dict[str, Any]:
    """A tenant with an admin, a skill, a queue, a contact, a conversation with a message and a
    note, an API token and a webhook: one of everything a route can name."""
    tenant = await operator.post("/api/v1/tenants", expect=201, json={"slug": slug, "name": f"{slug.title()} Ltd"})
    tid = tenant["id"]
    admin_email = f"admin@{slug}.example"
    admin = await operator.post(f"/api/v1/tenants/{tid}/members", expect=201,
                                json={"email": admin_email, "password": ADMIN_PASSWORD, "role": "tenant_admin", "name": f"{slug} admin"})
    api = await Api.login(operator.client, admin_email, ADMIN_PASSWORD)
    skill = await api.post(f"/api/v1/tenants/{tid}/skills", expect=201, json={"name": f"{slug}-billing"})
    queue = await api.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": f"{slug} support"})
    contact = await api.post("/api/v1/contacts", expect=201, json={
        "tenant_id": tid, "name": f"{slug} customer", "identities": [{"kind": "email", "value": f"customer@{slug}.example"}]})
    other_contact = await api.post("/api/v1/contacts", expect=201, json={"tenant_id": tid, "name": f"{slug} other"})
    conversation = await api.post("/api/v1/conversations", expect=201, json={
        "tenant_id": tid, "contact_id": contact["id"], "channel": "email", "subject": f"{slug} secret subject"})
    message = await api.post(f"/api/v1/conversations/{conversation['id']}/messages", expect=201,
                             json={"body_text": f"{slug} secret reply", "client_id": "m1"})
    await api.post(f"/api/v1/conversations/{conversation['id']}/messages", expect=201,
                   json={"body_text": f"{slug} secret note", "kind": "note"})
    reply = await api.post(f"/api/v1/tenants/{tid}/canned-replies", expect=201, json={"shortcut": "hi", "title": "Hi", "body": f"{slug} secret canned"})
    token = await api.post(f"/api/v1/tenants/{tid}/api-tokens", expect=201, json={"name": "t", "scopes": ["contacts:read"]})
    task = await api.post(f"/api/v1/conversations/{conversation['id']}/tasks", expect=201, json={"priority": 2})
    upload = FormData()
    upload.add_field("file", f"{slug} secret file".encode(), filename="secret.txt", content_type="text/plain")
    with_file = await api.post(f"/api/v1/conversations/{conversation['id']}/attachments", expect=201, data=upload)
    ids = {
        "tenant_id": tid, "user_id": admin["user_id"], "skill_id": skill["id"], "queue_id": queue["id"],
        "contact_id": contact["id"], "other_contact_id": other_contact["id"], "conversation_id": conversation["id"],
        "message_id": message["id"], "token_id": token["id"], "task_id": task["id"], "reply_id": reply["id"], "attachment_id": with_file["meta"]["attachments"][0]["id"],
    }
    webhook_routes = [op for op in operator.client.app[API].operations if op.path == "/tenants/{tenant_id}/webhooks" and op.method == "POST"]
    if webhook_routes:
        hook = await api.post(f"/api/v1/tenants/{tid}/webhooks", expect=201, json={"url": "http://127.0.0.1:9/hook"})
        ids["webhook_id"] = hook["id"]
        ids["delivery_id"] = str(uuid.uuid4())
    mailbox = await api.post(f"/api/v1/tenants/{tid}/mailboxes", expect=201, json={
        "name": "support", "address": f"support@{slug}.example", "imap_host": "127.0.0.1", "imap_port": 9,
        "imap_username": f"{slug}-imap-user", "imap_password": f"{slug} secret imap password"})
    ids["mailbox_id"] = mailbox["id"]
    own_number = "+4930555" + "".join(str(ord(c) % 10) for c in slug[:5])  # a number of its own, from its slug
    number = await operator.post(f"/api/v1/tenants/{tid}/phone-numbers", expect=201, json={"number": own_number, "label": f"{slug} secret line"})
    ids["number_id"] = number["id"]
    return {"api": api, "ids": ids, "secrets": [f"{slug}-imap-user", f"{slug} secret imap password", f"{slug} secret file", f"{slug} secret subject", f"{slug} secret reply", f"{slug} secret note", f"{slug} secret canned", f"{slug} secret line",
                                                f"{slug} customer", f"customer@{slug}.example", admin_email]}


def sample_body(method: str, path: str, b: dict[str, str]) -> dict[str, Any] | None:
    """A body that passes validation, so what answers is the authorisation check."""
    bodies: dict[tuple[str, str], dict[str, Any] | None] = {
        ("POST", "/auth/login"): None,
        ("POST", "/auth/logout"): None,
        ("POST", "/tenants"): None,  # operator-only; covered in test_admin
        ("PATCH", "/tenants/{tenant_id}"): {"name": "Hijacked"},
        ("POST", "/tenants/{tenant_id}/widget-secret"): None,
        ("POST", "/tenants/{tenant_id}/members"): {"email": "intruder@a.example", "password": "long enough pw", "role": "agent"},
        ("PATCH", "/tenants/{tenant_id}/members/{user_id}"): {"role": "agent"},
        ("POST", "/tenants/{tenant_id}/skills"): {"name": "intruder"},
        ("POST", "/tenants/{tenant_id}/queues"): {"name": "intruder"},
        ("PATCH", "/tenants/{tenant_id}/queues/{queue_id}"): {"name": "hijacked"},
        ("POST", "/tenants/{tenant_id}/api-tokens"): {"name": "intruder", "scopes": ["admin"]},
        ("POST", "/tenants/{tenant_id}/webhooks"): {"url": "http://127.0.0.1:9/intruder"},
        ("PATCH", "/tenants/{tenant_id}/webhooks/{webhook_id}"): {"url": "http://127.0.0.1:9/intruder"},
        ("POST", "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): None,
        ("POST", "/tenants/{tenant_id}/mailboxes"): {"name": "intruder", "address": "x@a.example", "imap_host": "127.0.0.1",
                                                      "imap_username": "x", "imap_password": "x"},
        ("PATCH", "/tenants/{tenant_id}/mailboxes/{mailbox_id}"): {"imap_host": "127.0.0.2"},
        ("POST", "/tenants/{tenant_id}/phone-numbers"): {"number": "+4930555999"},
        ("PATCH", "/tenants/{tenant_id}/phone-numbers/{number_id}"): {"label": "hijacked"},
        ("POST", "/auth/password"): None,
        ("PATCH", "/users/{user_id}"): {"status": "disabled"},
        ("POST", "/conversations"): {"tenant_id": b["tenant_id"], "contact_id": b["contact_id"], "channel": "chat"},
        ("PATCH", "/conversations/{conversation_id}"): {"status": "closed"},
        ("POST", "/conversations/{conversation_id}/messages"): {"body_text": "intruder"},
        ("POST", "/conversations/{conversation_id}/messages/{message_id}/retry"): None,
        ("POST", "/conversations/{conversation_id}/tasks"): {"priority": 9},
        ("PUT", "/tenants/{tenant_id}/routing/settings"): {"ring_seconds": 5},
        ("PUT", "/tenants/{tenant_id}/calls/settings"): {"record": False},
        ("PUT", "/tenants/{tenant_id}/widget/settings"): {"title": "Hijacked"},
        ("PUT", "/tenants/{tenant_id}/wrapup-codes"): {"items": [{"code": "x", "label": "X"}]},
        ("POST", "/tenants/{tenant_id}/canned-replies"): {"shortcut": "intruder", "title": "I", "body": "intruder"},
        ("PATCH", "/tenants/{tenant_id}/canned-replies/{reply_id}"): {"body": "hijacked"},
        ("POST", "/contacts"): {"tenant_id": b["tenant_id"], "name": "intruder"},
        ("PATCH", "/contacts/{contact_id}"): {"name": "hijacked"},
        ("POST", "/contacts/{contact_id}/merge"): {"other_contact_id": b["other_contact_id"]},
        ("POST", "/tasks/{task_id}/reassign"): {"queue_id": b["queue_id"]},
        ("POST", "/tasks/{task_id}/close"): {},
        ("PUT", "/tenants/{tenant_id}/agents/{user_id}/presence"): {"status": "offline"},
    }
    if method in ("GET", "DELETE") or (method, path) == ("POST", "/conversations/{conversation_id}/attachments"):
        return None
    assert (method, path) in bodies, f"add a sample body for {method} {path} to the isolation test"
    return bodies[(method, path)]


# Routes about the caller themselves, with no other tenant's ids to try.
ABOUT_ONESELF = {"/auth/login", "/auth/logout", "/auth/me", "/auth/password", "/openapi.json", "/me/sip-phone"}


async def walk_routes(operator: Api, intruder: Api, b: dict[str, Any], *, allowed: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """Calls every REST operation the gateway registers as `intruder`, with tenant B's ids in the path
    (and bodies naming B's things): each must answer 403 or 404, a list asked for B's tenant shows
    nothing of B, and no answer carries B's secrets. `allowed`: routes the intruder may really use in
    B (an agent of B reads its conversations), left out. Returns the routes checked."""
    checked = []
    for op in operator.client.app[API].operations:
        if op.path in ABOUT_ONESELF or op.auth == "public" or (op.method, op.path) in allowed:
            continue
        names = re.findall(r"{(\w+)}", op.path)
        missing = [n for n in names if n not in b["ids"]]
        assert not missing, f"no tenant-B id for {missing} in {op.method} {op.path}: extend make_tenant"
        path = "/api/v1" + op.path.format(**b["ids"])
        body = sample_body(op.method, op.path, b["ids"])
        if op.method != "GET" and body is None and (op.method, op.path) in {("POST", "/tenants")}:
            continue
        takes_tenant = op.query is not None and "tenant_id" in op.query.model_fields
        query = f"?tenant_id={b['ids']['tenant_id']}" if op.method == "GET" and takes_tenant else ""
        if op.upload is not None:
            payload = FormData()
            payload.add_field("file", b"intruder", filename="x.txt", content_type="text/plain")
            resp = await intruder.request(op.method, path, data=payload)
        else:
            resp = await intruder.request(op.method, path + query, json=body)
        text = await resp.text()
        where = f"{op.method} {op.path} -> {resp.status} {text[:200]}"
        if names or op.method != "GET":
            assert resp.status in (403, 404), where
        elif resp.status != 403:  # a list asked for B's tenant shows nothing of B
            assert resp.status == 200, where
            items = (await resp.json())["items"]
            assert all(b["ids"]["tenant_id"] not in (i.get("tenant_id"), i.get("id")) for i in items), where
        for secret in b["secrets"] + [b["ids"]["contact_id"], b["ids"]["conversation_id"]]:
            assert secret not in text, f"{where}: leaked {secret!r}"
        checked.append(f"{op.method} {op.path}")
    return checked


async def world_of(tenant: dict[str, Any]) -> dict[str, Any]:
    """What the tenant's own admin reads of its configuration and work: compared before and after
    an intruder's tries, it shows nothing of the tenant changed."""
    ids, tid, cid = tenant["ids"], tenant["ids"]["tenant_id"], tenant["ids"]["conversation_id"]
    paths = [f"/tenants/{tid}", f"/tenants/{tid}/members", f"/tenants/{tid}/skills", f"/tenants/{tid}/queues",
             f"/tenants/{tid}/api-tokens", f"/tenants/{tid}/webhooks/{ids['webhook_id']}", f"/tenants/{tid}/mailboxes",
             f"/tenants/{tid}/phone-numbers", f"/tenants/{tid}/widget/settings", f"/tenants/{tid}/routing/settings",
             f"/tenants/{tid}/calls/settings", f"/tenants/{tid}/wrapup-codes", f"/tenants/{tid}/canned-replies",
             f"/tenants/{tid}/seats", f"/tenants/{tid}/audit-log", f"/tenants/{tid}/events",
             f"/conversations/{cid}", f"/conversations/{cid}/messages", f"/conversations/{cid}/tasks", f"/tasks/{ids['task_id']}",
             f"/contacts?tenant_id={tid}", f"/contacts/{ids['contact_id']}"]
    return {path: await tenant["api"].get("/api/v1" + path) for path in paths}


async def assert_untouched(tenant: dict[str, Any], before: dict[str, Any]) -> None:
    after = await world_of(tenant)
    changed = {path: (before[path], after[path]) for path in before if before[path] != after[path]}
    assert not changed, f"tenant {tenant['ids']['tenant_id']} changed: {changed}"
    tid, cid = tenant["ids"]["tenant_id"], tenant["ids"]["conversation_id"]
    assert after[f"/conversations/{cid}"]["status"] == "open"
    assert after[f"/tenants/{tid}"]["name"] == "Bravo Ltd"
    assert [m["body_text"] for m in after[f"/conversations/{cid}/messages"]["items"]] == ["bravo secret reply", "bravo secret note", ""]
    assert sorted(c["name"] for c in after[f"/contacts?tenant_id={tid}"]["items"]) == ["bravo customer", "bravo other"]


async def new_member(operator: Api, tenant: dict[str, Any], email: str, role: str) -> Api:
    """Someone the operator adds to the tenant (an existing account keeps its password), logged in."""
    await operator.post(f"/api/v1/tenants/{tenant['ids']['tenant_id']}/members", expect=201,
                        json={"email": email, "password": ADMIN_PASSWORD, "role": role})
    return await Api.login(operator.client, email, ADMIN_PASSWORD)


@pytest.mark.parametrize("role", ["tenant_admin", "supervisor"])
async def test_every_route_refuses_another_tenants_ids(operator: Api, role: str):
    a = await make_tenant(operator, "alpha")
    b = await make_tenant(operator, "bravo")
    # Tenant admin of A: the strongest role short of operator; A's supervisor steers A's live work.
    intruder: Api = a["api"] if role == "tenant_admin" else await new_member(operator, a, "supervisor@alpha.example", "supervisor")
    before = await world_of(b)
    checked = await walk_routes(operator, intruder, b)
    assert len(checked) >= 25
    await assert_untouched(b, before)
    members = await b["api"].get(f"/api/v1/tenants/{b['ids']['tenant_id']}/members")
    assert [m["email"] for m in members["items"]] == ["admin@bravo.example"]


# What a plain agent of a tenant may do there (its inbox: conversations, contacts, their work, the
# replies and codes it uses): a shared agent keeps these in B, and only these. A new route is
# refused to B's agents in the walk below until it is added here.
AGENT_ROUTES = frozenset({
    ("GET", "/tenants"), ("GET", "/tenants/{tenant_id}"), ("GET", "/tenants/{tenant_id}/canned-replies"),
    ("GET", "/tenants/{tenant_id}/wrapup-codes"), ("GET", "/tenants/{tenant_id}/transfer-targets"),
    ("GET", "/conversations"), ("POST", "/conversations"), ("GET", "/conversations/{conversation_id}"),
    ("PATCH", "/conversations/{conversation_id}"), ("GET", "/conversations/{conversation_id}/messages"),
    ("POST", "/conversations/{conversation_id}/messages"), ("POST", "/conversations/{conversation_id}/messages/{message_id}/retry"),
    ("POST", "/conversations/{conversation_id}/attachments"), ("GET", "/attachments/{attachment_id}"),
    ("GET", "/messages/{message_id}/original"), ("GET", "/conversations/{conversation_id}/tasks"),
    ("POST", "/conversations/{conversation_id}/tasks"), ("GET", "/tasks/{task_id}"),
    ("GET", "/contacts"), ("POST", "/contacts"), ("GET", "/contacts/{contact_id}"), ("PATCH", "/contacts/{contact_id}"),
    ("POST", "/contacts/{contact_id}/merge"), ("GET", "/contacts/{contact_id}/conversations"),
})

# Named by the issue: a shared agent's admin rights in A must open none of these in B.
ADMIN_AND_SUPERVISION_ROUTES = {
    "GET /tenants/{tenant_id}/members", "POST /tenants/{tenant_id}/members", "PATCH /tenants/{tenant_id}/members/{user_id}",
    "DELETE /tenants/{tenant_id}/members/{user_id}", "GET /tenants/{tenant_id}/queues", "POST /tenants/{tenant_id}/queues",
    "PATCH /tenants/{tenant_id}/queues/{queue_id}", "DELETE /tenants/{tenant_id}/queues/{queue_id}",
    "GET /tenants/{tenant_id}/webhooks", "POST /tenants/{tenant_id}/webhooks", "PATCH /tenants/{tenant_id}/webhooks/{webhook_id}",
    "DELETE /tenants/{tenant_id}/webhooks/{webhook_id}", "GET /tenants/{tenant_id}/mailboxes", "POST /tenants/{tenant_id}/mailboxes",
    "PATCH /tenants/{tenant_id}/mailboxes/{mailbox_id}", "DELETE /tenants/{tenant_id}/mailboxes/{mailbox_id}",
    "GET /tenants/{tenant_id}/phone-numbers", "POST /tenants/{tenant_id}/phone-numbers",
    "PATCH /tenants/{tenant_id}/phone-numbers/{number_id}", "DELETE /tenants/{tenant_id}/phone-numbers/{number_id}",
    "GET /tenants/{tenant_id}/widget/settings", "PUT /tenants/{tenant_id}/widget/settings", "GET /tenants/{tenant_id}/reports/seats",
    "GET /tenants/{tenant_id}/wallboard", "PUT /tenants/{tenant_id}/agents/{user_id}/presence", "POST /tasks/{task_id}/reassign",
    "POST /tasks/{task_id}/close",
}


async def test_a_shared_agent_cannot_use_one_tenants_admin_rights_in_the_other(operator: Api):
    a = await make_tenant(operator, "alpha")
    b = await make_tenant(operator, "bravo")
    # An outsourced seat: A's tenant admin also answers B's customers, as a plain agent there.
    shared = await new_member(operator, a, "shared@center.example", "tenant_admin")
    await operator.post(f"/api/v1/tenants/{b['ids']['tenant_id']}/members", expect=201, json={"email": "shared@center.example", "role": "agent"})
    assert {m["role"] for m in (await shared.get("/api/v1/auth/me"))["memberships"]} == {"tenant_admin", "agent"}
    before = await world_of(b)

    checked = await walk_routes(operator, shared, b, allowed=AGENT_ROUTES)
    assert ADMIN_AND_SUPERVISION_ROUTES <= set(checked), ADMIN_AND_SUPERVISION_ROUTES - set(checked)
    # Nor on themself in B: no promotion, no leaving, no taking themself out of B's routing.
    bid, me = b["ids"]["tenant_id"], shared.me["user"]["id"]
    for method, path, body in [("PATCH", f"/tenants/{bid}/members/{me}", {"role": "tenant_admin"}),
                               ("DELETE", f"/tenants/{bid}/members/{me}", None),
                               ("PUT", f"/tenants/{bid}/agents/{me}/presence", {"status": "offline"})]:
        resp = await shared.request(method, "/api/v1" + path, json=body)
        assert resp.status in (403, 404), f"{method} {path} -> {resp.status} {await resp.text()}"
    # And A's admin can't take the shared agent out of routing through A: B would lose them too.
    routing = operator.client.app[ROUTING]
    presence = await routing.engine.agent_info(me)
    refused = await a["api"].request("PUT", f"/api/v1/tenants/{a['ids']['tenant_id']}/agents/{me}/presence", json={"status": "away"})
    assert refused.status == 403 and (await refused.json())["code"] == "shared_agent"
    assert await routing.engine.agent_info(me) == presence
    await assert_untouched(b, before)


async def test_tenant_a_cannot_point_its_own_things_at_tenant_bs(operator: Api):
    """A's admin, on A's own queues, conversations, contacts, mailboxes, numbers and work, names B's
    queue, contact, member or identity: refused, and nothing of B is read or changed."""
    a = await make_tenant(operator, "alpha")
    b = await make_tenant(operator, "bravo")
    ai, bi = a["ids"], b["ids"]
    aid, bq = ai["tenant_id"], bi["queue_id"]
    b_identity = (await b["api"].get(f"/api/v1/contacts/{bi['contact_id']}"))["identities"][0]["id"]
    idle = await a["api"].post("/api/v1/conversations", expect=201, json={"tenant_id": aid, "contact_id": ai["contact_id"], "channel": "chat"})
    before = await world_of(b)
    refused = {400, 403, 404, 409, 422}
    tries: list[tuple[str, str, dict[str, Any], set[int]]] = [
        ("POST", f"/tenants/{aid}/queues", {"name": "spill", "settings": {"overflow_after_seconds": 60, "overflow_queue_id": bq}}, refused),
        ("PATCH", f"/tenants/{aid}/queues/{ai['queue_id']}", {"settings": {"overflow_after_seconds": 60, "overflow_queue_id": bq}}, refused),
        ("POST", "/conversations", {"tenant_id": aid, "contact_id": bi["contact_id"], "channel": "chat"}, refused),
        ("POST", "/conversations", {"tenant_id": aid, "contact_id": ai["contact_id"], "channel": "chat", "queue_id": bq}, refused),
        ("PATCH", f"/conversations/{ai['conversation_id']}", {"assignee_id": bi["user_id"]}, refused),
        ("POST", f"/conversations/{idle['id']}/tasks", {"queue_id": bq}, refused),
        ("POST", f"/contacts/{ai['contact_id']}/merge", {"other_contact_id": bi["contact_id"]}, refused),
        # Only A's contact's own identities can go: naming B's is a no-op (B's contact keeps it, checked below).
        ("PATCH", f"/contacts/{ai['contact_id']}", {"remove_identity_ids": [b_identity]}, refused | {200}),
        ("PUT", f"/tenants/{aid}/widget/settings", {"prechat": {"fields": [
            {"name": "team", "label": "Team", "type": "select", "options": [{"value": "b", "label": "B", "queue_id": bq}]}]}}, refused),
        ("POST", f"/tenants/{aid}/mailboxes", {"name": "spill", "address": "spill@alpha.example", "imap_host": "127.0.0.1",
                                               "imap_username": "x", "imap_password": "x", "queue_id": bq}, refused),
        ("PATCH", f"/tenants/{aid}/mailboxes/{ai['mailbox_id']}", {"queue_id": bq}, refused),
        ("PATCH", f"/tenants/{aid}/mailboxes/{ai['mailbox_id']}", {"fax_rules": [{"profile": "efax", "queue_id": bq}]}, refused),
        ("PUT", f"/tenants/{aid}/calls/settings", {"menu": [{"key": "1", "label": "Bravo", "queue_id": bq}]}, refused),
        ("PATCH", f"/tenants/{aid}/phone-numbers/{ai['number_id']}", {"queue_id": bq}, refused),
        ("POST", f"/tasks/{ai['task_id']}/reassign", {"queue_id": bq}, refused),
        ("POST", f"/tasks/{ai['task_id']}/reassign", {"agent_id": bi["user_id"]}, refused),
    ]
    for method, path, body, expected in tries:
        resp = await a["api"].request(method, "/api/v1" + path, json=body)
        text = await resp.text()
        where = f"{method} {path} {body} -> {resp.status} {text[:200]}"
        assert resp.status in expected, where
        for secret in b["secrets"] + [bi["contact_id"]]:
            assert secret not in text, f"{where}: leaked {secret!r}"
    await assert_untouched(b, before)
    # A's things still name only A's.
    assert (await a["api"].get(f"/api/v1/tasks/{ai['task_id']}"))["queue_id"] != bq
    assert (await a["api"].get(f"/api/v1/conversations/{ai['conversation_id']}"))["assignee_id"] != bi["user_id"]


async def test_moving_work_to_another_tenants_member_tells_nothing_about_them(operator: Api):
    """A's supervisor who names a member of B as the agent to move A's work to is refused the same
    way whether that person is available or not: B's live presence is B's to know."""
    a = await make_tenant(operator, "alpha")
    b_tenant = await operator.post("/api/v1/tenants", expect=201, json={"slug": "bravo", "name": "Bravo Ltd"})
    b_agent = await operator.post(f"/api/v1/tenants/{b_tenant['id']}/members", expect=201,
                                  json={"email": "agent@bravo.example", "password": ADMIN_PASSWORD, "role": "agent"})
    supervisor = await new_member(operator, a, "supervisor@alpha.example", "supervisor")
    routing = operator.client.app[ROUTING]
    answers = {}
    for presence in ("offline", "available"):
        await routing.set_presence(b_agent["user_id"], presence)
        resp = await supervisor.request("POST", f"/api/v1/tasks/{a['ids']['task_id']}/reassign", json={"agent_id": b_agent["user_id"]})
        answers[presence] = (resp.status, (await resp.json())["code"])
    assert answers["offline"] == answers["available"] == (404, "not_found"), answers
    task = await routing.engine.task_info(a["ids"]["task_id"])
    assert task is not None and task["agent_id"] is None and task["reserved_for"] is None


async def test_an_agent_serving_two_tenants_sees_both_and_only_those(operator: Api, agent: Api):
    a = await make_tenant(operator, "alpha")
    b = await make_tenant(operator, "bravo")
    # The operator rents the demo agent out to alpha as well: an outsourced seat.
    await operator.post(f"/api/v1/tenants/{a['ids']['tenant_id']}/members", expect=201,
                        json={"email": agent.me["user"]["email"], "role": "agent"})
    seen = await agent.get("/api/v1/conversations")
    subjects = {c["subject"] for c in seen["items"]}
    assert "alpha secret subject" in subjects
    assert "bravo secret subject" not in subjects
    only_alpha = await agent.get(f"/api/v1/conversations?tenant_id={a['ids']['tenant_id']}")
    assert [c["subject"] for c in only_alpha["items"]] == ["alpha secret subject"]
    await agent.get(f"/api/v1/conversations/{a['ids']['conversation_id']}")
    await agent.get(f"/api/v1/conversations/{b['ids']['conversation_id']}", expect=404)
    # As an agent (not admin) of alpha, the tenant's admin pages are closed but not hidden.
    resp = await agent.request("GET", f"/api/v1/tenants/{a['ids']['tenant_id']}/members")
    assert resp.status == 403

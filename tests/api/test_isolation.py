"""Tenant isolation across the whole REST API: a user of tenant A using tenant B's ids gets 403 or
404 and learns nothing — checked for every route the API registers, so a new route cannot slip by
without a case here."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pathlib import Path

import pytest
from aiohttp import FormData

from gateway.config import Config
from tests.conftest import make_config

from gateway.keys import API
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


async def test_every_route_refuses_another_tenants_ids(operator: Api):
    a = await make_tenant(operator, "alpha")
    b = await make_tenant(operator, "bravo")
    intruder: Api = a["api"]  # tenant admin of A: the strongest role short of operator
    # Routes about the caller themselves, with no other tenant's ids to try.
    public = {"/auth/login", "/auth/logout", "/auth/me", "/auth/password", "/openapi.json", "/me/sip-phone"}
    checked = 0
    for op in operator.client.app[API].operations:
        if op.path in public or op.auth == "public":
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
        checked += 1
    assert checked >= 25
    # B's world is as it was.
    owner: Api = b["api"]
    tid = b["ids"]["tenant_id"]
    conversation = await owner.get(f"/api/v1/conversations/{b['ids']['conversation_id']}")
    assert conversation["status"] == "open"
    assert (await owner.get(f"/api/v1/tenants/{tid}"))["name"] == "Bravo Ltd"
    messages = await owner.get(f"/api/v1/conversations/{b['ids']['conversation_id']}/messages")
    assert [m["body_text"] for m in messages["items"]] == ["bravo secret reply", "bravo secret note", ""]
    members = await owner.get(f"/api/v1/tenants/{tid}/members")
    assert [m["email"] for m in members["items"]] == ["admin@bravo.example"]
    contacts = await owner.get(f"/api/v1/contacts?tenant_id={tid}")
    assert sorted(c["name"] for c in contacts["items"]) == ["bravo customer", "bravo other"]


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

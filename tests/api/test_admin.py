"""Operator and tenant administration: tenants, seats, members, skills, queues."""

from __future__ import annotations

from tests.api.test_conversations import customer_writes
from tests.helpers import Api

PASSWORD = "a good long password"


async def test_operator_creates_a_tenant_and_rents_it_seats(operator: Api, agent: Api):
    tenant = await operator.post("/api/v1/tenants", expect=201, json={
        "slug": "acme", "name": "Acme", "allowed_origins": ["https://www.acme.example/"], "timezone": "Europe/Berlin", "seat_limit": 2})
    assert tenant["allowed_origins"] == ["https://www.acme.example"]
    assert len(tenant["widget_secret"]) >= 32 and tenant["widget_key"]  # the secret is shown this once (GET never shows it)
    tid = tenant["id"]
    resp = await operator.request("POST", "/api/v1/tenants", json={"slug": "acme", "name": "Again"})
    assert resp.status == 409 and (await resp.json())["code"] == "slug_taken"
    for i in range(2):
        await operator.post(f"/api/v1/tenants/{tid}/members", expect=201, json={"email": f"a{i}@acme.example", "password": PASSWORD})
    resp = await operator.request("POST", f"/api/v1/tenants/{tid}/members", json={"email": "a3@acme.example", "password": PASSWORD})
    assert resp.status == 409 and (await resp.json())["code"] == "seat_limit_reached"
    # A tenant admin configures but takes no seat.
    await operator.post(f"/api/v1/tenants/{tid}/members", expect=201,
                        json={"email": "boss@acme.example", "password": PASSWORD, "role": "tenant_admin"})
    assert await operator.get(f"/api/v1/tenants/{tid}/seats") == {"seat_limit": 2, "seats_used": 2}
    resp = await operator.request("PATCH", f"/api/v1/tenants/{tid}", json={"seat_limit": 1})
    assert resp.status == 409 and (await resp.json())["code"] == "seats_in_use"
    await operator.patch(f"/api/v1/tenants/{tid}", json={"seat_limit": 5})
    # Agents cannot create tenants.
    resp = await agent.request("POST", "/api/v1/tenants", json={"slug": "mine", "name": "Mine"})
    assert resp.status == 403


async def test_tenant_admin_edits_own_tenant_but_not_its_status_or_seats(operator: Api, client):
    tenant = await operator.post("/api/v1/tenants", expect=201, json={"slug": "acme", "name": "Acme"})
    await operator.post(f"/api/v1/tenants/{tenant['id']}/members", expect=201,
                        json={"email": "boss@acme.example", "password": PASSWORD, "role": "tenant_admin"})
    boss = await Api.login(client, "boss@acme.example", PASSWORD)
    edited = await boss.patch(f"/api/v1/tenants/{tenant['id']}", json={"name": "Acme GmbH", "timezone": "Asia/Shanghai"})
    assert (edited["name"], edited["timezone"]) == ("Acme GmbH", "Asia/Shanghai")
    for change in ({"seat_limit": 100}, {"status": "suspended"}):
        resp = await boss.request("PATCH", f"/api/v1/tenants/{tenant['id']}", json=change)
        assert resp.status == 403
    for bad in ({"timezone": "Mars/Olympus"}, {"allowed_origins": ["javascript:alert(1)"]}, {"allowed_origins": ["https://x.example/path"]}):
        resp = await boss.request("PATCH", f"/api/v1/tenants/{tenant['id']}", json=bad)
        assert resp.status == 422, bad
    secret = await boss.post(f"/api/v1/tenants/{tenant['id']}/widget-secret")
    assert len(secret["widget_secret"]) >= 32


async def test_suspending_a_tenant_shuts_its_people_out(operator: Api, agent: Api):
    tid = agent.tenant_id()
    conversation = await customer_writes(agent.client.app, tid, "ann@x.example", "chat", "hi")
    await operator.patch(f"/api/v1/tenants/{tid}", json={"status": "suspended"})
    await agent.get(f"/api/v1/conversations/{conversation}", expect=404)
    assert (await agent.get("/api/v1/conversations"))["items"] == []
    await operator.patch(f"/api/v1/tenants/{tid}", json={"status": "active"})
    await agent.get(f"/api/v1/conversations/{conversation}")


async def test_members_skills_and_capacity(operator: Api):
    tid = (await operator.get("/api/v1/tenants"))["items"][0]["id"]
    resp = await operator.request("POST", f"/api/v1/tenants/{tid}/members",
                                  json={"email": "new@demo.example", "password": PASSWORD, "skills": {"french": 3}})
    assert resp.status == 422 and (await resp.json())["code"] == "unknown_skill"
    await operator.post(f"/api/v1/tenants/{tid}/skills", expect=201, json={"name": "french"})
    resp = await operator.request("POST", f"/api/v1/tenants/{tid}/skills", json={"name": "french"})
    assert resp.status == 409
    member = await operator.post(f"/api/v1/tenants/{tid}/members", expect=201, json={
        "email": "New@Demo.example", "password": PASSWORD, "skills": {"french": 3}, "capacity": {"chat": 5}})
    assert member["email"] == "new@demo.example"
    assert member["capacity"] == {"voice": 1, "chat": 5, "email": 5, "fax": 5, "callback": 1}
    resp = await operator.request("POST", f"/api/v1/tenants/{tid}/members", json={"email": "x@demo.example"})
    assert resp.status == 422 and (await resp.json())["code"] == "password_required"
    resp = await operator.request("POST", f"/api/v1/tenants/{tid}/members", json={"email": "new@demo.example"})
    assert resp.status == 409 and (await resp.json())["code"] == "already_member"
    updated = await operator.patch(f"/api/v1/tenants/{tid}/members/{member['user_id']}", json={"role": "supervisor", "skills": {"french": 5}})
    assert (updated["role"], updated["skills"]) == ("supervisor", {"french": 5})
    resp = await operator.request("PATCH", f"/api/v1/tenants/{tid}/members/{member['user_id']}", json={"skills": {"french": 11}})
    assert resp.status == 422
    await operator.delete(f"/api/v1/tenants/{tid}/members/{member['user_id']}")
    emails = [m["email"] for m in (await operator.get(f"/api/v1/tenants/{tid}/members"))["items"]]
    assert "new@demo.example" not in emails
    # The removed member can still log in, but sees nothing of the tenant.
    gone = await Api.login(operator.client, "new@demo.example", PASSWORD)
    assert gone.me["memberships"] == []


async def test_tenant_admin_cannot_pull_in_an_existing_account(operator: Api, agent: Api, client):
    tenant = await operator.post("/api/v1/tenants", expect=201, json={"slug": "acme", "name": "Acme"})
    await operator.post(f"/api/v1/tenants/{tenant['id']}/members", expect=201,
                        json={"email": "boss@acme.example", "password": PASSWORD, "role": "tenant_admin"})
    boss = await Api.login(client, "boss@acme.example", PASSWORD)
    resp = await boss.request("POST", f"/api/v1/tenants/{tenant['id']}/members", json={"email": agent.me["user"]["email"]})
    assert resp.status == 409 and (await resp.json())["code"] == "account_exists"


async def test_queues(operator: Api):
    tid = (await operator.get("/api/v1/tenants"))["items"][0]["id"]
    queues = await operator.get(f"/api/v1/tenants/{tid}/queues")
    assert [q["name"] for q in queues["items"]] == ["General"]
    vip = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201,
                              json={"name": "VIP", "settings": {"sla_seconds": 20, "default_priority": 5}})
    assert vip["settings"] == {"sla_seconds": 20, "sla_by_channel": {}, "default_priority": 5, "required_skills": {}, "hours": None,
                               "overflow_after_seconds": None, "overflow_queue_id": None, "max_wait_seconds": None,
                                 "relax_skills_after_seconds": None, "relaxed_skills": None}
    resp = await operator.request("PATCH", f"/api/v1/tenants/{tid}/queues/{vip['id']}", json={"name": "General"})
    assert resp.status == 409
    resp = await operator.request("POST", f"/api/v1/tenants/{tid}/queues", json={"name": "X", "settings": {"default_priority": 12}})
    assert resp.status == 422
    renamed = await operator.patch(f"/api/v1/tenants/{tid}/queues/{vip['id']}", json={"name": "Gold"})
    assert renamed["name"] == "Gold"
    await operator.delete(f"/api/v1/tenants/{tid}/queues/{vip['id']}")
    await operator.delete(f"/api/v1/tenants/{tid}/queues/{vip['id']}", expect=404)

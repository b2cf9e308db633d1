"""Accounts: own password change, the operator's account management, the audit trail."""

from __future__ import annotations

from tests.helpers import Api

PASSWORD = "a good long password"


async def test_changing_your_password_ends_your_sessions(agent: Api, client, config):
    other_device = await Api.login(client, config.demo.agent_email, config.demo.agent_password)
    resp = await agent.request("POST", "/api/v1/auth/password", json={"current_password": "nope", "new_password": PASSWORD})
    assert resp.status == 400 and (await resp.json())["code"] == "wrong_password"
    await agent.post("/api/v1/auth/password", expect=204, json={"current_password": config.demo.agent_password, "new_password": PASSWORD})
    for api in (agent, other_device):
        assert (await api.request("GET", "/api/v1/auth/me")).status == 401
    await Api.login(client, config.demo.agent_email, PASSWORD)
    resp = await client.post("/api/v1/auth/login", json={"email": config.demo.agent_email, "password": config.demo.agent_password})
    assert resp.status == 401
    resp = await agent.request("POST", "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"})
    assert resp.status in (401, 422)


async def test_operator_disables_an_account_and_it_is_locked_out(operator: Api, agent: Api, client, config):
    found = await operator.get("/api/v1/users?q=demo%20agent")
    assert [u["email"] for u in found["items"]] == [config.demo.agent_email]
    user_id = found["items"][0]["id"]
    disabled = await operator.patch(f"/api/v1/users/{user_id}", json={"status": "disabled"})
    assert disabled["status"] == "disabled"
    assert (await agent.request("GET", "/api/v1/conversations")).status == 401
    resp = await client.post("/api/v1/auth/login", json={"email": config.demo.agent_email, "password": config.demo.agent_password})
    assert resp.status == 401
    await operator.patch(f"/api/v1/users/{user_id}", json={"status": "active", "password": PASSWORD})
    await Api.login(client, config.demo.agent_email, PASSWORD)
    # Agents manage no accounts.
    resp = await (await Api.login(client, config.demo.agent_email, PASSWORD)).request("GET", "/api/v1/users")
    assert resp.status == 403


async def test_admin_changes_are_in_the_audit_log(operator: Api):
    tid = (await operator.get("/api/v1/tenants"))["items"][0]["id"]
    await operator.post(f"/api/v1/tenants/{tid}/skills", expect=201, json={"name": "german"})
    queue = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Sales"})
    await operator.patch(f"/api/v1/tenants/{tid}", json={"seat_limit": 25})
    log = await operator.get(f"/api/v1/tenants/{tid}/audit-log?limit=2")
    assert [e["action"] for e in log["items"]] == ["tenant.updated", "queue.created"]
    assert log["items"][0]["data"] == {"seat_limit": 25}
    assert log["items"][0]["actor_user_id"] == operator.me["user"]["id"]
    assert log["items"][1]["target_id"] == queue["id"]
    older = await operator.get(f"/api/v1/tenants/{tid}/audit-log?limit=2&cursor={log['next_cursor']}")
    assert older["items"][0]["action"] == "skill.created"

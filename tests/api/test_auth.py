"""Login, sessions, CSRF, rate limits and API tokens, as the inbox and integrators meet them."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import DummyCookieJar

from gateway.app import create_app
from tests.conftest import make_config
from tests.helpers import Api


async def test_login_sets_an_httponly_session_cookie_and_me_answers(client, config):
    resp = await client.post("/api/v1/auth/login", json={"email": "Agent@Demo.Example", "password": config.demo.agent_password})
    assert resp.status == 200
    cookie = resp.cookies["wecc_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    body = await resp.json()
    assert body["user"]["email"] == "agent@demo.example"
    assert [m["tenant_slug"] for m in body["memberships"]] == ["demo"]
    assert body["csrf_token"]
    me = await client.get("/api/v1/auth/me", cookies={"wecc_session": cookie.value})
    assert (await me.json())["user"]["id"] == body["user"]["id"]


async def test_wrong_password_and_unknown_account_get_the_same_answer(client, config):
    wrong = await client.post("/api/v1/auth/login", json={"email": config.demo.agent_email, "password": "nope"})
    unknown = await client.post("/api/v1/auth/login", json={"email": "nobody@demo.example", "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.json())["message"] == (await unknown.json())["message"]
    assert "wecc_session" not in wrong.cookies


async def test_requests_without_a_session_are_refused(client):
    resp = await client.get("/api/v1/conversations")
    assert resp.status == 401
    assert (await resp.json())["code"] == "unauthenticated"


async def test_state_change_without_the_csrf_token_is_refused(agent: Api):
    tenant_id = agent.tenant_id()
    resp = await agent.request("POST", "/api/v1/contacts", json={"tenant_id": tenant_id, "name": "X"}, headers={"X-CSRF-Token": "forged"})
    assert resp.status == 403
    assert (await resp.json())["code"] == "csrf_failed"
    agent.csrf = None
    resp = await agent.request("POST", "/api/v1/contacts", json={"tenant_id": tenant_id, "name": "X"})
    assert resp.status == 403
    contacts = await agent.get(f"/api/v1/contacts?tenant_id={tenant_id}")
    assert contacts["items"] == []  # nothing was created by the refused requests


async def test_form_posts_are_refused(agent: Api):
    resp = await agent.request("POST", "/api/v1/contacts", data="tenant_id=x&name=y",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415


async def test_login_from_another_site_is_refused(client, config):
    resp = await client.post("/api/v1/auth/login", json={"email": config.demo.agent_email, "password": config.demo.agent_password},
                             headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert (await resp.json())["code"] == "bad_origin"


async def test_logout_ends_the_session(agent: Api):
    cookie = agent.cookies["wecc_session"].value
    await agent.post("/api/v1/auth/logout", expect=204)
    resp = await agent.client.get("/api/v1/auth/me", cookies={"wecc_session": cookie})
    assert resp.status == 401


async def test_login_attempts_are_rate_limited_per_account(aiohttp_client, tmp_path: Path):
    config = make_config(tmp_path / "data", auth={"login_attempts_per_account": 3, "login_window_seconds": 60})
    client = await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())
    for _ in range(3):
        resp = await client.post("/api/v1/auth/login", json={"email": config.demo.agent_email, "password": "guess"})
        assert resp.status == 401
    # Even the right password is refused now, until the window passes.
    resp = await client.post("/api/v1/auth/login", json={"email": config.demo.agent_email, "password": config.demo.agent_password})
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert (await resp.json())["code"] == "rate_limited"
    # Another account from the same address is not locked out by it.
    resp = await client.post("/api/v1/auth/login", json={"email": config.demo.operator_email, "password": config.demo.operator_password})
    assert resp.status == 200


async def test_login_attempts_are_rate_limited_per_address(aiohttp_client, tmp_path: Path):
    config = make_config(tmp_path / "data", auth={"login_attempts_per_ip": 4})
    client = await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())
    statuses = [
        (await client.post("/api/v1/auth/login", json={"email": f"user{i}@x.example", "password": "guess"})).status
        for i in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 429, 429]


async def test_api_token_acts_within_its_tenant_and_scopes(agent: Api, operator: Api, client):
    tenant_id = agent.tenant_id()
    created = await operator.post(f"/api/v1/tenants/{tenant_id}/api-tokens", expect=201,
                                  json={"name": "crm sync", "scopes": ["contacts:read", "contacts:write"]})
    token = Api(client, token=created["token"])
    contact = await token.post("/api/v1/contacts", expect=201, json={"tenant_id": tenant_id, "name": "From CRM",
                                                                    "identities": [{"kind": "external", "value": "crm-42"}]})
    assert contact["identities"][0]["value"] == "crm-42"
    # No CSRF header needed for a bearer token, but no conversations scope either.
    resp = await token.request("GET", "/api/v1/conversations")
    assert (await resp.json())["items"] == []
    resp = await token.request("POST", "/api/v1/conversations", json={"tenant_id": tenant_id, "contact_id": contact["id"], "channel": "email"})
    assert resp.status == 403
    # The secret is never shown again, and revoking it locks it out.
    listed = await operator.get(f"/api/v1/tenants/{tenant_id}/api-tokens")
    assert created["token"] not in str(listed)
    await operator.delete(f"/api/v1/tenants/{tenant_id}/api-tokens/{created['id']}")
    resp = await token.request("GET", "/api/v1/contacts")
    assert resp.status == 401
    assert (await resp.json())["code"] == "invalid_token"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer wecc_unknown"])
async def test_malformed_or_unknown_tokens_are_refused(client, header):
    resp = await client.get("/api/v1/contacts", headers={"Authorization": header})
    assert resp.status == 401

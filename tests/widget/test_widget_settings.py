"""A tenant's widget settings: admins set them, the widget reads their public part at page load,
and the pre-chat form the visitor fills in is checked against them — a department picker sends the
chat to its queue."""

from __future__ import annotations


import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.db import schema as t
from gateway.keys import CONFIG, DB
from tests.helpers import Api
from tests.realtime.support import Sockets

WIDGET = "demo-widget-key"


def department_form(sales_queue: str) -> dict:
    return {
        "title": "Talk to Demo Co", "color": "#aa3300", "position": "left", "locale": "zh-CN",
        "prechat": {"name": "required", "email": "optional", "fields": [
            {"name": "department", "label": "Department", "type": "select", "required": True,
             "options": [{"value": "sales", "label": "Sales", "queue_id": sales_queue}, {"value": "support", "label": "Support"}]},
            {"name": "order", "label": "Order number"},
        ]},
        "proactive": [{"id": "pricing", "message": "Questions about plans?", "after_seconds": 20, "url_pattern": "/pricing*"}],
        "cobrowse": {"mask_selectors": [".account-number"], "block_selectors": ["#loyalty-card", "iframe.payment"]},
    }


async def test_the_widget_reads_its_tenants_settings_without_queue_ids(client: TestClient, operator: Api, agent: Api):
    tid = agent.tenant_id()
    sales = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Sales"})
    default = await client.get("/api/v1/widget/config", params={"key": WIDGET})
    assert default.status == 200 and (await default.json())["prechat"]["fields"] == []
    saved = await operator.put(f"/api/v1/tenants/{tid}/widget/settings", json=department_form(sales["id"]))
    assert saved["prechat"]["fields"][0]["options"][0]["queue_id"] == sales["id"]
    # Supervisors may read what admins set; only admins change it.
    assert (await agent.get(f"/api/v1/tenants/{tid}/widget/settings"))["title"] == "Talk to Demo Co"
    await agent.put(f"/api/v1/tenants/{tid}/widget/settings", expect=403, json={})

    response = await client.get("/api/v1/widget/config", params={"key": WIDGET}, headers={"Origin": "https://shop.example"})
    assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    config = await response.json()
    assert (config["title"], config["color"], config["position"], config["locale"]) == ("Talk to Demo Co", "#aa3300", "left", "zh-CN")
    assert config["proactive"] == [{"id": "pricing", "message": "Questions about plans?", "after_seconds": 20, "url_pattern": "/pricing*"}]
    assert config["uploads"]["max_bytes"] == client.app[CONFIG].uploads.max_bytes
    # The site's own private parts, which the visitor's browser keeps from co-browsing agents.
    assert config["cobrowse"] == {"enabled": True, "control": True, "mask_selectors": [".account-number"],
                                  "block_selectors": ["#loyalty-card", "iframe.payment"]}
    assert sales["id"] not in await response.text()  # the queue is the tenant's internal business
    assert [o["value"] for o in config["prechat"]["fields"][0]["options"]] == ["sales", "support"]

    unknown = await client.get("/api/v1/widget/config", params={"key": "no-such-key"})
    assert unknown.status == 404 and (await unknown.json())["code"] == "unknown_widget"
    assert unknown.headers["Access-Control-Allow-Origin"] == "*"  # so the widget can read why


@pytest.mark.parametrize("settings, wrong", [
    ({"color": "red"}, "color"),
    ({"position": "top"}, "position"),
    ({"prechat": {"fields": [{"name": "dept", "label": "Dept", "type": "select"}]}}, "needs options"),
    ({"prechat": {"fields": [{"name": "email", "label": "E-mail"}]}}, "built in"),
    ({"prechat": {"fields": [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}]}}, "same name"),
    ({"prechat": {"fields": [{"name": "a", "label": "A", "options": [{"value": "x", "label": "X"}]}]}}, "only select"),
    ({"proactive": [{"id": "x", "message": "hi"}, {"id": "x", "message": "again"}]}, "same id"),
    ({"surprise": True}, "surprise"),
    ({"cobrowse": {"mask_selectors": ["#account-number", "input["]}}, "'input[' is not a CSS selector"),
    ({"cobrowse": {"mask_selectors": [".ssn:privat"]}}, "pseudo-class :privat is unknown"),
    ({"cobrowse": {"block_selectors": ['p:contains("card")']}}, "no :contains()"),
    ({"cobrowse": {"block_selectors": ["p::before"]}}, "pseudo-element"),
    ({"cobrowse": {"block_selectors": [""]}}, "1 to 300"),
])
async def test_bad_widget_settings_are_refused_with_the_reason(operator: Api, agent: Api, settings, wrong):
    tid = agent.tenant_id()
    refused = await operator.put(f"/api/v1/tenants/{tid}/widget/settings", expect=422, json=settings)
    assert wrong in str(refused)


async def test_a_department_must_route_to_a_queue_of_the_same_tenant(operator: Api, agent: Api):
    other = await operator.post("/api/v1/tenants", expect=201, json={"slug": "other", "name": "Other Ltd"})
    foreign = await operator.post(f"/api/v1/tenants/{other['id']}/queues", expect=201, json={"name": "Theirs"})
    refused = await operator.put(f"/api/v1/tenants/{agent.tenant_id()}/widget/settings", expect=422,
                                 json=department_form(foreign["id"]))
    assert refused["code"] == "unknown_queue"


async def test_the_pre_chat_form_is_checked_and_the_department_picks_the_queue(client: TestClient, operator: Api, agent: Api,
                                                                              sockets: Sockets):
    tid = agent.tenant_id()
    sales = await operator.post(f"/api/v1/tenants/{tid}/queues", expect=201, json={"name": "Sales"})
    await operator.put(f"/api/v1/tenants/{tid}/widget/settings", json=department_form(sales["id"]))
    me = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-form-0001"})
    base = {"client_id": "c-700000001", "text": "How much is the pro plan?", "name": "Ann"}
    for fields, name, why in (({"department": "sales"}, "", "your name"),
                              ({}, "Ann", "Department"),
                              ({"department": "marketing"}, "Ann", "not a choice"),
                              ({"department": "sales", "shoe_size": "9"}, "Ann", "unknown form field")):
        refused = await me.call("start_chat", {**base, "name": name, "fields": fields})
        assert (refused["ok"], refused["code"]) == (False, "invalid_form") and why in refused["message"], fields
    bad_email = await me.call("start_chat", {**base, "email": "not-an-address", "fields": {"department": "sales"}})
    assert "e-mail" in bad_email["message"]

    started = await me.call("start_chat", {**base, "fields": {"department": "sales", "order": "A-1"}})
    assert started["ok"], started
    async with client.app[DB].connect() as conn:
        queue_of_task = (await conn.execute(sa.select(t.tasks.c.queue_id).where(
            t.tasks.c.conversation_id == started["conversation_id"]))).scalar_one()
    assert queue_of_task == sales["id"]
    # A department with no queue of its own goes to the tenant's default queue.
    other = await sockets.connect("/visitor", auth={"widget_key": WIDGET, "visitor_id": "visitor-form-0002"})
    support = await other.call("start_chat", {**base, "client_id": "c-700000002", "fields": {"department": "support"}})
    async with client.app[DB].connect() as conn:
        queue_of_task = (await conn.execute(sa.select(t.tasks.c.queue_id).where(
            t.tasks.c.conversation_id == support["conversation_id"]))).scalar_one()
    assert queue_of_task != sales["id"]

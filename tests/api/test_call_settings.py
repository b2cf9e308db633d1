"""A tenant admin decides whether the tenant's calls are recorded and which country numbers
written without one belong to; supervisors may read it, agents may not; bad values are refused."""

from __future__ import annotations

from tests.helpers import Api
from tests.realtime.support import add_member


async def test_an_admin_switches_recording_off_and_sets_the_numbers_country(client, operator: Api, agent: Api):
    tid = agent.tenant_id()
    url = f"/api/v1/tenants/{tid}/calls/settings"
    defaults = {"greeting": "", "menu": [], "menu_timeout_seconds": 10, "callback_countries": [],
                "callback_attempts": 3, "callback_retry_minutes": 10}
    assert await agent.get(url) == {"record": True, "default_region": "", **defaults}  # the demo agent supervises
    assert await operator.put(url, json={"record": False, "default_region": "gb"}) == {"record": False, "default_region": "GB", **defaults}
    assert await agent.get(url) == {"record": False, "default_region": "GB", **defaults}
    refused = await operator.put(url, json={"record": True, "default_region": "XX"}, expect=422)
    assert refused["code"] == "validation_error" and "country code" in str(refused["details"])
    await operator.put(url, json={"recording": True}, expect=422)
    plain = await add_member(client, operator, tid, "plain-calls@demo.example", "agent")
    await plain.get(url, expect=403)
    await agent.put(url, json={"record": True}, expect=403)  # a supervisor reads, an admin writes


async def test_a_phone_menu_leads_to_the_tenants_own_queues_with_one_queue_per_key(client, operator: Api, agent: Api):
    tid = agent.tenant_id()
    url = f"/api/v1/tenants/{tid}/calls/settings"
    sales = await operator.post(f"/api/v1/tenants/{tid}/queues", json={"name": "Sales line"}, expect=201)
    menu = [{"key": "1", "label": "sales", "queue_id": sales["id"]}, {"key": "2", "label": "anything else"}]
    saved = await operator.put(url, json={"greeting": "Thanks for calling Demo.", "menu": menu})
    no_skill = {"skill": None, "skill_level": 1}
    assert saved["menu"] == [{**menu[0], **no_skill}, {**menu[1], "queue_id": None, **no_skill}]
    unknown = await operator.put(url, json={"menu": [{"key": "1", "label": "x", "queue_id": "not-ours"}]}, expect=422)
    assert "no such queue in this tenant" in unknown["message"]
    twice = await operator.put(url, json={"menu": [{"key": "1", "label": "a"}, {"key": "1", "label": "b"}]}, expect=422)
    assert "one queue only" in str(twice["details"])
    await operator.put(url, json={"menu": [{"key": "12", "label": "a"}]}, expect=422)
    assert (await operator.put(url, json={"callback_countries": ["gb", "de", "gb"]}))["callback_countries"] == ["DE", "GB"]
    await operator.put(url, json={"callback_countries": ["XX"]}, expect=422)
    retries = await operator.put(url, json={"callback_attempts": 5, "callback_retry_minutes": 30})
    assert (retries["callback_attempts"], retries["callback_retry_minutes"]) == (5, 30)
    await operator.put(url, json={"callback_attempts": 0}, expect=422)
    await operator.put(url, json={"callback_retry_minutes": 0}, expect=422)

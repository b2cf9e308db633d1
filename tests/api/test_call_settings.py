"""A tenant admin decides whether the tenant's calls are recorded and which country numbers
written without one belong to; supervisors may read it, agents may not; bad values are refused."""

from __future__ import annotations

from tests.helpers import Api
from tests.realtime.support import add_member


async def test_an_admin_switches_recording_off_and_sets_the_numbers_country(client, operator: Api, agent: Api):
    tid = agent.tenant_id()
    url = f"/api/v1/tenants/{tid}/calls/settings"
    assert await agent.get(url) == {"record": True, "default_region": ""}  # the demo agent supervises
    assert await operator.put(url, json={"record": False, "default_region": "gb"}) == {"record": False, "default_region": "GB"}
    assert await agent.get(url) == {"record": False, "default_region": "GB"}
    refused = await operator.put(url, json={"record": True, "default_region": "XX"}, expect=422)
    assert refused["code"] == "validation_error" and "country code" in str(refused["details"])
    await operator.put(url, json={"recording": True}, expect=422)
    plain = await add_member(client, operator, tid, "plain-calls@demo.example", "agent")
    await plain.get(url, expect=403)
    await agent.put(url, json={"record": True}, expect=403)  # a supervisor reads, an admin writes

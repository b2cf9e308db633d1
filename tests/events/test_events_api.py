"""The tenant's event history as admins and supervisors read it."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.events.conftest import PASSWORD, new_contact
from tests.helpers import Api


async def test_events_are_listed_newest_first_by_type_and_page(client: TestClient, agent: Api, operator: Api) -> None:
    app = client.server.app
    tenant_id = agent.tenant_id()  # the demo agent supervises the demo tenant
    recorded = [await new_contact(app, tenant_id, f"person{n}@example.com") for n in range(3)]
    other = await operator.post("/api/v1/tenants", 201, json={"slug": "acme", "name": "Acme"})
    await new_contact(app, other["id"], "elsewhere@example.com")

    url = f"/api/v1/tenants/{tenant_id}/events?type=contact.created&limit=2"
    first = await agent.get(url)
    second = await agent.get(f"{url}&cursor={first['next_cursor']}")
    assert second["next_cursor"] is None
    listed = first["items"] + second["items"]
    assert [e["id"] for e in listed] == [e.id for e in reversed(recorded)]
    assert listed[0]["data"] == recorded[-1].data and listed[0]["type"] == "contact.created"

    assert (await agent.get(f"/api/v1/tenants/{tenant_id}/events?type=task.queued"))["items"] == []
    assert (await agent.get(f"/api/v1/tenants/{tenant_id}/events?cursor=nonsense", 400))["code"] == "invalid_cursor"
    assert (await agent.get(f"/api/v1/tenants/{other['id']}/events", 404))["code"] == "not_found"
    # Operators see any tenant's.
    assert len((await operator.get(f"/api/v1/tenants/{other['id']}/events"))["items"]) == 1


async def test_plain_agents_cannot_read_the_event_history(client: TestClient, agent: Api, operator: Api) -> None:
    tenant_id = agent.tenant_id()
    await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201,
                        json={"email": "plain@demo.example", "password": PASSWORD, "role": "agent"})
    plain = await Api.login(client, "plain@demo.example", PASSWORD)
    assert (await plain.get(f"/api/v1/tenants/{tenant_id}/events", 403))["code"] == "forbidden"

"""/metrics as Prometheus scrapes it."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.core.contacts import identify_contact
from gateway.core.conversations import enqueue_task, open_conversation
from gateway.db import schema as t
from gateway.keys import DB
from tests.helpers import Api


async def scrape(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(await resp.text()):  # fails on anything malformed
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


async def test_requests_are_counted_by_route_template(client: TestClient, agent: Api) -> None:
    conversation_id = "01234567-89ab-7def-8123-456789abcdef"
    for _ in range(2):
        await agent.get(f"/api/v1/conversations/{conversation_id}", expect=404)
    await client.get("/no/such/page")

    resp = await client.get("/metrics")
    text = await resp.text()
    assert conversation_id not in text  # ids in labels would explode the series count
    samples = await scrape(client)
    requests = {(s["method"], s["route"], s["status"]): v for s, v in samples["wecc_http_requests_total"]}
    assert requests[("GET", "/api/v1/conversations/{conversation_id}", "404")] == 2
    assert requests[("POST", "/api/v1/auth/login", "200")] == 1
    assert requests[("GET", "unmatched", "404")] == 1
    durations = {s["route"]: v for s, v in samples["wecc_http_request_seconds_count"]}
    assert durations["/api/v1/conversations/{conversation_id}"] == 2


async def test_queued_tasks_per_tenant_and_channel(client: TestClient) -> None:
    engine = client.app[DB]
    async with engine.begin() as conn:
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
        contact = await identify_contact(conn, tenant_id, "email", "ann@example.com")
        for channel in ("chat", "chat", "email"):
            conversation_id, _ = await open_conversation(conn, tenant_id, contact.contact_id, channel)
            await enqueue_task(conn, tenant_id, conversation_id, channel)

    queued = {(s["tenant"], s["channel"]): v for s, v in (await scrape(client))["wecc_queued_tasks"]}
    assert queued == {(tenant_id, "chat"): 2, (tenant_id, "email"): 1}

    # A task that is no longer waiting leaves the gauge; a channel with none left disappears.
    async with engine.begin() as conn:
        await conn.execute(sa.update(t.tasks).where(t.tasks.c.channel == "email").values(state="assigned"))
    queued = {(s["tenant"], s["channel"]): v for s, v in (await scrape(client))["wecc_queued_tasks"]}
    assert queued == {(tenant_id, "chat"): 2}

"""What a load balancer and an orchestrator see: liveness and readiness."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from gateway.app import EMBEDDED_REDIS


async def test_healthz_answers(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_readyz_when_everything_answers(client: TestClient) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_names_redis_when_it_is_gone(client: TestClient) -> None:
    await client.app[EMBEDDED_REDIS].stop()
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")
    # Still alive, just not ready: an orchestrator should not restart it for a Redis outage.
    assert (await client.get("/healthz")).status == 200

"""Several gateway processes share one database: every one runs the delivery worker, and each
delivery still reaches the receiver once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Config
from tests.conftest import make_config
from tests.events.conftest import Receiver, new_contact, poll_until
from tests.helpers import Api

EVENTS = 12


@pytest.fixture
async def gateways(tmp_path: Path, database_url: str) -> AsyncIterator[list[TestClient]]:
    clients = []
    try:
        for name in ("one", "two", "three"):
            config = make_config(tmp_path / name, database={"url": database_url},
                                 webhooks={"allow_private_addresses": True, "poll_seconds": 0.02})
            client = TestClient(TestServer(create_app(config)), cookie_jar=DummyCookieJar())
            await client.start_server()
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            await client.close()


async def test_each_delivery_is_sent_once_however_many_workers_run(gateways: list[TestClient], receiver: Receiver) -> None:
    demo = Config().demo
    operator = await Api.login(gateways[0], demo.operator_email, demo.operator_password)
    tenant_id = next(t["id"] for t in (await operator.get("/api/v1/tenants"))["items"] if t["slug"] == "demo")
    hook = await operator.post(f"/api/v1/tenants/{tenant_id}/webhooks", 201, json={"url": receiver.url})

    for n in range(EVENTS):  # recorded on every gateway in turn
        await new_contact(gateways[n % len(gateways)].server.app, tenant_id, f"person{n}@example.com")
    await receiver.wait_for(EVENTS)
    deliveries = f"/api/v1/tenants/{tenant_id}/webhooks/{hook['id']}/deliveries?limit=100"
    page = await poll_until(lambda: operator.get(f"{deliveries}&status=delivered"), lambda p: len(p["items"]) == EVENTS)

    sent = Counter(r.headers["X-WECC-Delivery"] for r in receiver.requests)
    assert set(sent) == {d["id"] for d in page["items"]}
    assert set(sent.values()) == {1}
    assert {d["attempts"] for d in page["items"]} == {1}

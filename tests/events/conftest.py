from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Config
from gateway.core.contacts import identify_contact
from gateway.keys import DB, EVENTS
from tests.conftest import make_config
from tests.helpers import Api

FIRST_RETRY_SECONDS = 0.2
MAX_ATTEMPTS = 3
PASSWORD = "password-123"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Webhooks post to a receiver on 127.0.0.1, with retries fast enough for tests.
    return make_config(tmp_path / "data", webhooks={
        "allow_private_addresses": True, "first_retry_seconds": FIRST_RETRY_SECONDS, "poll_seconds": 0.05,
        "max_attempts": MAX_ATTEMPTS, "timeout_seconds": 2.0,
    })


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A tenant's webhook endpoint: records every request and answers with `status`."""

    url: str = ""
    status: int = 200
    requests: list[Received] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(Received(dict(request.headers), await request.read(), asyncio.get_running_loop().time()))
        return web.Response(status=self.status, text="nope" if self.status >= 300 else "thanks")

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.requests) < count:
            assert loop.time() < deadline, f"{len(self.requests)} of {count} requests arrived in {timeout} s"
            await asyncio.sleep(0.01)
        return self.requests


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Receiver:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    server = await aiohttp_server(app)
    hook.url = str(server.make_url("/hook"))
    return hook


@pytest.fixture
async def admin(client: TestClient, operator: Api) -> Api:
    """A tenant admin of the demo tenant."""
    tenant_id = next(t["id"] for t in (await operator.get("/api/v1/tenants"))["items"] if t["slug"] == "demo")
    await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201,
                        json={"email": "admin@demo.example", "password": PASSWORD, "role": "tenant_admin"})
    return await Api.login(client, "admin@demo.example", PASSWORD)


async def new_contact(app: web.Application, tenant_id: str, email: str) -> Any:
    """Something happens in the tenant: a contact.created event, recorded and published."""
    async with app[DB].begin() as conn:
        identified = await identify_contact(conn, tenant_id, "email", email, name="Ada")
    await app[EVENTS].publish(*identified.events)
    return identified.events[0]


async def poll_until(fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(value := await fetch()):
        assert loop.time() < deadline, f"not done in {timeout} s: {value}"
        await asyncio.sleep(0.02)
    return value

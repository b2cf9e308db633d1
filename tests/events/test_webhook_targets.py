"""With the default `webhooks.allow_private_addresses = false`, webhooks cannot be aimed at the
center's own network — neither when saved nor when a saved one is delivered."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.keys import DB
from tests.conftest import make_config
from tests.events.conftest import Receiver, new_contact, poll_until
from tests.helpers import Api


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", webhooks={"poll_seconds": 0.05, "first_retry_seconds": 0.05, "max_attempts": 1})


UNSAFE_URLS = [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook", "http://[::ffff:192.168.0.1]/hook", "http://0.0.0.0/hook", "http://224.0.0.1/hook",
    "http://100.64.0.1/hook", "http://no-such-host.invalid/hook",
]


async def test_private_or_unresolvable_targets_are_refused(admin: Api) -> None:
    base = f"/api/v1/tenants/{admin.tenant_id()}/webhooks"
    hook = await admin.post(base, 201, json={"url": "https://93.184.215.14/hook"})  # a public address
    for url in UNSAFE_URLS:
        assert (await admin.post(base, 422, json={"url": url}))["code"] == "unsafe_url", url
        assert (await admin.patch(f"{base}/{hook['id']}", 422, json={"url": url}))["code"] == "unsafe_url", url
    assert [h["url"] for h in (await admin.get(base))["items"]] == ["https://93.184.215.14/hook"]


async def test_delivery_to_a_private_address_is_refused(client: TestClient, admin: Api, receiver: Receiver) -> None:
    """A webhook saved earlier (or whose name now resolves inside the network) is checked again at
    each delivery, on the address actually connected to."""
    app = client.server.app
    tenant_id = admin.tenant_id()
    literal = receiver.url  # http://127.0.0.1:port/hook
    by_name = literal.replace("127.0.0.1", "localhost")
    async with app[DB].begin() as conn:
        for url in (literal, by_name):
            await conn.execute(sa.insert(t.webhooks).values(
                id=new_id(), tenant_id=tenant_id, url=url, secret="s3cret", event_types=[], active=True, created_at=utcnow()))
    await new_contact(app, tenant_id, "ada@example.com")

    hooks = (await admin.get(f"/api/v1/tenants/{tenant_id}/webhooks"))["items"]
    assert {h["url"] for h in hooks} == {literal, by_name}
    for hook in hooks:
        page = await poll_until(lambda: admin.get(f"/api/v1/tenants/{tenant_id}/webhooks/{hook['id']}/deliveries?status=failed"),
                                lambda p: p["items"])
        error = page["items"][0]["last_error"]
        assert "private or reserved address" in error, error
        assert page["items"][0]["last_status_code"] is None
    assert receiver.requests == []

"""The events a webhook can subscribe to, for the admin page's choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Config
from gateway.events.types import EVENT_TYPES
from tests.conftest import make_config
from tests.helpers import Api


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", webhooks={"allow_private_addresses": True})


async def test_anyone_signed_in_reads_the_event_types_a_webhook_accepts(client, agent: Api, operator: Api) -> None:
    names = [e["name"] for e in (await agent.get("/api/v1/webhook-event-types"))["items"]]
    assert names == sorted(EVENT_TYPES)
    assert (await client.get("/api/v1/webhook-event-types")).status == 401
    # Every one of them is a valid subscription.
    hook = await operator.post(f"/api/v1/tenants/{agent.tenant_id()}/webhooks", 201,
                               json={"url": "http://127.0.0.1:9/hook", "event_types": names, "active": False})
    assert hook["event_types"] == names

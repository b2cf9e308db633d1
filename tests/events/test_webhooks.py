"""Tenant webhooks as a tenant admin and their receiving server experience them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest
from aiohttp.test_utils import TestClient

from tests.events.conftest import FIRST_RETRY_SECONDS, MAX_ATTEMPTS, PASSWORD, Receiver, new_contact, poll_until
from tests.helpers import Api


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The recipe from gateway/events/webhooks.py, as a receiver would write it."""
    timestamp = headers["X-WECC-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["X-WECC-Signature"])


async def test_deliveries_are_signed_with_the_webhooks_secret(client: TestClient, admin: Api, receiver: Receiver) -> None:
    tenant_id = admin.tenant_id()
    hook = await admin.post(f"/api/v1/tenants/{tenant_id}/webhooks", 201, json={"url": receiver.url, "event_types": ["contact.created"]})
    assert hook["secret"].startswith("whsec_") and hook["event_types"] == ["contact.created"] and hook["active"]

    event = await new_contact(client.server.app, tenant_id, "ada@example.com")
    (request,) = await receiver.wait_for(1)
    assert verify(hook["secret"], request.headers, request.body)
    assert not verify("another-secret", request.headers, request.body)
    assert abs(int(request.headers["X-WECC-Timestamp"]) - time.time()) < 300
    assert request.headers["X-WECC-Event"] == "contact.created"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {**event.as_json(), "data": {"contact_id": event.data["contact_id"], "name": "Ada"}}

    page = await poll_until(lambda: admin.get(f"/api/v1/tenants/{tenant_id}/webhooks/{hook['id']}/deliveries"),
                            lambda p: p["items"] and p["items"][0]["status"] == "delivered")
    (delivery,) = page["items"]
    assert delivery["id"] == request.headers["X-WECC-Delivery"]
    assert delivery["event_type"] == "contact.created" and delivery["attempts"] == 1 and delivery["last_status_code"] == 200


async def test_failing_receiver_is_retried_with_backoff_then_failed_and_can_be_retried(
    client: TestClient, admin: Api, receiver: Receiver
) -> None:
    tenant_id = admin.tenant_id()
    hook = await admin.post(f"/api/v1/tenants/{tenant_id}/webhooks", 201, json={"url": receiver.url})
    deliveries = f"/api/v1/tenants/{tenant_id}/webhooks/{hook['id']}/deliveries"
    receiver.status = 500

    await new_contact(client.server.app, tenant_id, "ada@example.com")
    page = await poll_until(lambda: admin.get(f"{deliveries}?status=failed"), lambda p: p["items"])
    (delivery,) = page["items"]
    assert delivery["attempts"] == MAX_ATTEMPTS
    assert delivery["last_status_code"] == 500 and delivery["last_error"] == "HTTP 500: nope"
    assert (await admin.get(f"{deliveries}?status=pending"))["items"] == []

    attempts = receiver.requests
    assert len(attempts) == MAX_ATTEMPTS
    assert {a.headers["X-WECC-Delivery"] for a in attempts} == {delivery["id"]}
    # Each wait is at least the doubled backoff less its 10 % jitter.
    gaps = [later.at - earlier.at for earlier, later in zip(attempts, attempts[1:])]
    assert gaps[0] >= FIRST_RETRY_SECONDS * 0.9 and gaps[1] >= 2 * FIRST_RETRY_SECONDS * 0.9

    # Fixed on the receiver's side: the admin sends it again.
    receiver.status = 204
    retried = await admin.post(f"{deliveries}/{delivery['id']}/retry")
    assert retried["status"] == "pending"
    page = await poll_until(lambda: admin.get(f"{deliveries}?status=delivered"), lambda p: p["items"])
    assert page["items"][0]["last_status_code"] == 204 and page["items"][0]["last_error"] is None
    assert len(receiver.requests) == MAX_ATTEMPTS + 1
    conflict = await admin.post(f"{deliveries}/{delivery['id']}/retry", 409)
    assert conflict["code"] == "not_failed"


async def test_webhook_lifecycle_and_event_filter(client: TestClient, admin: Api, receiver: Receiver) -> None:
    tenant_id = admin.tenant_id()
    base = f"/api/v1/tenants/{tenant_id}/webhooks"
    hook = await admin.post(base, 201, json={"url": receiver.url, "event_types": ["conversation.created"]})

    bad = await admin.post(base, 422, json={"url": receiver.url, "event_types": ["contact.exploded"]})
    assert "contact.exploded" in str(bad["details"])
    assert (await admin.post(base, 422, json={"url": "ftp://example.com/x"}))["code"] == "validation_error"
    assert (await admin.post(base, 422, json={"url": "https://example.com/" + "x" * 2000}))["code"] == "validation_error"

    await new_contact(client.server.app, tenant_id, "ada@example.com")  # not subscribed
    assert (await admin.get(f"{base}/{hook['id']}/deliveries"))["items"] == []

    updated = await admin.patch(f"{base}/{hook['id']}", json={"event_types": [], "active": False})
    assert updated["event_types"] == [] and updated["active"] is False
    await new_contact(client.server.app, tenant_id, "bob@example.com")  # inactive: nothing queued
    assert (await admin.get(f"{base}/{hook['id']}/deliveries"))["items"] == []

    await admin.patch(f"{base}/{hook['id']}", json={"active": True})
    await new_contact(client.server.app, tenant_id, "cy@example.com")  # every event now
    await receiver.wait_for(1)

    assert [h["id"] for h in (await admin.get(base))["items"]] == [hook["id"]]
    await admin.delete(f"{base}/{hook['id']}")
    assert (await admin.get(f"{base}/{hook['id']}", 404))["code"] == "not_found"
    assert (await admin.get(base))["items"] == []


async def test_deliveries_are_paginated_newest_first(client: TestClient, admin: Api, receiver: Receiver) -> None:
    tenant_id = admin.tenant_id()
    hook = await admin.post(f"/api/v1/tenants/{tenant_id}/webhooks", 201, json={"url": receiver.url})
    for n in range(5):
        await new_contact(client.server.app, tenant_id, f"person{n}@example.com")
    await receiver.wait_for(5)
    url = f"/api/v1/tenants/{tenant_id}/webhooks/{hook['id']}/deliveries?limit=2"
    seen, cursor = [], None
    while True:
        page = await admin.get(url + (f"&cursor={cursor}" if cursor else ""))
        seen += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == 5 and len({d["id"] for d in seen}) == 5
    assert [d["event_id"] for d in seen] == sorted((d["event_id"] for d in seen), reverse=True)
    assert (await admin.get(url + "&cursor=bogus", 400))["code"] == "invalid_cursor"


async def test_another_tenants_admin_learns_nothing(client: TestClient, admin: Api, operator: Api, receiver: Receiver) -> None:
    tenant_id = admin.tenant_id()
    receiver.status = 500
    hook = await admin.post(f"/api/v1/tenants/{tenant_id}/webhooks", 201, json={"url": receiver.url})
    await new_contact(client.server.app, tenant_id, "ada@example.com")
    page = await poll_until(lambda: admin.get(f"/api/v1/tenants/{tenant_id}/webhooks/{hook['id']}/deliveries?status=failed"),
                            lambda p: p["items"])
    delivery_id = page["items"][0]["id"]

    other = await operator.post("/api/v1/tenants", 201, json={"slug": "acme", "name": "Acme"})
    await operator.post(f"/api/v1/tenants/{other['id']}/members", 201,
                        json={"email": "admin@acme.example", "password": PASSWORD, "role": "tenant_admin"})
    intruder = await Api.login(client, "admin@acme.example", PASSWORD)
    mine = f"/api/v1/tenants/{tenant_id}/webhooks"
    theirs = f"/api/v1/tenants/{other['id']}/webhooks"
    for method, path, body in [
        ("GET", mine, None), ("POST", mine, {"url": receiver.url}), ("GET", f"{mine}/{hook['id']}", None),
        ("PATCH", f"{mine}/{hook['id']}", {"active": False}), ("DELETE", f"{mine}/{hook['id']}", None),
        ("GET", f"{mine}/{hook['id']}/deliveries", None), ("POST", f"{mine}/{hook['id']}/deliveries/{delivery_id}/retry", None),
        # Tenant A's ids under the intruder's own tenant: as if they did not exist.
        ("GET", f"{theirs}/{hook['id']}", None), ("PATCH", f"{theirs}/{hook['id']}", {"active": False}),
        ("DELETE", f"{theirs}/{hook['id']}", None), ("GET", f"{theirs}/{hook['id']}/deliveries", None),
        ("POST", f"{theirs}/{hook['id']}/deliveries/{delivery_id}/retry", None),
        ("GET", f"/api/v1/tenants/{tenant_id}/events", None),
    ]:
        answer = await intruder.json(method, path, 404, json=body)
        assert answer["code"] == "not_found", (method, path)
    assert (await admin.get(f"{mine}/{hook['id']}"))["active"] is True


async def test_secret_is_shown_once_and_never_logged(
    client: TestClient, admin: Api, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything the gateway logs, and what libraries log at INFO and above. (aiosqlite's own
    # DEBUG output echoes every SQL parameter, so DEBUG must stay off for it in production.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="gateway")
    tenant_id = admin.tenant_id()
    base = f"/api/v1/tenants/{tenant_id}/webhooks"
    hook = await admin.post(base, 201, json={"url": receiver.url})
    secret = hook["secret"]

    receiver.status = 503
    await new_contact(client.server.app, tenant_id, "ada@example.com")
    await poll_until(lambda: admin.get(f"{base}/{hook['id']}/deliveries?status=failed"), lambda p: p["items"])
    shown = [
        await admin.get(base), await admin.get(f"{base}/{hook['id']}"),
        await admin.patch(f"{base}/{hook['id']}", json={"event_types": ["contact.created"]}),
        await admin.get(f"{base}/{hook['id']}/deliveries"), await admin.get(f"/api/v1/tenants/{tenant_id}/events"),
    ]
    assert "secret" not in shown[1]
    assert secret not in json.dumps(shown)
    assert caplog.records and secret not in caplog.text
    assert any(r.getMessage().startswith("webhook delivery failed") for r in caplog.records)

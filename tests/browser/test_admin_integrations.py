"""Webhooks & API in the inbox's administration: a business's admin points a webhook at their
server, sees its secret once and its deliveries (retrying a failed one), and hands their servers
an API token that works until they revoke it."""

from __future__ import annotations

import re

from aiohttp import web
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot_path, serve_gateway
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as
from tests.events.conftest import Receiver
from tests.events.test_webhooks import verify

PASSWORD = "a long enough password"
MAX_ATTEMPTS = 2


async def test_a_business_admin_wires_up_webhooks_and_api_tokens(browser: Browser, aiohttp_server, tmp_path) -> None:
    receiver = Receiver()
    receiving = web.Application()
    receiving.router.add_post("/hook", receiver.handle)
    receiver.url = str((await aiohttp_server(receiving)).make_url("/hook"))
    # The receiver is on 127.0.0.1, which webhooks may not call unless the operator allows it;
    # retries come fast enough for a test.
    _, base, config = await serve_gateway(aiohttp_server, tmp_path, webhooks={
        "allow_private_addresses": True, "first_retry_seconds": 0.2, "poll_seconds": 0.05, "max_attempts": MAX_ATTEMPTS,
        "timeout_seconds": 2.0})
    async with rest_client(base) as http:
        _, operator, tenant_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={
            "email": "boss@demo.example", "name": "Dee Boss", "password": PASSWORD, "role": "tenant_admin"})

        page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")).new_page()
        await log_in_as(page, base, "boss@demo.example", PASSWORD)
        await page.get_by_role("button", name="Administration").click()
        await page.get_by_role("navigation", name="Administration sections").get_by_role("button", name="Webhooks & API").click()
        webhooks = page.get_by_role("region", name=f"Webhooks of {config.demo.tenant_name}")
        await expect(webhooks).to_contain_text("No webhooks yet.")
        new = page.get_by_role("form", name="New webhook")
        problem = page.locator(".reports-problem")

        # Bad input: the API's own reason shows, and nothing is created.
        await new.get_by_label("URL").fill("ftp://hooks.example.com/wecc")
        await new.get_by_role("button", name="Create webhook").click()
        await expect(problem).to_contain_text("URL: only http:// and https:// URLs can receive webhooks")
        # "Only these events" with none ticked would mean every event to the API: the page refuses it.
        await new.get_by_label("URL").fill(receiver.url)
        await new.get_by_role("radio", name=re.compile("^Only the events")).check()
        await new.get_by_role("button", name="Create webhook").click()
        await expect(problem).to_contain_text("Tick at least one event")
        assert (await operator.get(f"/api/v1/tenants/{tenant_id}/webhooks"))["items"] == []

        # Subscribed to one event; its signing secret shows once.
        await new.get_by_role("checkbox", name="member.added", exact=True).check()
        await new.get_by_role("button", name="Create webhook").click()
        shown = webhooks.get_by_role("group", name=re.compile("Signing secret of the webhook"))
        await expect(shown).to_contain_text("shown only this once")
        secret = await shown.locator("code").inner_text()
        assert secret.startswith("whsec_")
        row = webhooks.locator("tbody tr").filter(has_text=receiver.url)
        await expect(row).to_contain_text("member.added")
        await expect(row).to_contain_text("Active")
        await expect(problem).to_have_count(0)
        await shown.get_by_role("button", name="I have stored it").click()
        await expect(shown).to_have_count(0)
        await expect(page.get_by_text(secret)).to_have_count(0)

        # The event happens: the receiver gets it, signed with that secret, and the page lists it.
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={
            "email": "new.admin@demo.example", "password": PASSWORD, "role": "tenant_admin"})
        (delivered,) = await receiver.wait_for(1)
        assert delivered.headers["X-WECC-Event"] == "member.added"
        assert verify(secret, delivered.headers, delivered.body)
        await row.get_by_role("button", name="Deliveries").click()
        deliveries = page.get_by_role("region", name=f"Recent deliveries to {receiver.url}")
        first = deliveries.locator("tbody tr").filter(has_text="member.added")
        await expect(first).to_have_count(1)
        await expect(first.locator("td").nth(0)).to_have_text("Delivered")
        await expect(first.locator("td").nth(1)).to_have_text("200")
        await expect(first.locator("td").nth(2)).to_have_text("1")
        await expect(first.get_by_role("button", name="Retry")).to_have_count(0)

        # The receiver breaks: the next delivery fails after its attempts, with the reason.
        receiver.status = 500
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={
            "email": "another.admin@demo.example", "password": PASSWORD, "role": "tenant_admin"})
        await deliveries.get_by_role("button", name="Refresh").click()
        failed = deliveries.locator("tbody tr").filter(has_text="HTTP 500")
        await expect(failed.locator("td").nth(0)).to_have_text("Failed")
        await expect(failed.locator("td").nth(1)).to_have_text("500")
        await expect(failed.locator("td").nth(2)).to_have_text(str(MAX_ATTEMPTS))
        await expect(failed.locator("td").nth(3)).to_have_text("HTTP 500: nope")
        assert len(receiver.requests) == 1 + MAX_ATTEMPTS
        await page.screenshot(path=screenshot_path("admin-integrations"))

        # Fixed on their side: Retry sends it once more, and the page follows it to delivered.
        receiver.status = 200
        await failed.get_by_role("button", name="Retry").click()
        await expect(deliveries.locator("tbody tr").filter(has_text="Failed")).to_have_count(0)
        await expect(deliveries.locator("tbody tr").filter(has_text="Delivered")).to_have_count(2)
        retried = receiver.requests[-1]
        assert len(receiver.requests) == 2 + MAX_ATTEMPTS and verify(secret, retried.headers, retried.body)

        # Changed to every event, paused; then deleted, after a confirmation.
        await row.get_by_role("button", name="Change").click()
        change = page.get_by_role("form", name=f"Change the webhook {receiver.url}")
        await change.get_by_role("radio", name=re.compile("^Every event")).check()
        await change.get_by_label("Active").uncheck()
        await change.get_by_role("button", name="Save changes").click()
        await expect(row).to_contain_text("Every event")
        await expect(row).to_contain_text("Paused")
        (hook,) = (await operator.get(f"/api/v1/tenants/{tenant_id}/webhooks"))["items"]
        assert hook["event_types"] == [] and hook["active"] is False
        await row.get_by_role("button", name="Delete").click()
        await expect(row.get_by_role("button", name=re.compile("^Really delete"))).to_be_focused()
        assert len((await operator.get(f"/api/v1/tenants/{tenant_id}/webhooks"))["items"]) == 1
        await row.get_by_role("button", name="Cancel").click()
        await expect(row).to_have_count(1)
        await row.get_by_role("button", name="Delete").click()
        await row.get_by_role("button", name=re.compile("^Really delete")).click()
        await expect(row).to_have_count(0)
        await expect(webhooks).to_contain_text("No webhooks yet.")
        assert (await operator.get(f"/api/v1/tenants/{tenant_id}/webhooks"))["items"] == []

        # API tokens: no scope is the API's clear error.
        tokens = page.get_by_role("region", name=f"API tokens of {config.demo.tenant_name}")
        create = page.get_by_role("form", name="New API token")
        await create.get_by_label("Name").fill("CRM sync")
        await create.get_by_role("button", name="Create token").click()
        await expect(problem).to_contain_text("Scopes: List should have at least 1 item")
        await create.get_by_role("checkbox", name=re.compile("^conversations:read")).check()
        await create.get_by_role("button", name="Create token").click()
        once = tokens.get_by_role("group", name="API token CRM sync")
        await expect(once).to_contain_text("shown only this once")
        await expect(once).to_contain_text("Authorization: Bearer")
        token = await once.locator("code").inner_text()
        token_row = tokens.locator("tbody tr").filter(has_text="CRM sync")
        await expect(token_row).to_contain_text("conversations:read")

        async def call_with_token() -> int:
            resp = await http.get("/api/v1/conversations", params={"tenant_id": tenant_id}, headers={"Authorization": f"Bearer {token}"})
            return resp.status

        assert await call_with_token() == 200
        await token_row.get_by_role("button", name="Revoke").click()
        assert await call_with_token() == 200  # asked, not yet revoked
        await token_row.get_by_role("button", name=re.compile("^Really revoke")).click()
        await expect(token_row).to_contain_text("Revoked")
        await expect(token_row.get_by_role("button", name="Revoke")).to_have_count(0)
        assert await call_with_token() == 401
        await once.get_by_role("button", name="I have stored it").click()
        await expect(page.get_by_text(token)).to_have_count(0)

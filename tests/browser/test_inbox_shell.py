"""The platform's "done when": a new user opens the inbox, logs in as the demo agent and sees
the empty inbox shell; a conversation arriving meanwhile shows up without a reload."""

from __future__ import annotations

from playwright.async_api import expect

from tests.api.test_conversations import customer_writes
from tests.browser.conftest import screenshot_path


async def test_demo_agent_logs_in_and_sees_the_inbox(browser, gateway):
    app, base, config = gateway
    page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    await page.goto(f"{base}/")  # the root sends people to the inbox
    await page.fill("#login-email", config.demo.agent_email)
    await page.fill("#login-password", "wrong password")
    await page.click("button[type=submit]")
    await expect(page.get_by_text("wrong e-mail or password")).to_be_visible()
    await page.fill("#login-password", config.demo.agent_password)
    await page.click("button[type=submit]")
    await expect(page.get_by_text("No conversations yet")).to_be_visible()
    await expect(page.get_by_text("Demo Agent")).to_be_visible()
    await page.screenshot(path=screenshot_path("inbox-empty"))

    tenant_id = next(iter((await app_memberships(app, config)).values()))
    await customer_writes(app, tenant_id, "ann@x.example", "chat", "Is my order on its way?", subject="Order 1182")
    await expect(page.locator(".conv-item")).to_have_count(1)
    await page.locator(".conv-item").first.click()
    await expect(page.get_by_text("Is my order on its way?")).to_be_visible()
    await page.screenshot(path=screenshot_path("inbox-conversation"))

    # The session survives a reload; logging out ends it.
    await page.reload()
    await expect(page.locator(".conv-item")).to_have_count(1)


async def app_memberships(app, config) -> dict[str, str]:
    import sqlalchemy as sa

    from gateway.db import schema as t
    from gateway.keys import DB

    async with app[DB].connect() as conn:
        rows = (await conn.execute(sa.select(t.tenants.c.slug, t.tenants.c.id))).all()
    return {slug: tid for slug, tid in rows}

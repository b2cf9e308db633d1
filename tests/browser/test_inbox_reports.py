"""The reports page of the inbox, for a supervisor: the live wallboard, following the business's
events as they happen; and the day's traffic as a chart and a table, in the business's time zone,
and the same as CSV."""

from __future__ import annotations

import asyncio
import re

import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from gateway.core.contacts import identify_contact
from gateway.core.conversations import enqueue_task, open_conversation
from gateway.db import schema as t
from gateway.keys import DB, EVENTS, REDIS, ROUTING, SOCKETS
from gateway.realtime.rooms import conversation_room
from gateway.realtime.viewers import Viewers
from tests.browser.conftest import screenshot_path, until
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client
from tests.browser.test_inbox_supervise import log_in_as


async def handled_chat(app, tenant_id: str, agent_id: str, visitor: str) -> None:
    """A chat that queued, rang for the agent, and was taken and finished: what routing records."""
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "visitor", visitor)
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
        task_id, queued = await enqueue_task(conn, tenant_id, conversation_id, "chat")
    await app[EVENTS].publish(*contact.events, opened, *queued)
    for _ in range(500):
        async with app[DB].connect() as conn:
            state = (await conn.execute(sa.select(t.tasks.c.state).where(t.tasks.c.id == task_id))).scalar_one()
        if state == "offered":
            break
        await asyncio.sleep(0.01)
    await app[ROUTING].accept(task_id, agent_id)
    await app[ROUTING].complete(task_id, agent_id)


async def test_a_supervisor_sees_the_days_traffic_as_a_chart_a_table_and_csv(browser: Browser, gateway) -> None:
    app, base, config = gateway
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in(page, base, config)
    await page.get_by_label("Your status").select_option("available")
    async with app[DB].connect() as conn:
        tenant_id, agent_id = (await conn.execute(
            sa.select(t.memberships.c.tenant_id, t.users.c.id).join(t.users, t.users.c.id == t.memberships.c.user_id)
            .where(t.users.c.email == config.demo.agent_email))).one()
    await handled_chat(app, tenant_id, agent_id, "report-visitor-1")
    await handled_chat(app, tenant_id, agent_id, "report-visitor-2")

    await page.get_by_role("button", name="Reports").click()
    await expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    await page.get_by_role("button", name="Traffic").click()
    await page.get_by_label("By").select_option("channel")
    await page.get_by_role("button", name="Show").click()
    row = page.locator(".reports-table tbody tr").filter(has_text="chat")
    await expect(row.locator("td").nth(0)).to_have_text("2")  # offered
    await expect(row.locator("td").nth(1)).to_have_text("2")  # handled
    await expect(page.locator(".reports-zone")).to_contain_text("UTC")
    await expect(page.locator(".reports-canvas canvas")).to_have_count(1)  # hourly: a chart of the day
    await page.get_by_role("region", name="The figure over the intervals").get_by_role("combobox").select_option("handled")
    await page.screenshot(path=screenshot_path("inbox-reports"))

    csv_url = await page.get_by_role("link", name="Download CSV").get_attribute("href")
    assert csv_url is not None and "format=csv" in csv_url and "by=channel" in csv_url
    response = await page.request.get(f"{base}{csv_url}")
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    lines = (await response.text()).splitlines()
    assert lines[0].startswith("start,end,group,offered,handled")
    assert sum(int(line.split(",")[3]) for line in lines[1:] if line.split(",")[2] == "chat") == 2

    # Back to the inbox, as it was.
    await page.get_by_role("button", name="Back to the inbox").click()
    await expect(page.get_by_role("heading", name="Reports")).to_have_count(0)
    await expect(page.locator(".shell")).to_be_visible()


async def queued_chat(app, tenant_id: str, visitor: str) -> str:
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "visitor", visitor, name="Grace Hopper")
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
        task_id, queued = await enqueue_task(conn, tenant_id, conversation_id, "chat")
    await app[EVENTS].publish(*contact.events, opened, *queued)
    return task_id


async def test_the_wallboard_follows_the_work_as_it_happens_and_steers_it(browser: Browser, gateway) -> None:
    app, base, config = gateway
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in(page, base, config)
    async with app[DB].connect() as conn:
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
    await page.get_by_role("button", name="Reports").click()
    general = page.locator(".wallboard-queues tbody tr").filter(has_text="General")
    await expect(general.locator("td").nth(0)).to_have_text("0")

    # A chat comes in while nobody is available: the board shows it waiting, at once (no refresh).
    await queued_chat(app, tenant_id, "wallboard-visitor-1")
    await expect(general.locator("td").nth(0)).to_have_text("1")
    await expect(general.locator("td").nth(1)).to_have_text(re.compile(r"^0:\d\d$"))
    await expect(page.locator(".wallboard-tile").filter(has_text="Offered").locator(".wallboard-tile-value")).to_have_text("1")

    # The supervisor makes herself available: the chat rings for her, then she takes it.
    await page.get_by_label("Your status").select_option("available")
    me = page.locator(".wallboard-agents tbody tr").filter(has_text="Demo Agent")
    await expect(me).to_contain_text("Available")
    await expect(me).to_contain_text("Chat with Grace Hopper (ringing)")  # still waiting in the queue until answered
    await page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(me).to_contain_text("Chat with Grace Hopper (in progress)")
    await expect(general.locator("td").nth(0)).to_have_text("0")
    await expect(page.locator(".wallboard-tile").filter(has_text="Handled").locator(".wallboard-tile-value")).to_have_text("1")
    await page.screenshot(path=screenshot_path("inbox-wallboard"))

    # The supervisor steers: the work is closed outright (a second press confirms), and an agent's
    # status set from the board, which that agent's own status select follows (here, her own).
    await me.get_by_role("button", name="Close").click()
    await me.get_by_role("button", name="Close it now").click()
    await expect(me.locator(".wallboard-work")).to_have_text("–")
    await me.get_by_label("Status of Demo Agent").select_option("away")
    await expect(page.get_by_label("Your status")).to_have_value("away")
    await expect(me).to_contain_text("Away")


async def test_a_supervisor_watches_an_agents_chat_silently_from_the_wallboard(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with app[DB].connect() as conn:
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={"email": "sam@demo.example", "name": "Sam Agent",
                                                                                "password": "a long enough password", "role": "agent"})
    sam: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(sam, base, "sam@demo.example", "a long enough password")
    await sam.get_by_label("Your status").select_option("available")
    await queued_chat(app, tenant_id, "watched-visitor-1")
    await sam.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(sam.locator("#conv-title")).to_have_text("Grace Hopper")

    boss: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in(boss, base, config)  # the demo agent supervises the demo business
    await boss.get_by_role("button", name="Reports").click()
    row = boss.locator(".wallboard-agents tbody tr").filter(has_text="Sam Agent")
    await expect(row).to_contain_text("Chat with Grace Hopper (in progress)")
    await row.get_by_role("button", name="Watch Grace Hopper").click()
    await expect(boss.locator("#conv-title")).to_have_text("Grace Hopper")
    await expect(boss.get_by_role("status").filter(has_text="You are watching silently")).to_be_visible()
    # The supervisor follows the chat live (in its room) without being one of its viewers, so Sam
    # doesn't see her... until she chooses to be seen.
    conversation_id = await sam.locator(".conv-item.selected").get_attribute("data-conversation-id")
    room = conversation_room(conversation_id)

    async def both_follow() -> bool:
        return len(list(app[SOCKETS].manager.get_participants("/agent", room))) >= 2

    assert await until(both_follow)
    assert [v["name"] for v in await Viewers(app[REDIS]).of(conversation_id)] == ["Sam Agent"]
    await expect(sam.locator(".collision")).to_have_count(0)
    await boss.get_by_role("button", name="Let them see me").click()
    await expect(sam.locator(".collision")).to_contain_text("Also viewing this conversation: Demo Agent")


async def test_the_operator_reads_any_business_wallboard_live(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with app[DB].connect() as conn:
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, config.demo.operator_email, config.demo.operator_password)
    await page.get_by_role("button", name="Reports").click()
    general = page.locator(".wallboard-queues tbody tr").filter(has_text="General")
    await expect(general.locator("td").nth(0)).to_have_text("0")
    await queued_chat(app, tenant_id, "operator-watched-visitor")
    await expect(general.locator("td").nth(0)).to_have_text("1")  # heard live: the operator watches this business


async def test_work_a_supervisor_moves_away_leaves_the_agents_inbox_at_once(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with app[DB].connect() as conn:
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={"email": "moved@demo.example", "name": "Sasha Moved",
                                                                                "password": "a long enough password", "role": "agent"})
        billing = await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201, json={"name": "Billing"})
    mo: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(mo, base, "moved@demo.example", "a long enough password")
    await mo.get_by_label("Your status").select_option("available")
    task_id = await queued_chat(app, tenant_id, "moved-visitor-1")
    await mo.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(mo.locator(".active-item", has_text="Grace Hopper")).to_have_count(1)

    boss: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in(boss, base, config)
    await boss.get_by_role("button", name="Reports").click()
    row = boss.locator(".wallboard-agents tbody tr").filter(has_text="Sasha Moved")
    await row.get_by_label("Move the work with Grace Hopper").select_option(label="Billing")
    await row.get_by_role("button", name="Move").click()
    await expect(row.locator(".wallboard-work")).to_have_text("–")
    # Mo's inbox lets go of it without a reload: it is no longer theirs to answer.
    await expect(mo.locator(".active-item", has_text="Grace Hopper")).to_have_count(0)
    async with app[DB].connect() as conn:
        moved = (await conn.execute(sa.select(t.tasks.c.queue_id, t.tasks.c.state).where(t.tasks.c.id == task_id))).one()
    assert (moved.queue_id, moved.state) == (billing["id"], "queued")

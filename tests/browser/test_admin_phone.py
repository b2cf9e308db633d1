"""The Phone section: the operator gives a business a number; the business's admin sends it to a
queue and sets what callers hear (greeting, key-press menu); the operator sees the center's links
(trunks, every business's mailboxes) in Channel health."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot_path, until
from tests.browser.test_inbox_admin import PASSWORD, sections
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as


async def test_the_operator_gives_a_number_and_the_admin_routes_it_and_sets_the_menu(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with rest_client(base) as http:
        _, operator, tid = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tid}/members", 201, json={"email": "phone-boss@demo.example", "name": "Pat Boss",
                                                                          "password": PASSWORD, "role": "tenant_admin"})
        orders = await operator.post(f"/api/v1/tenants/{tid}/queues", 201, json={"name": "Orders"})
    # The operator hands the business a number; a malformed one is refused with the reason.
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, config.demo.operator_email, config.demo.operator_password)
    await page.get_by_role("button", name="Administration").click()
    await sections(page).get_by_role("button", name="Phone").click()
    give = page.get_by_role("form", name="Give this business a number")
    await give.get_by_label("Number").fill("call me")
    await give.get_by_role("button", name="Add number").click()
    await expect(page.get_by_role("alert")).to_contain_text("international form")
    await give.get_by_label("Number").fill("+49 30 777 888")
    await give.get_by_label("Name").fill("Orders line")
    await give.get_by_role("button", name="Add number").click()
    numbers = page.get_by_role("region", name="Phone numbers")
    await expect(numbers.get_by_role("row", name="+4930777888")).to_be_visible()
    await page.context.close()

    # The business's admin sees it, can't take it back, and sends it to the Orders queue.
    page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, "phone-boss@demo.example", PASSWORD)
    await page.get_by_role("button", name="Administration").click()
    await sections(page).get_by_role("button", name="Phone").click()
    numbers = page.get_by_role("region", name="Phone numbers")
    await expect(numbers.get_by_label("Name of +4930777888")).to_have_value("Orders line")
    await expect(page.get_by_role("form", name="Give this business a number")).to_have_count(0)
    await expect(numbers.get_by_role("button", name="Take back +4930777888")).to_have_count(0)
    await numbers.get_by_label("Queue of +4930777888").select_option(label="Orders")

    # What callers hear: a greeting and a menu whose key 2 leads to Orders.
    calls = page.get_by_role("region", name="What callers hear")
    await calls.get_by_label("Greeting").fill("Thank you for calling Demo.")
    await calls.get_by_role("button", name="Add a key").click()
    await calls.get_by_role("button", name="Add a key").click()
    first, second = calls.get_by_role("group", name="Menu key 1"), calls.get_by_role("group", name="Menu key 2")
    await first.get_by_label("Name").fill("support")
    await second.get_by_label("Name").fill("orders")
    await second.get_by_label("Queue").select_option(label="Orders")
    await calls.get_by_label("Country of numbers written without one").fill("XX")
    await calls.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("not a country code")
    await calls.get_by_label("Country of numbers written without one").fill("DE")
    await calls.get_by_role("button", name="Save").click()
    await expect(calls.get_by_role("status")).to_have_text("Saved.")
    await page.screenshot(path=screenshot_path("admin-phone"), full_page=True)

    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)

        async def routed():
            [number] = (await operator.get(f"/api/v1/tenants/{tid}/phone-numbers"))["items"]
            return number if number["queue_id"] == orders["id"] else None

        assert await until(routed)
        settings = await operator.get(f"/api/v1/tenants/{tid}/calls/settings")
        assert settings["greeting"] == "Thank you for calling Demo."
        assert [(o["key"], o["label"], o["queue_id"]) for o in settings["menu"]] == [("1", "support", None), ("2", "orders", orders["id"])]
        assert settings["default_region"] == "DE"


async def test_the_operator_sees_every_business_mailbox_in_channel_health(browser: Browser, mail_gateway) -> None:
    app, base, config = mail_gateway
    async with rest_client(base) as http:
        _, operator, tid = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tid}/mailboxes", 201, json={
            "name": "support", "address": "support@demo.example", "imap_host": "127.0.0.1", "imap_port": 9,
            "imap_username": "support", "imap_password": "secret imap password"})
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, config.demo.operator_email, config.demo.operator_password)
    await page.get_by_role("button", name="Administration").click()
    await sections(page).get_by_role("button", name="Channel health").click()
    mailboxes = page.get_by_role("region", name="Mailboxes of every business")
    await expect(mailboxes.get_by_role("row", name="Demo Company")).to_contain_text("support <support@demo.example>")
    trunks = page.get_by_role("region", name="SIP trunks")
    await expect(trunks).to_contain_text("Phone calls are off in this center")

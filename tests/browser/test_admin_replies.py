"""Administration, "Replies & wrap-up": a business's admin keeps the canned replies and the wrap-up
codes of their business, is told plainly what the API refuses, and the agents' inbox offers what
the admin saved: the reply behind "/" in the composer, the codes when closing work."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client, until_agents_available
from tests.browser.test_inbox_supervise import log_in_as
from tests.realtime.support import Sockets

PASSWORD = "a long enough password"
HOURS = "We are now open every day, 8:00-20:00."


async def test_an_admin_keeps_the_replies_and_wrapup_codes_agents_use(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={"email": "boss@demo.example", "name": "Dee Boss",
                                                                                "password": PASSWORD, "role": "tenant_admin"})
        page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 1400}, locale="en-US")).new_page()
        await log_in_as(page, base, "boss@demo.example", PASSWORD)
        await page.get_by_role("button", name="Administration").click()
        await page.get_by_role("navigation", name="Administration sections").get_by_role("button", name="Replies & wrap-up").click()

        # Two replies added; the same shortcut again is refused with the API's reason, the typing kept.
        replies = page.get_by_role("region", name="Canned replies")
        await expect(replies).to_contain_text("No canned replies yet")
        add = replies.get_by_role("form", name="Add a canned reply")
        for shortcut, title, body in (("hours", "Opening hours", "We are open 9:00-17:00."),
                                      ("refund", "Refunds", "Refunds reach your account within 5 days.")):
            await add.get_by_label("Shortcut").fill(shortcut)
            await add.get_by_label("Title").fill(title)
            await add.get_by_label("Text").fill(body)
            await add.get_by_role("button", name="Add reply").click()
            await expect(replies.get_by_role("status")).to_have_text(f"/{shortcut} added: agents can use it now.")
        rows = replies.locator("tbody tr")
        await expect(rows.locator("th")).to_have_text(["/hours", "/refund"])
        await add.get_by_label("Shortcut").fill("hours")
        await add.get_by_label("Title").fill("Opening times")
        await add.get_by_label("Text").fill("x" * 6000)  # the form stops at the API's limit
        await expect(add.get_by_text("5000 / 5000 characters")).to_be_visible()
        await add.get_by_role("button", name="Add reply").click()
        await expect(page.get_by_role("alert")).to_have_text("/hours is already a canned reply")
        await expect(add.get_by_label("Title")).to_have_value("Opening times")
        await expect(rows).to_have_count(2)

        # /hours changed; /refund deleted, which takes a second press.
        await rows.filter(has_text="/hours").get_by_role("button", name="Change /hours").click()
        change = replies.get_by_role("form", name="Change /hours")
        await expect(change.get_by_label("Shortcut")).to_be_focused()
        await expect(change.get_by_label("Title")).to_have_value("Opening hours")
        await change.get_by_label("Text").fill(HOURS)
        await change.get_by_role("button", name="Save changes").click()
        await expect(replies.get_by_role("status")).to_have_text("/hours saved.")
        await expect(page.get_by_role("alert")).to_have_count(0)
        await expect(rows.filter(has_text="/hours")).to_contain_text(HOURS)
        refund = rows.filter(has_text="/refund")
        await refund.get_by_role("button", name="Delete /refund").click()
        await expect(refund.get_by_role("button", name="Really delete /refund?")).to_be_focused()
        await refund.get_by_role("button", name="Cancel").click()
        await expect(refund.get_by_role("button", name="Really delete /refund?")).to_have_count(0)
        await expect(rows.locator("th")).to_have_text(["/hours", "/refund"])
        assert len((await agent.get(f"/api/v1/tenants/{tenant_id}/canned-replies"))["items"]) == 2
        await refund.get_by_role("button", name="Delete /refund").click()
        await refund.get_by_role("button", name="Really delete /refund?").click()
        await expect(replies.get_by_role("status")).to_have_text("/refund deleted.")
        await expect(rows.locator("th")).to_have_text(["/hours"])
        kept = (await agent.get(f"/api/v1/tenants/{tenant_id}/canned-replies"))["items"]
        assert [(r["shortcut"], r["title"], r["body"]) for r in kept] == [("hours", "Opening hours", HOURS)]

        # Wrap-up codes: the code follows the label; two rows with one code are refused and nothing
        # is saved; then one row goes, the order changes, a code is required.
        codes = page.get_by_role("region", name="Wrap-up codes")
        await expect(codes).to_contain_text("No wrap-up codes")
        for row, label in ((1, "Resolved"), (2, "Needs follow-up"), (3, "Solved")):
            await codes.get_by_role("button", name="Add a code").click()
            await expect(codes.get_by_label(f"Label, row {row}")).to_be_focused()
            await page.keyboard.type(label)
        await expect(codes.get_by_label("Code, row 2")).to_have_value("needs_follow_up")
        await codes.get_by_label("Code, row 3").fill("resolved")
        await codes.get_by_label("Agents must choose a code before their work can end").check()
        await codes.get_by_role("button", name="Save wrap-up codes").click()
        await expect(page.get_by_role("alert")).to_have_text("some fields are not valid (Codes: two wrap-up codes are the same)")
        assert await agent.get(f"/api/v1/tenants/{tenant_id}/wrapup-codes") == {"items": [], "required": False}
        await codes.get_by_role("button", name="Remove row 3").click()
        await codes.get_by_role("button", name="Move row 2 up").click()
        await expect(codes.get_by_label("Label, row 1")).to_have_value("Needs follow-up")
        await codes.get_by_role("button", name="Save wrap-up codes").click()
        await expect(codes.get_by_role("status")).to_have_text("Wrap-up codes saved.")
        await expect(codes.get_by_role("button", name="Save wrap-up codes")).to_be_disabled()  # nothing left unsaved
        await page.screenshot(path=screenshot_path("admin-replies"))
        assert await agent.get(f"/api/v1/tenants/{tenant_id}/wrapup-codes") == {
            "items": [{"code": "needs_follow_up", "label": "Needs follow-up"}, {"code": "resolved", "label": "Resolved"}],
            "required": True}

    # What an agent of the business gets: /hours as the admin left it, /refund no more, and the codes.
    sockets = Sockets(base)
    try:
        desk: Page = await (await browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")).new_page()
        await log_in(desk, base, config)
        await desk.get_by_label("Your status").select_option("available")
        visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-admin-replies"})
        await until_agents_available(visitor)
        started = await visitor.call("start_chat", {"client_id": "c-admin-replies-1", "text": "When are you open?", "name": "Rita Reply"})
        assert started["ok"], started
        await desk.locator(".offer").get_by_role("button", name="Accept").click()
        await expect(desk.locator("#conv-title")).to_have_text("Rita Reply")
        composer = desk.locator(".composer textarea")
        picker = desk.get_by_role("listbox", name="Canned replies")
        await composer.click()
        await composer.press_sequentially("/re")
        await expect(composer).to_have_value("/re")
        await expect(picker).to_have_count(0)
        await composer.fill("")
        await composer.press_sequentially("/ho")
        await expect(picker.get_by_role("option")).to_have_text([f"/hoursOpening hours{HOURS}"])
        await composer.press("Enter")
        await expect(composer).to_have_value(HOURS)

        await desk.locator(".conv-actions").get_by_role("button", name="Close").click()
        dialog = desk.locator("dialog.dialog")
        await expect(dialog.locator("#wrapup-code option")).to_have_text(["Choose a code…", "Needs follow-up", "Resolved"])
        await expect(dialog.get_by_role("button", name="Close conversation")).to_be_disabled()  # a code is required
    finally:
        await sockets.close()

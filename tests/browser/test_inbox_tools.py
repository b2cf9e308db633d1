"""Issue 4, the agent's tools on a chat: canned replies picked with "/" in the composer, a transfer
to another queue with a note for the next agent, and closing with the wrap-up code the business
requires — from a fresh tab, which finds the task it holds by asking the gateway. Everything the
inbox lists (canned replies, transfer targets, wrap-up codes) is set up through the real API."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_chat import demo_staff, log_in, rest_client, until_agents_available
from tests.realtime.support import Sockets

CANNED = [
    {"shortcut": "thanks", "title": "Thank you", "body": "Thank you for your patience!"},
    {"shortcut": "hours", "title": "Opening hours", "body": "We are open 9:00-17:00, Monday to Friday."},
]
CODES = {"items": [{"code": "resolved", "label": "Resolved"}, {"code": "follow_up", "label": "Needs follow-up"}], "required": True}


async def test_canned_replies_transfer_and_wrapup(browser, gateway):
    app, base, config = gateway
    sockets = Sockets(base)
    async with rest_client(base) as http:
        # What the business sets up: the demo agent (a supervisor) writes canned replies; the
        # operator requires a wrap-up code, adds a Billing queue and a colleague to transfer to.
        agent, operator, tenant_id = await demo_staff(http, config)
        for reply in CANNED:
            made = await agent.post(f"/api/v1/tenants/{tenant_id}/canned-replies", 201, json=reply)
            assert made["shortcut"] == reply["shortcut"]
        assert await operator.put(f"/api/v1/tenants/{tenant_id}/wrapup-codes", json=CODES) == CODES
        billing = (await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201, json={"name": "Billing"}))["id"]
        await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={
            "email": "carl@demo.example", "name": "Carl Colleague", "password": "password-123", "role": "agent"})
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
            page = await context.new_page()
            await log_in(page, base, config)
            await page.get_by_label("Your status").select_option("available")

            carl = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-tools-carl"})
            await until_agents_available(carl)
            started = await carl.call("start_chat", {"client_id": "c-tools-00001", "text": "When are you open?", "name": "Carla Day"})
            assert started["ok"], started
            conversation_id = started["conversation_id"]
            await page.locator(".offer").get_by_role("button", name="Accept").click()
            await expect(page.locator("#conv-title")).to_have_text("Carla Day")

            # "/" opens the canned replies; typing narrows them; Enter puts the reply in the composer.
            composer = page.locator(".composer textarea")
            await composer.click()
            await composer.press_sequentially("/ho")
            picker = page.get_by_role("listbox", name="Canned replies")
            await expect(picker).to_be_visible()
            await expect(picker.get_by_role("option")).to_have_count(1)
            await expect(picker.get_by_role("option")).to_contain_text("Opening hours")
            await page.screenshot(path=screenshot_path("inbox-tools-canned"))
            await composer.press("Enter")
            await expect(picker).to_have_count(0)
            await expect(composer).to_have_value("We are open 9:00-17:00, Monday to Friday.")
            # A whole shortcut followed by a space expands at once.
            await composer.press_sequentially(" /thanks ")
            await expect(composer).to_have_value("We are open 9:00-17:00, Monday to Friday. Thank you for your patience! ")
            await composer.press("Enter")
            got = await carl.wait_for("message.created", lambda d: d["message"]["author_type"] == "agent")
            assert got["message"]["body_text"] == "We are open 9:00-17:00, Monday to Friday. Thank you for your patience!"

            # Transfer to the Billing queue with a note for whoever takes it next.
            await page.get_by_label("Your status").select_option("away")  # so it is not offered straight back
            await page.locator(".conv-actions").get_by_role("button", name="Transfer").click()
            dialog = page.locator("dialog.dialog")
            await expect(dialog.locator("#transfer-target")).to_be_visible()
            # The colleagues come with their presence; the agent is not offered themselves.
            await dialog.locator("label.segment", has_text="Agent").click()
            await expect(dialog.get_by_role("radio", name="Agent")).to_be_checked()
            await expect(dialog.locator("#transfer-target option")).to_have_text(["Choose…", "Carl Colleague — Offline"])
            await dialog.locator("label.segment", has_text="Queue").click()
            await expect(dialog.locator("#transfer-target option")).to_have_text(["Choose…", "Billing", "General"])
            await dialog.locator("#transfer-target").select_option(label="Billing")
            await dialog.get_by_label("Note for the next agent").fill("Asked about opening hours; wants an invoice copy")
            await page.screenshot(path=screenshot_path("inbox-tools-transfer"))
            await dialog.get_by_role("button", name="Transfer").click()
            await expect(dialog).to_have_count(0)
            await expect(page.get_by_text("Conversation transferred.")).to_be_visible()
            note = page.locator(".msg-note")
            await expect(note).to_contain_text("Asked about opening hours; wants an invoice copy")
            await expect(note).to_contain_text("Internal note")
            await expect(page.locator(".conv-actions").get_by_role("button", name="Transfer")).to_have_count(0)
            await expect(page.locator(".active-item")).to_have_count(0)
            task = (await agent.get(f"/api/v1/conversations/{conversation_id}/tasks"))["items"][0]
            assert (task["queue_id"], task["state"], task["assigned_agent_id"]) == (billing, "queued", None)
            assert not [e for e in carl.events if "invoice copy" in str(e)], "the visitor received the transfer note"

            # Back to available (the transferred chat never bounces back to its agent): the next chat
            # is taken here, and closed with a wrap-up code from a fresh tab, which knows nothing of it.
            await page.get_by_label("Your status").select_option("available")
            dora = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-tools-dora"})
            second = await dora.call("start_chat", {"client_id": "c-tools-00002", "text": "Is my refund done?", "name": "Dora Lee"})
            assert second["ok"], second
            conversation_id = second["conversation_id"]
            await expect(page.locator(".offer")).to_contain_text("Dora Lee")
            await page.locator(".offer").get_by_role("button", name="Accept").click()
            await expect(page.locator("#conv-title")).to_have_text("Dora Lee")

            tab = await context.new_page()  # same login (cookie), none of the first tab's sessionStorage
            await tab.goto(f"{base}/")
            await expect(tab.locator(".live-connected")).to_be_visible()
            assert await tab.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('wecc.inbox.tasks')).map(k => sessionStorage.getItem(k))") in ([], ["{}"])
            await tab.locator(".active-item", has_text="Dora Lee").click()
            await expect(tab.locator("#conv-title")).to_have_text("Dora Lee")
            await expect(tab.locator(".conv-actions").get_by_role("button", name="Transfer")).to_be_visible()
            await tab.locator(".conv-actions").get_by_role("button", name="Close").click()
            dialog = tab.locator("dialog.dialog")
            close_button = dialog.get_by_role("button", name="Close conversation")
            await expect(dialog.get_by_label("Wrap-up code")).to_be_visible()
            await expect(dialog.locator("#wrapup-code option")).to_have_text(["Choose a code…", "Resolved", "Needs follow-up"])
            await expect(close_button).to_be_disabled()  # the tenant requires a code
            await dialog.get_by_label("Wrap-up code").select_option(label="Resolved")
            await dialog.get_by_label("Wrap-up note").fill("Sent opening hours")
            await tab.screenshot(path=screenshot_path("inbox-tools-wrapup"))
            await close_button.click()
            await expect(tab.locator(".conv-header .pill")).to_have_text("Closed")
            # The code and note are kept with the wrap-up, not as a message in the thread.
            await expect(tab.locator(".msg-note")).to_have_count(0)
            conversation = await agent.get(f"/api/v1/conversations/{conversation_id}")
            wrapup = conversation["attributes"]["wrapup"]
            assert (wrapup["code"], wrapup["label"], wrapup["note"]) == ("resolved", "Resolved", "Sent opening hours")
            tasks = (await agent.get(f"/api/v1/conversations/{conversation_id}/tasks"))["items"]
            assert [task["state"] for task in tasks] == ["done"]
            assert wrapup["task_id"] == tasks[0]["id"]
            # The first tab hears the work ended too.
            await expect(page.locator(".conv-header .pill")).to_have_text("Closed")
            await expect(page.locator(".conv-actions").get_by_role("button", name="Transfer")).to_have_count(0)
        finally:
            await sockets.close()


async def test_canned_replies_and_wrapup_codes_follow_an_admins_changes(browser, gateway):
    """Changes an admin makes while the inbox is open reach the agent without a reload, when they
    next open the /canned picker or the wrap-up dialog a little later; nothing is polled meanwhile."""
    app, base, config = gateway
    sockets = Sockets(base)
    async with rest_client(base) as http:
        agent, operator, tenant_id = await demo_staff(http, config)
        hours = await agent.post(f"/api/v1/tenants/{tenant_id}/canned-replies", 201, json=CANNED[1])
        await operator.put(f"/api/v1/tenants/{tenant_id}/wrapup-codes", json=CODES)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url) if "/canned-replies" in r.url or "/wrapup-codes" in r.url else None)
            await log_in(page, base, config)
            await page.get_by_label("Your status").select_option("available")
            eve = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-tools-eve1"})
            await until_agents_available(eve)
            started = await eve.call("start_chat", {"client_id": "c-tools-00003", "text": "Are you open on Sunday?", "name": "Eve Sun"})
            assert started["ok"], started
            await page.locator(".offer").get_by_role("button", name="Accept").click()
            await expect(page.locator("#conv-title")).to_have_text("Eve Sun")

            composer = page.locator(".composer textarea")
            picker = page.get_by_role("listbox", name="Canned replies")
            await composer.click()
            await composer.press_sequentially("/ho")
            await expect(picker.get_by_role("option")).to_have_text(["/hoursOpening hoursWe are open 9:00-17:00, Monday to Friday."])
            await composer.fill("")
            await page.locator(".conv-actions").get_by_role("button", name="Close").click()
            dialog = page.locator("dialog.dialog")
            await expect(dialog.locator("#wrapup-code option")).to_have_text(["Choose a code…", "Resolved", "Needs follow-up"])
            await dialog.get_by_role("button", name="Cancel").click()
            await expect(dialog).to_have_count(0)

            # The admin changes the hours, adds a goodbye and a wrap-up code while the agent chats.
            await agent.patch(f"/api/v1/tenants/{tenant_id}/canned-replies/{hours['id']}",
                              json={"body": "We are now open every day, 8:00-20:00."})
            await agent.post(f"/api/v1/tenants/{tenant_id}/canned-replies", 201,
                             json={"shortcut": "bye", "title": "Goodbye", "body": "Have a lovely Sunday!"})
            codes = {**CODES, "items": [*CODES["items"], {"code": "sunday", "label": "Asked about Sunday"}]}
            await operator.put(f"/api/v1/tenants/{tenant_id}/wrapup-codes", json=codes)
            before = len(asked)
            await page.wait_for_timeout(11_000)  # a little later; meanwhile nothing asks the gateway
            assert len(asked) == before, asked[before:]

            await composer.press_sequentially("/ho")
            await expect(picker.get_by_role("option")).to_have_text(["/hoursOpening hoursWe are now open every day, 8:00-20:00."])
            await composer.press("Enter")
            await expect(composer).to_have_value("We are now open every day, 8:00-20:00.")
            await composer.press_sequentially(" /bye ")  # typed on at once, as a fast typist does
            await expect(composer).to_have_value("We are now open every day, 8:00-20:00. Have a lovely Sunday! ")
            await page.screenshot(path=screenshot_path("inbox-tools-canned-changed"))

            await page.locator(".conv-actions").get_by_role("button", name="Close").click()
            await expect(dialog.locator("#wrapup-code option")).to_have_text(
                ["Choose a code…", "Resolved", "Needs follow-up", "Asked about Sunday"])
            await dialog.get_by_label("Wrap-up code").select_option(label="Asked about Sunday")
            await dialog.get_by_role("button", name="Close conversation").click()
            await expect(page.locator(".conv-header .pill")).to_have_text("Closed")
            conversation = await agent.get(f"/api/v1/conversations/{started['conversation_id']}")
            assert conversation["attributes"]["wrapup"]["code"] == "sunday"
        finally:
            await sockets.close()

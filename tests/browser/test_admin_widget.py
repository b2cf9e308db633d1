"""The widget section of the inbox's administration, as a business's own admin: the tag for their
site, the sites it runs on, and the widget's settings with a live preview of the real widget drawn
from the unsaved settings (the gateway's sandboxed /widget/preview page), which visitors get once
saved; a refused change says why and saves nothing."""

from __future__ import annotations

import re

import sqlalchemy as sa
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_admin import PASSWORD, sections
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as
from tests.browser.test_widget import Staff
from tests.realtime.support import Sockets


async def test_a_business_admin_sets_up_the_widget_with_a_live_preview(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with rest_client(base) as http:
        _, operator, demo_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{demo_id}/members", 201, json={"email": "boss@demo.example", "name": "Dee Boss",
                                                                              "password": PASSWORD, "role": "tenant_admin"})
        billing = await operator.post(f"/api/v1/tenants/{demo_id}/queues", 201, json={"name": "Billing"})
        key = (await operator.get(f"/api/v1/tenants/{demo_id}"))["widget_key"]

    page: Page = await (await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")).new_page()
    page.on("pageerror", lambda exc: print("page error:", exc))
    await log_in_as(page, base, "boss@demo.example", PASSWORD)
    await page.get_by_role("button", name="Administration").click()
    await sections(page).get_by_role("button", name="Widget").click()
    section = page.get_by_role("region", name=f"Web widget of {config.demo.tenant_name}")

    # The tag for the site carries the business's widget key.
    snippet = section.get_by_label("Paste this tag")
    await expect(snippet).to_have_value(f'<script src="{base}/widget.js" data-tenant="{key}" async></script>')

    # The sites the widget runs on: one added, then removed (a second press confirms; Cancel keeps it).
    sites = section.get_by_role("region", name="Sites the widget runs on")
    add_site = sites.get_by_role("form", name="Add the site")
    await add_site.get_by_label("New site (origin)").fill("https://Shop.Example/")
    await add_site.get_by_role("button", name="Add the site").click()
    await expect(sites.get_by_role("row", name="https://shop.example")).to_be_visible()
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        assert (await operator.get(f"/api/v1/tenants/{demo_id}"))["allowed_origins"] == [base, "https://shop.example"]
        await sites.get_by_role("button", name="Remove https://shop.example").click()
        await expect(sites.get_by_role("button", name="Really remove https://shop.example?")).to_be_focused()
        await sites.get_by_role("button", name="Cancel").click()
        await expect(sites.get_by_role("button", name="Really remove https://shop.example?")).to_have_count(0)
        await expect(sites.get_by_role("row", name="https://shop.example")).to_be_visible()
        assert (await operator.get(f"/api/v1/tenants/{demo_id}"))["allowed_origins"] == [base, "https://shop.example"]
        await sites.get_by_role("button", name="Remove https://shop.example").click()
        await sites.get_by_role("button", name="Really remove https://shop.example?").click()
        await expect(sites.get_by_role("row", name="https://shop.example")).to_have_count(0)
        assert (await operator.get(f"/api/v1/tenants/{demo_id}"))["allowed_origins"] == [base]

    # A new secret for signed-in visitors replaces the old one once confirmed, and shows once.
    signing = section.get_by_role("region", name="Signed-in visitors")
    old_secret = await widget_secret(app, demo_id)
    await signing.get_by_role("button", name="Make a new secret").click()
    await expect(signing.get_by_role("button", name="Really replace the secret?")).to_be_focused()
    await signing.get_by_role("button", name="Cancel").click()
    await expect(signing.get_by_label(re.compile("^The new secret"))).to_have_count(0)
    assert await widget_secret(app, demo_id) == old_secret
    await signing.get_by_role("button", name="Make a new secret").click()
    await signing.get_by_role("button", name="Really replace the secret?").click()
    shown = signing.get_by_label(re.compile("^The new secret"))
    await expect(shown).not_to_have_value("")
    new_secret = await widget_secret(app, demo_id)
    assert new_secret != old_secret and await shown.input_value() == new_secret

    # The preview shows the real widget's panel, with the saved settings to begin with.
    settings = section.get_by_role("form", name="Widget settings")
    preview = page.frame_locator("iframe[title='Preview of the widget']")
    show = section.get_by_role("region", name="Preview").get_by_label("Show", exact=True)
    await expect(preview.get_by_role("heading", name="How can we help?")).to_be_visible()
    await expect(preview.get_by_role("button", name="Start chat")).to_be_visible()

    # Unsaved changes show in the preview at once: the title, the colour, a department picker.
    await settings.get_by_label("Title", exact=True).fill("Acme help desk")
    await settings.get_by_label("Colour code").fill("#aa3300")
    await settings.get_by_role("button", name="Add a field").click()
    field = settings.get_by_role("group", name="Field 1")
    await field.get_by_label("Label", exact=True).fill("Department")
    await field.get_by_label("Field name").fill("department")
    await field.get_by_label("Type").select_option(label="Choice (e.g. a department)")
    await field.get_by_label("Required").check()
    await field.get_by_label("Label of choice 1 of field 1").fill("Billing questions")
    await field.get_by_label("Value of choice 1 of field 1").fill("billing")
    await field.get_by_label("Queue of choice 1 of field 1").select_option(label="Billing")
    await expect(settings.get_by_role("status")).to_have_text("Unsaved changes")
    await expect(preview.get_by_role("heading", name="Acme help desk")).to_be_visible()
    department = preview.get_by_label("Department")
    await expect(department.locator("option", has_text="Billing questions")).to_have_count(1)
    await expect(preview.locator(".launcher")).to_have_css("background-color", "rgb(170, 51, 0)")
    # The preview sends nothing: its form says so instead of starting a chat.
    await department.select_option("billing")
    await preview.get_by_label("Message").fill("Hello from the preview")
    await preview.get_by_role("button", name="Start chat").click()
    await expect(preview.get_by_role("alert")).to_have_text("This is a preview: nothing was sent.")
    # An invitation, as the bubble next to the closed launcher.
    await settings.get_by_role("button", name="Add an invitation").click()
    invitation = settings.get_by_role("group", name="Invitation 1")
    await invitation.get_by_label("Message").fill("Questions about your bill?")
    await invitation.get_by_label("After (seconds)").fill("10")
    await invitation.get_by_label("On pages").fill("/billing*")
    await show.select_option(label="Invitation: Questions about your bill?")
    await expect(preview.get_by_role("button", name="Questions about your bill?")).to_be_visible()
    await expect(preview.get_by_role("dialog")).to_be_hidden()
    # The offline form, as a visitor sees it when nobody is available.
    await show.select_option(label="The offline form (nobody available)")
    await expect(preview.get_by_role("button", name="Send message")).to_be_visible()

    async def visitors_config() -> dict:
        async with rest_client(base) as http:
            async with http.get("/api/v1/widget/config", params={"key": key}) as resp:
                return await resp.json()

    assert (await visitors_config())["title"] == ""  # not saved yet: visitors see nothing of it
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        assert (await operator.get("/api/v1/conversations"))["items"] == []  # the preview started no chat

    await settings.get_by_role("button", name="Save the widget settings").click()
    await expect(settings.get_by_role("status")).to_have_text(re.compile("^Saved"))
    got = await visitors_config()
    assert (got["title"], got["color"]) == ("Acme help desk", "#aa3300")
    assert [(r["message"], r["after_seconds"], r["url_pattern"]) for r in got["proactive"]] == [("Questions about your bill?", 10, "/billing*")]
    assert got["prechat"]["fields"] == [{"name": "department", "label": "Department", "type": "select", "required": True,
                                         "options": [{"value": "billing", "label": "Billing questions"}]}]
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        stored = await operator.get(f"/api/v1/tenants/{demo_id}/widget/settings")
        assert stored["prechat"]["fields"][0]["options"][0]["queue_id"] == billing["id"]

    # A visitor on the business's site gets the saved widget (an agent is available, so the pre-chat
    # form shows), and the department they pick sends the chat to its queue.
    agent = await Staff(base).login(config.demo.agent_email, config.demo.agent_password)
    sockets = Sockets(base)
    try:
        inbox = await sockets.connect("/agent", cookie=agent.cookie)
        assert (await inbox.call("presence", {"status": "available"}))["ok"]
        visitor = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        await visitor.goto(f"{base}/demo/")
        await expect(visitor.locator(".launcher")).to_have_css("background-color", "rgb(170, 51, 0)")
        await visitor.get_by_role("button", name="Open chat with us").click()
        await expect(visitor.get_by_role("heading", name="Acme help desk")).to_be_visible()
        await visitor.get_by_label("Department").select_option(label="Billing questions")
        await visitor.get_by_label("Message").fill("A question about my invoice")
        await visitor.get_by_role("button", name="Start chat").click()
        offer = await inbox.wait_for("task.offered", timeout=10)
        tasks = await agent.call("GET", f"/api/v1/conversations/{offer['conversation_id']}/tasks")
        assert [task["queue_id"] for task in tasks["items"]] == [billing["id"]]
    finally:
        await sockets.close()
        await agent.http.close()

    # A custom field may not take a built-in name: the API's reason shows, and nothing is saved.
    await show.select_option(label="The open panel")
    await settings.get_by_role("button", name="Add a field").click()
    second = settings.get_by_role("group", name="Field 2")
    await second.get_by_label("Label", exact=True).fill("Your e-mail again")
    await second.get_by_label("Field name").fill("email")
    await expect(preview.get_by_label("Your e-mail again")).to_be_visible()
    await settings.get_by_role("button", name="Save the widget settings").click()
    refusal = settings.get_by_role("alert")
    await expect(refusal).to_contain_text("Pre-chat form › Field 2")
    await expect(refusal).to_contain_text("'email' is built in; give the custom field another name")
    await expect(settings.get_by_role("status")).to_have_text("Unsaved changes")
    await page.screenshot(path=screenshot_path("admin-widget"), full_page=True)
    assert [f["name"] for f in (await visitors_config())["prechat"]["fields"]] == ["department"]

    # Taking the field away again leaves nothing unsaved.
    await second.get_by_role("button", name="Remove field 2").click()
    await expect(settings.get_by_role("status")).to_have_text("")
    await expect(preview.get_by_label("Your e-mail again")).to_have_count(0)

    # Unsaved changes are discarded only once confirmed.
    title = settings.get_by_label("Title", exact=True)
    await title.fill("Scratch")
    await expect(settings.get_by_role("status")).to_have_text("Unsaved changes")
    await settings.get_by_role("button", name="Discard changes").click()
    await expect(settings.get_by_role("button", name="Really discard the changes?")).to_be_focused()
    await settings.get_by_role("button", name="Cancel").click()
    await expect(title).to_have_value("Scratch")
    await expect(settings.get_by_role("status")).to_have_text("Unsaved changes")
    await settings.get_by_role("button", name="Discard changes").click()
    await settings.get_by_role("button", name="Really discard the changes?").click()
    await expect(title).to_have_value("Acme help desk")
    await expect(settings.get_by_role("status")).to_have_text("")
    await expect(preview.get_by_role("heading", name="Acme help desk")).to_be_visible()


async def widget_secret(app: web.Application, tenant_id: str) -> str:
    async with app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.tenants.c.widget_secret).where(t.tenants.c.id == tenant_id))).scalar_one()


async def test_the_preview_page_is_sandboxed_and_offline(gateway) -> None:
    """What frames the preview can't be reached from it: an opaque origin, no network but the
    gateway's scripts, framed by the gateway's own pages only."""
    _, base, _ = gateway
    async with rest_client(base) as http:
        async with http.get("/widget/preview") as resp:
            assert resp.status == 200
            policy = resp.headers["Content-Security-Policy"]
            assert 'data-preview' in await resp.text()
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["sandbox"] == "allow-scripts allow-forms"  # no allow-same-origin
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["form-action"] == directives["base-uri"] == "'none'"  # a form in it submits nowhere

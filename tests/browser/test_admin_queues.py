"""Queues & skills in the administration. A business's admin defines a skill, makes a queue that
requires it, with business hours, overflow, relaxed skills and a way out for long waits, changes
it, and gives an agent the skill (and a capacity) in Team: the API then holds exactly that. A
duplicate name, a target beyond seven days and a queue with work still in it are refused, visibly."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as
from tests.realtime.support import Sockets

PASSWORD = "a long enough password"
BOSS = "boss@demo.example"


def sections(page: Page):
    return page.get_by_role("navigation", name="Administration sections")


async def test_a_business_admin_sets_up_skills_queues_and_who_has_which_skill(browser: Browser, gateway) -> None:
    app, base, config = gateway
    business = config.demo.tenant_name
    async with rest_client(base) as http:
        _, operator, demo_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{demo_id}/members", 201, json={"email": BOSS, "name": "Dee Boss", "password": PASSWORD,
                                                                              "role": "tenant_admin"})
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, BOSS, PASSWORD)
    await page.get_by_role("button", name="Administration").click()
    await sections(page).get_by_role("button", name="Queues & skills").click()

    # A skill; the same name twice is the API's 409, shown.
    skills = page.get_by_role("region", name=f"Skills of {business}")
    new_skill = page.get_by_role("form", name="New skill")
    await new_skill.get_by_label("Skill", exact=True).fill("billing")
    await new_skill.get_by_label("Description").fill("Invoices and refunds")
    await new_skill.get_by_role("button", name="Add skill").click()
    billing_skill = skills.locator("tbody tr").filter(has=page.get_by_role("rowheader", name="billing", exact=True))
    await expect(billing_skill).to_contain_text("Invoices and refunds")
    await expect(billing_skill).to_contain_text("Not used yet")
    await expect(new_skill.get_by_label("Skill", exact=True)).to_have_value("")
    await new_skill.get_by_label("Skill", exact=True).fill("billing")
    await new_skill.get_by_role("button", name="Add skill").click()
    await expect(page.get_by_role("alert")).to_contain_text("skill 'billing' exists")

    # A queue with every setting. A target of 8 days is more than the API takes: the form says so.
    queues = page.get_by_role("region", name=f"Queues of {business}")
    form = page.get_by_role("form", name="New queue")
    await form.get_by_label("Name", exact=True).fill("Billing")
    sla = form.get_by_label("Service level target", exact=True)
    await sla.fill("8")
    await form.get_by_label("Unit of Service level target").select_option("days")
    await form.get_by_role("button", name="Create queue").click()
    assert await sla.evaluate("input => input.validity.rangeOverflow")
    await sla.fill("2")
    await form.get_by_label("Unit of Service level target").select_option("minutes")
    await form.get_by_label("Default priority").fill("5")
    await form.get_by_label("Skill to add to Required skills").select_option("billing")
    await form.get_by_role("button", name="Add to Required skills").click()
    await form.get_by_label("Minimum level of billing").select_option("6")
    await form.get_by_label("Email has its own target").check()  # 4 hours to begin with
    await form.get_by_label("Target for Email", exact=True).fill("3")

    await form.get_by_label("Open only at set hours").check()
    await form.get_by_label("Time zone").fill("Europe/Berlin")
    await form.get_by_label("Open on Monday").check()  # 09:00-17:00 to begin with
    await form.get_by_role("button", name="Same hours Tuesday to Friday").click()
    await form.get_by_label("Open on Saturday").check()
    await form.get_by_label("Saturday opens").fill("10:00")
    await form.get_by_label("Saturday closes").fill("14:00")
    await form.get_by_label("Closed date").fill("2026-12-25")
    await form.get_by_role("button", name="Add closed date").click()
    await expect(form.get_by_role("button", name="Remove 2026-12-25")).to_be_visible()

    await form.get_by_label("Move it to another queue").check()
    await form.get_by_label("Move after", exact=True).fill("10")
    await form.get_by_label("Unit of Move after").select_option("minutes")
    await form.get_by_label("Move to queue").select_option(label="General")
    await form.get_by_label("Ask for fewer skills").check()  # and then none: anyone may take it
    await form.get_by_label("Relax after", exact=True).fill("5")
    await form.get_by_label("Unit of Relax after").select_option("minutes")
    await form.get_by_label("Offer the customer a way out").check()
    await form.get_by_label("Offer after", exact=True).fill("15")
    await form.get_by_label("Unit of Offer after").select_option("minutes")
    await form.get_by_role("button", name="Create queue").click()

    billing = queues.locator("tbody tr").filter(has=page.get_by_role("rowheader", name="Billing", exact=True))
    await expect(billing).to_contain_text("2 min")
    await expect(billing).to_contain_text("billing ≥ 6")
    await expect(billing).to_contain_text("Mon–Fri 09:00–17:00; Sat 10:00–14:00 (Europe/Berlin); closed dates: 1")
    await expect(billing).to_contain_text("after 10 min: to General")
    await expect(billing).to_contain_text("after 5 min: needs no skills")
    await expect(billing).to_contain_text("after 15 min: a way out")
    await expect(page.get_by_role("form", name="New queue").get_by_label("Name", exact=True)).to_have_value("")

    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        listed = {q["name"]: q for q in (await operator.get(f"/api/v1/tenants/{demo_id}/queues"))["items"]}
        general_id = listed["General"]["id"]
        expected = {
            "sla_seconds": 120, "sla_by_channel": {"email": 3 * 3600}, "default_priority": 5, "required_skills": {"billing": 6},
            "hours": {"timezone": "Europe/Berlin", "closed_dates": ["2026-12-25"],
                      "weekly": {**{day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}, "sat": [["10:00", "14:00"]]}},
            "overflow_after_seconds": 600, "overflow_queue_id": general_id,
            "relax_skills_after_seconds": 300, "relaxed_skills": {}, "max_wait_seconds": 900,
        }
        assert listed["Billing"]["settings"] == expected

    # A name another queue has is the API's 409, next to the form.
    form = page.get_by_role("form", name="New queue")
    await form.get_by_label("Name", exact=True).fill("General")
    await form.get_by_role("button", name="Create queue").click()
    await expect(form.get_by_role("alert")).to_have_text("queue 'General' exists")
    # A time zone the gateway does not know: its validation message names the field.
    await form.get_by_label("Name", exact=True).fill("Nights")
    await form.get_by_label("Open only at set hours").check()
    await form.get_by_label("Time zone").fill("Mars/Olympus")
    await form.get_by_role("button", name="Create queue").click()
    await expect(form.get_by_role("alert")).to_contain_text("settings.hours.timezone")
    await expect(form.get_by_role("alert")).to_contain_text("'Mars/Olympus' is not an IANA time zone")

    # Changed: a higher priority, open till midnight on Saturdays; the rest stays.
    await billing.get_by_role("button", name="Change Billing").click()
    change = page.get_by_role("form", name="Change queue Billing")
    await expect(change.get_by_label("Name", exact=True)).to_be_focused()
    await expect(change.get_by_label("Minimum level of billing")).to_have_value("6")
    await change.get_by_label("Default priority").fill("7")
    await change.get_by_label("Saturday closes").fill("00:00")
    await change.get_by_role("button", name="Save changes").click()
    await expect(change).to_have_count(0)
    await expect(billing.locator("td").nth(1)).to_have_text("7")
    await expect(billing).to_contain_text("Sat 10:00–24:00")
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        got = next(q for q in (await operator.get(f"/api/v1/tenants/{demo_id}/queues"))["items"] if q["name"] == "Billing")
        assert got["settings"] == {**expected, "default_priority": 7,
                                   "hours": {**expected["hours"], "weekly": {**expected["hours"]["weekly"], "sat": [["10:00", "24:00"]]}}}

    # Team: the demo agent gets the skill at level 7 and takes two chats at once.
    await sections(page).get_by_role("button", name="Team").click()
    team = page.get_by_role("region", name=f"Team of {business}")
    agent_row = team.locator("tbody tr").filter(has=page.get_by_role("rowheader", name="Demo Agent", exact=True))
    await expect(agent_row).to_contain_text("Chat 3")
    await agent_row.get_by_role("button", name="Skills & capacity of Demo Agent").click()
    editor = team.get_by_role("form", name="Skills & capacity of Demo Agent")
    await editor.get_by_label("Skill to add to Skills of Demo Agent").select_option("billing")
    await editor.get_by_role("button", name="Add to Skills of Demo Agent").click()
    await editor.get_by_label("Level of billing").select_option("7")
    await editor.get_by_label("Chat", exact=True).fill("2")
    await editor.get_by_role("button", name="Save").click()
    await expect(editor).to_have_count(0)
    await expect(agent_row).to_contain_text("billing 7")
    await expect(agent_row).to_contain_text("Chat 2")
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        agent = next(m for m in (await operator.get(f"/api/v1/tenants/{demo_id}/members"))["items"] if m["email"] == config.demo.agent_email)
        assert agent["skills"] == {"billing": 7}
        assert agent["capacity"] == {"voice": 1, "chat": 2, "email": 5, "fax": 5, "callback": 1}

    # Back in Queues & skills, the skill shows who uses it.
    await sections(page).get_by_role("button", name="Queues & skills").click()
    await expect(billing_skill).to_contain_text("queues: Billing; team: Demo Agent")

    # A visitor's chat waits in General (nobody is available): General can't go, Billing can.
    sockets = Sockets(base)
    try:
        visitor = await sockets.connect("/visitor", auth={"widget_key": config.demo.widget_key, "visitor_id": "visitor-queues-1"})
        started = await visitor.call("start_chat", {"client_id": "c-queues-00001", "text": "Where is my invoice?", "name": "Ina Voice"})
        assert started["ok"], started
        general = queues.locator("tbody tr").filter(has=page.get_by_role("rowheader", name="General", exact=True))
        await general.get_by_role("button", name="Delete General").click()
        await general.get_by_role("button", name="Really delete General?").click()
        await expect(page.get_by_role("alert")).to_contain_text("the queue still has work in it")
        await expect(general).to_be_visible()
        await page.screenshot(path=screenshot_path("admin-queues"), full_page=True)
        await billing.get_by_role("button", name="Delete Billing").click()
        await billing.get_by_role("button", name="Cancel").click()  # kept: nothing happens until the confirmation
        await expect(billing.get_by_role("button", name="Really delete Billing?")).to_have_count(0)
        await expect(billing).to_be_visible()
        await billing.get_by_role("button", name="Delete Billing").click()
        await billing.get_by_role("button", name="Really delete Billing?").click()
        await expect(billing).to_have_count(0)
        async with rest_client(base) as http:
            _, operator, _ = await demo_staff(http, config)
            names = [q["name"] for q in (await operator.get(f"/api/v1/tenants/{demo_id}/queues"))["items"]]
            assert names == ["General"]
    finally:
        await sockets.close()

"""A business's profile in the inbox: its admin sets its name, time zone, business hours and brand
colour; a bad time zone is refused with the reason and nothing changes."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot_path
from tests.browser.test_inbox_admin import PASSWORD, sections
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as


async def test_a_business_admin_sets_its_hours_and_brand_colour(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with rest_client(base) as http:
        _, operator, tid = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{tid}/members", 201, json={"email": "profile-boss@demo.example", "name": "Pat Boss",
                                                                          "password": PASSWORD, "role": "tenant_admin"})
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, "profile-boss@demo.example", PASSWORD)
    await page.get_by_role("button", name="Administration").click()
    await sections(page).get_by_role("button", name="Business").click()
    profile = page.get_by_role("form", name=f"Profile of {config.demo.tenant_name}")

    await profile.get_by_label("Time zone").fill("Mars/Olympus")
    await profile.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("Time zone: 'Mars/Olympus' is not an IANA time zone")

    await profile.get_by_label("Time zone").fill("Europe/Berlin")
    await profile.get_by_label("Open only at set hours").check()
    await profile.get_by_label("Open on Monday").check()
    await profile.get_by_label("A brand colour").check()
    await profile.get_by_label("Colour", exact=True).fill("#aa3300")
    await profile.get_by_role("button", name="Save").click()
    await expect(profile.get_by_role("status")).to_have_text("Saved.")
    await page.screenshot(path=screenshot_path("admin-business"), full_page=True)

    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        tenant = await operator.get(f"/api/v1/tenants/{tid}")
    assert tenant["timezone"] == "Europe/Berlin"
    assert tenant["business_hours"] == {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}, "closed_dates": []}
    assert tenant["branding"] == {"color": "#aa3300", "logo_url": ""}

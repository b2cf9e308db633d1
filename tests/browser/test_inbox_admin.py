"""Administration in the inbox. The center's operator opens a business, staffs it and suspends it;
a business's own admin staffs their business and sees no other."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import screenshot_path, until
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as

PASSWORD = "a long enough password"


async def test_the_operator_opens_staffs_and_suspends_a_business(browser: Browser, gateway) -> None:
    app, base, config = gateway
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, config.demo.operator_email, config.demo.operator_password)
    await page.get_by_role("button", name="Administration").click()
    businesses = page.get_by_role("region", name="Businesses")
    await expect(businesses.locator("tbody tr").first).to_be_visible()

    new = page.get_by_role("form", name="New business")
    await new.get_by_label("Name", exact=True).fill("Acme Plumbing")
    await new.get_by_label("Short name").fill("acme")
    await new.get_by_label("Time zone").fill("Europe/Berlin")
    await new.get_by_label("Web sites (origins)").fill("https://acme.example")
    await new.get_by_label("Seats rented").fill("5")
    await new.get_by_label("Brand colour").fill("#aa3300")
    await new.get_by_role("button", name="Create business").click()
    acme = businesses.locator("tbody tr").filter(has_text="Acme Plumbing")
    await expect(acme).to_contain_text("Europe/Berlin")
    await expect(acme.locator("code")).not_to_be_empty()  # its widget key, for the site's tag
    # Its widget secret is shown this once, and it is the one the gateway keeps.
    shown = page.get_by_role("status").filter(has_text="The widget secret of Acme Plumbing")
    secret = await shown.locator("code").inner_text()
    async with app[DB].connect() as conn:
        kept = (await conn.execute(sa.select(t.tenants.c.widget_secret, t.tenants.c.settings).where(t.tenants.c.slug == "acme"))).one()
    assert (secret, kept.settings["branding"]["color"]) == (kept.widget_secret, "#aa3300")
    await shown.get_by_role("button", name="I have stored it").click()
    await expect(shown).to_have_count(0)
    await expect(acme.get_by_label("Seats rented by Acme Plumbing")).to_have_value("5")

    # Its team: Sam is a new account; the demo agent (an existing one) serves Acme too.
    await acme.get_by_role("button", name="Acme Plumbing", exact=True).click()
    team = page.get_by_role("region", name="Team of Acme Plumbing")
    add = page.get_by_role("form", name="Add to the team")
    await add.get_by_label("E-mail").fill("sam@acme.example")
    await add.get_by_label("Name", exact=True).fill("Sam Plumber")
    await add.get_by_label("Password").fill(PASSWORD)
    await add.get_by_role("button", name="Add").click()
    await expect(team.locator("tbody tr").filter(has_text="sam@acme.example")).to_be_visible()
    await add.get_by_label("E-mail").fill(config.demo.agent_email)
    await add.get_by_role("button", name="Add").click()
    await expect(team.locator("tbody tr").filter(has_text=config.demo.agent_email)).to_be_visible()
    await team.get_by_label("Role of Sam Plumber").select_option("supervisor")
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        acme_id = next(x["id"] for x in (await operator.get("/api/v1/tenants"))["items"] if x["slug"] == "acme")

        async def roles() -> dict[str, str] | None:
            got = {m["email"]: m["role"] for m in (await operator.get(f"/api/v1/tenants/{acme_id}/members"))["items"]}
            return got if got.get("sam@acme.example") == "supervisor" else None

        assert await until(roles) == {"sam@acme.example": "supervisor", config.demo.agent_email: "agent"}

    # Fewer seats than the two in use is refused with the reason; the field shows what holds.
    await sections(page).get_by_role("button", name="Businesses").click()
    await acme.get_by_label("Seats rented by Acme Plumbing").fill("1")
    await acme.get_by_label("Seats rented by Acme Plumbing").press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("2 seats are in use")
    await expect(acme.get_by_label("Seats rented by Acme Plumbing")).to_have_value("5")

    # Seat usage, for billing (tests/reports/test_seats.py checks its figures), and its CSV.
    await sections(page).get_by_role("button", name="Seat usage").click()
    seats = page.get_by_role("region", name="Seat usage (UTC days)")
    await expect(seats.get_by_role("link", name="Download CSV")).to_have_attribute("href", re.compile(r"/api/v1/reports/seats\?.*format=csv"))

    # Suspended, once the operator confirms: its staff are out of it, its widget stops.
    await sections(page).get_by_role("button", name="Businesses").click()
    await acme.get_by_role("button", name="Suspend Acme Plumbing").click()
    confirm = acme.get_by_role("button", name="Really suspend Acme Plumbing?")
    await expect(confirm).to_be_focused()
    await acme.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    await expect(acme).to_contain_text("Active")
    async with rest_client(base) as http:
        assert (await http.get("/api/v1/widget/config", params={"key": (await _key(base, config, acme_id))})).status == 200
    await acme.get_by_role("button", name="Suspend Acme Plumbing").click()
    await confirm.click()
    await expect(acme).to_contain_text("Suspended")
    await expect(acme.get_by_role("button", name="Reactivate Acme Plumbing")).to_be_visible()  # one press: nothing is lost
    await page.screenshot(path=screenshot_path("inbox-admin"))
    async with rest_client(base) as http:
        config_of_widget = await http.get("/api/v1/widget/config", params={"key": (await _key(base, config, acme_id))})
        assert config_of_widget.status == 404


def sections(page: Page):
    return page.get_by_role("navigation", name="Administration sections")


async def _key(base: str, config, tenant_id: str) -> str:
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        return (await operator.get(f"/api/v1/tenants/{tenant_id}"))["widget_key"]


async def test_a_business_admin_staffs_their_own_business_only(browser: Browser, gateway) -> None:
    app, base, config = gateway
    async with rest_client(base) as http:
        _, operator, demo_id = await demo_staff(http, config)
        await operator.post(f"/api/v1/tenants/{demo_id}/members", 201, json={"email": "boss@demo.example", "name": "Dee Boss",
                                                                              "password": PASSWORD, "role": "tenant_admin"})
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, "boss@demo.example", PASSWORD)
    await page.get_by_role("button", name="Administration").click()
    await expect(page.get_by_role("region", name="Businesses")).to_have_count(0)
    team = page.get_by_role("region", name="Team of " + config.demo.tenant_name)
    await expect(team.locator("tbody tr").filter(has_text="boss@demo.example")).to_be_visible()
    add = page.get_by_role("form", name="Add to the team")
    await add.get_by_label("E-mail").fill("newbie@demo.example")
    await add.get_by_label("Password").fill(PASSWORD)
    await add.get_by_role("button", name="Add").click()
    newbie = team.locator("tbody tr").filter(has_text="newbie@demo.example")
    await expect(newbie).to_be_visible()
    await newbie.get_by_role("button", name="Remove newbie@demo.example").click()
    confirm = newbie.get_by_role("button", name=f"Really remove newbie@demo.example from {config.demo.tenant_name}?")
    await expect(confirm).to_be_focused()
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        emails = {m["email"] for m in (await operator.get(f"/api/v1/tenants/{demo_id}/members"))["items"]}
        assert "newbie@demo.example" in emails  # the first press alone removes nobody
    await confirm.click()
    await expect(newbie).to_have_count(0)
    async with rest_client(base) as http:
        _, operator, _ = await demo_staff(http, config)
        emails = {m["email"] for m in (await operator.get(f"/api/v1/tenants/{demo_id}/members"))["items"]}
        assert "newbie@demo.example" not in emails

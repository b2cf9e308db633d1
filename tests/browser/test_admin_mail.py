"""Administration, "Mailboxes & fax": a business's admin connects the business's mailbox on a real
IMAP server (the test Dovecot) with a fax rule for its fax-to-email service, watches its health
turn to connected as the gateway really logs in, and its mail and faxes become conversations in
the queues chosen; then changes the mailbox, gives it a wrong password (the health says the
login was refused) and removes it. A fax rule the fax channel can't use is refused, saying why."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from aiohttp import ClientSession, web
from playwright.async_api import Browser, Locator, Page, expect

from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import DB
from tests.browser.conftest import screenshot_path, serve_gateway, until
from tests.browser.test_inbox_chat import demo_staff, rest_client
from tests.browser.test_inbox_supervise import log_in_as
from tests.email.support import mail
from tests.fax.test_fax_intake import hylafax_mail
from tests.helpers import Api
from tests.mail.dovecot import Dovecot

PASSWORD = "a long enough password"
USER = "admin-mail"  # the mailbox's user on the test Dovecot
FAX_SERVICE = "faxmaster@pbx.demo.example"  # the From of hylafax_mail
HEALTH_WAIT = 30_000  # ms: intake reads the mailbox list every 0.2 s, the page its health every few seconds


async def by_channel(agent: Api, count: int) -> dict[str, list[dict]] | None:
    """The demo tenant's conversations by channel, once there are `count` of them."""
    found = (await agent.get("/api/v1/conversations?limit=50"))["items"]
    if len(found) < count:
        return None
    return {channel: [c for c in found if c["channel"] == channel] for channel in {c["channel"] for c in found}}


async def queue_of(agent: Api, conversation: dict) -> str:
    [task] = (await agent.get(f"/api/v1/conversations/{conversation['id']}/tasks"))["items"]
    return task["queue_id"]


async def stored_password(app: web.Application, mailbox_id: str) -> str:
    async with app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.mailboxes.c.imap_password).where(t.mailboxes.c.id == mailbox_id))).scalar_one()


async def reading_gateway(aiohttp_server, tmp_path: Path, dovecot: Dovecot) -> tuple[web.Application, str, Config]:
    """A gateway whose mail intake reads mailboxes at once (and trusts the test Dovecot's certificate)."""
    return await serve_gateway(
        aiohttp_server, tmp_path, mail={"tenant_servers_may_be_private": True},
        channels={"chat": {"enabled": True}, "email": {"enabled": True}, "fax": {"enabled": True}},
        mailboxes={"refresh_seconds": 0.2, "idle_seconds": 2.0, "poll_seconds": 0.5, "timeout_seconds": 5.0, "lease_seconds": 5.0,
                   "max_backoff_seconds": 1.0, "ca_file": str(dovecot.cert_path)})


async def demo_business(http: ClientSession, config: Config) -> tuple[Api, Api, str, dict[str, str]]:
    """The demo agent, the operator, the demo tenant's id with its admin Dee, and its queues by name."""
    agent, operator, demo_id = await demo_staff(http, config)
    await operator.post(f"/api/v1/tenants/{demo_id}/members", 201, json={"email": "boss@demo.example", "name": "Dee Boss",
                                                                          "password": PASSWORD, "role": "tenant_admin"})
    for name in ("Support", "Sales", "Faxes"):
        await operator.post(f"/api/v1/tenants/{demo_id}/queues", 201, json={"name": name})
    queues = {q["name"]: q["id"] for q in (await operator.get(f"/api/v1/tenants/{demo_id}/queues"))["items"]}
    return agent, operator, demo_id, queues


async def open_mail_section(browser: Browser, base: str, config: Config) -> tuple[Page, Locator]:
    """Dee's page, on the "Mailboxes & fax" section."""
    page: Page = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")).new_page()
    await log_in_as(page, base, "boss@demo.example", PASSWORD)
    await page.get_by_role("button", name="Administration").click()
    await page.get_by_role("navigation", name="Administration sections").get_by_role("button", name="Mailboxes & fax").click()
    return page, page.get_by_role("region", name=f"Mailboxes of {config.demo.tenant_name}")


async def test_a_business_admin_connects_a_mailbox_with_a_fax_rule_then_changes_and_removes_it(
        browser: Browser, aiohttp_server, tmp_path: Path, dovecot: Dovecot) -> None:
    app, base, config = await reading_gateway(aiohttp_server, tmp_path, dovecot)
    imap_password = dovecot.add_user(USER)
    async with rest_client(base) as http:
        agent, operator, demo_id, queues = await demo_business(http, config)

        async def mailboxes() -> list[dict]:
            return (await operator.get(f"/api/v1/tenants/{demo_id}/mailboxes"))["items"]

        page, section = await open_mail_section(browser, base, config)
        await expect(section).to_contain_text("No mailboxes yet")

        # The business's support mailbox, read over STARTTLS (the port follows the choice).
        await section.get_by_role("button", name="Add a mailbox").click()
        form = page.get_by_role("form", name="New mailbox")
        await form.get_by_label("Name", exact=True).fill("Support desk")
        await form.get_by_label("E-mail address").fill("support@demo.example")
        await form.get_by_label("Queue for its mail").select_option(label="Support")
        await form.get_by_label("IMAP server").fill(dovecot.host)
        await form.get_by_label("IMAP encryption").select_option("starttls")
        await expect(form.get_by_label("IMAP port")).to_have_value("143")
        await form.get_by_label("IMAP port").fill(str(dovecot.imap_port))
        await form.get_by_label("IMAP user name").fill(USER)
        await form.get_by_label("IMAP password").fill(imap_password)

        # A fax rule for another service that names neither its sender nor its subject would take
        # every mail with a PDF as a fax: refused, and the page says where and why.
        await form.get_by_role("button", name="Add a fax rule").click()
        rule = form.get_by_role("group", name="Fax rule 1")
        await rule.get_by_label("Fax service").select_option("generic")
        await rule.get_by_label("Sender's fax number (regular expression)").fill("Fax from ([+0-9 ]+)")
        await form.get_by_role("button", name="Add mailbox").click()
        await expect(page.get_by_role("alert")).to_contain_text("Fax rule 1, Subject (regular expression)")
        await expect(rule.get_by_label("Subject (regular expression)")).to_have_attribute("aria-invalid", "true")
        await expect(rule.locator(".mail-field-error")).to_contain_text("every mail with a PDF or TIFF attached would count as a fax")
        assert await mailboxes() == []

        # The business's HylaFAX: its faxes wait in their own queue, replies go back through the service.
        await rule.get_by_label("Fax service").select_option("hylafax")
        await expect(rule.get_by_label("Sender's fax number (regular expression)")).to_have_count(0)
        await rule.get_by_label("Sender address of the faxes").fill(FAX_SERVICE)
        await rule.get_by_label("Country of local numbers").fill("de")
        await rule.get_by_label("Address that faxes replies").fill("{number}@fax.demo.example")
        await rule.get_by_label("Queue for these faxes").select_option(label="Faxes")
        await form.get_by_role("button", name="Add mailbox").click()
        await expect(page.get_by_role("alert")).to_have_count(0)
        row = section.locator("tbody tr").filter(has_text="Support desk")
        await expect(row).to_contain_text("HylaFAX")
        await expect(row).to_contain_text("Faxes")

        # The gateway really logs in to the mailbox: the health says so.
        await expect(row.locator(".mail-state")).to_have_text("Connected", timeout=HEALTH_WAIT)
        await expect(row).to_contain_text("Last read")
        await page.screenshot(path=screenshot_path("admin-mail"), full_page=True)
        [saved] = await mailboxes()
        assert saved["state"] == "connected" and saved["imap_password_set"] and "imap_password" not in saved
        assert saved["queue_id"] == queues["Support"] and saved["imap_security"] == "starttls"
        assert saved["fax_rules"] == [{"profile": "hylafax", "sender_pattern": FAX_SERVICE, "subject_pattern": "", "number_pattern": "",
                                       "csid_pattern": "", "pages_pattern": "", "default_region": "DE",
                                       "reply_address": "{number}@fax.demo.example", "queue_id": queues["Faxes"]}]

        # A customer's mail becomes an e-mail conversation in Support; the fax one in Faxes.
        await dovecot.append(USER, mail("Opening hours?", "When are you open?").as_bytes())
        await dovecot.append(USER, hylafax_mail("030 1234567", "Bakery Schmidt", 1))
        channels = await until(lambda: by_channel(agent, 2), timeout=60)
        assert channels, "the mail and the fax did not become conversations"
        [email], [fax] = channels["email"], channels["fax"]
        assert email["subject"] == "Opening hours?" and await queue_of(agent, email) == queues["Support"]
        assert fax["attributes"]["fax"]["number"] == "+49301234567" and await queue_of(agent, fax) == queues["Faxes"]
        assert fax["attributes"]["fax"]["reply_address"] == "{number}@fax.demo.example"

        # Its mail goes to Sales; the password left blank stays as it was, and the mailbox connected.
        await row.get_by_role("button", name="Edit Support desk").click()
        edit = page.get_by_role("form", name="Change Support desk")
        await expect(edit.get_by_label("IMAP password")).to_have_value("")
        await edit.get_by_label("Queue for its mail").select_option(label="Sales")
        await edit.get_by_role("button", name="Save changes").click()
        await expect(edit).to_have_count(0)
        await expect(row.locator("td").nth(3)).to_have_text("Sales")
        [saved] = await mailboxes()
        assert saved["queue_id"] == queues["Sales"]
        assert await stored_password(app, saved["id"]) == imap_password
        await expect(row.locator(".mail-state")).to_have_text("Connected")

        # A wrong password: the health shows the server's refusal.
        await row.get_by_role("button", name="Edit Support desk").click()
        await edit.get_by_label("IMAP password").fill("not the password")
        await edit.get_by_role("button", name="Save changes").click()
        await expect(row.locator(".mail-state")).to_have_text("Error", timeout=HEALTH_WAIT)
        await expect(row).to_contain_text("the mail server refused the login")

        # Removing asks first; Cancel keeps it.
        await row.get_by_role("button", name="Remove Support desk").click()
        confirm = row.get_by_role("button", name="Really remove Support desk?")
        await expect(confirm).to_be_focused()
        assert len(await mailboxes()) == 1
        await row.get_by_role("button", name="Cancel").click()
        await expect(confirm).to_have_count(0)
        await expect(row).to_have_count(1)
        await row.get_by_role("button", name="Remove Support desk").click()
        await confirm.click()
        await expect(row).to_have_count(0)
        await expect(section).to_contain_text("No mailboxes yet")
        assert await mailboxes() == []


async def test_new_mail_goes_to_the_queue_the_admin_changed_to(browser: Browser, aiohttp_server, tmp_path: Path, dovecot: Dovecot) -> None:
    _, base, config = await reading_gateway(aiohttp_server, tmp_path, dovecot)
    user = "admin-mail-queue"
    imap_password = dovecot.add_user(user)
    async with rest_client(base) as http:
        agent, operator, demo_id, queues = await demo_business(http, config)
        created = await operator.post(f"/api/v1/tenants/{demo_id}/mailboxes", 201, json={
            "name": "Support desk", "address": "support@demo.example", "imap_host": dovecot.host, "imap_port": dovecot.imap_port,
            "imap_security": "starttls", "imap_username": user, "imap_password": imap_password, "queue_id": queues["Support"]})
        page, section = await open_mail_section(browser, base, config)
        row = section.locator("tbody tr").filter(has_text="Support desk")
        await expect(row.locator(".mail-state")).to_have_text("Connected", timeout=HEALTH_WAIT)
        await row.get_by_role("button", name="Edit Support desk").click()
        edit = page.get_by_role("form", name="Change Support desk")
        await edit.get_by_label("Queue for its mail").select_option(label="Sales")
        await edit.get_by_role("button", name="Save changes").click()
        await expect(row.locator("td").nth(3)).to_have_text("Sales")
        assert (await operator.get(f"/api/v1/tenants/{demo_id}/mailboxes/{created['id']}"))["queue_id"] == queues["Sales"]

        await dovecot.append(user, mail("Do you deliver?", "To Hamburg?").as_bytes())
        channels = await until(lambda: by_channel(agent, 1), timeout=60)
        assert channels, "the mail did not become a conversation"
        assert await queue_of(agent, channels["email"][0]) == queues["Sales"]

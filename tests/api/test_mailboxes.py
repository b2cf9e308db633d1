"""A tenant admin sets up the tenant's mailboxes: passwords go in and never come out (not in
answers, not in the audit log), bad settings get a clear error, and mail servers on the center's
own network are refused unless the operator allows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import DummyCookieJar

from gateway.app import create_app
from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api

SUPPORT = {"name": "Support", "address": "Support@Demo.example", "imap_host": "127.0.0.1", "imap_port": 993,
           "imap_username": "support-imap", "imap_password": "imap secret 123"}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", mail={"tenant_servers_may_be_private": True},
                       channels={"chat": {"enabled": True}, "fax": {"enabled": True}})


async def tenant_admin(operator: Api) -> tuple[Api, str]:
    tid = next(t["id"] for t in (await operator.get("/api/v1/tenants"))["items"] if t["slug"] == "demo")
    await operator.post(f"/api/v1/tenants/{tid}/members", expect=201,
                        json={"email": "boss@demo.example", "password": "long enough pw", "role": "tenant_admin"})
    return await Api.login(operator.client, "boss@demo.example", "long enough pw"), tid


async def test_an_admin_adds_changes_and_removes_a_mailbox_and_never_sees_its_passwords(operator: Api):
    admin, tid = await tenant_admin(operator)
    created = await admin.post(f"/api/v1/tenants/{tid}/mailboxes", expect=201, json={
        **SUPPORT, "smtp_host": "127.0.0.1", "smtp_port": 465, "smtp_security": "tls", "smtp_username": "support-smtp",
        "smtp_password": "smtp secret 456"})
    assert created["address"] == "support@demo.example"
    assert created["imap_security"] == "tls" and created["folder"] == "INBOX" and created["after_store"] == "seen"
    assert created["imap_password_set"] and created["smtp_password_set"]
    assert created["state"] == "idle" and created["enabled"]

    changed = await admin.patch(f"/api/v1/tenants/{tid}/mailboxes/{created['id']}", json={
        "after_store": "move", "move_to": "Handled", "imap_password": "new imap secret", "smtp_host": None, "smtp_password": None})
    assert changed["after_store"] == "move" and changed["move_to"] == "Handled"
    assert changed["imap_password_set"] and changed["smtp_host"] is None and not changed["smtp_password_set"]

    listed = await admin.get(f"/api/v1/tenants/{tid}/mailboxes")
    assert [m["name"] for m in listed["items"]] == ["Support"]
    audit = await admin.get(f"/api/v1/tenants/{tid}/audit-log")
    seen = json.dumps([listed, changed, created, await admin.get(f"/api/v1/tenants/{tid}/mailboxes/{created['id']}"), audit])
    for secret in ("imap secret 123", "smtp secret 456", "new imap secret"):
        assert secret not in seen
    assert [e["action"] for e in audit["items"][:2]] == ["mailbox.updated", "mailbox.created"]

    await admin.delete(f"/api/v1/tenants/{tid}/mailboxes/{created['id']}", expect=204)
    assert (await admin.get(f"/api/v1/tenants/{tid}/mailboxes"))["items"] == []
    await admin.get(f"/api/v1/tenants/{tid}/mailboxes/{created['id']}", expect=404)


async def test_bad_mailbox_settings_get_a_clear_error(operator: Api):
    admin, tid = await tenant_admin(operator)
    url = f"/api/v1/tenants/{tid}/mailboxes"
    cases = [
        ({**SUPPORT, "imap_host": "imap://mail.example"}, "imap_host"),
        ({**SUPPORT, "imap_port": 0}, "imap_port"),
        ({**SUPPORT, "imap_security": "ssl"}, "imap_security"),
        ({**SUPPORT, "address": "not an address"}, "address"),
        ({**SUPPORT, "after_store": "move"}, "move_to"),
        ({**SUPPORT, "smtp_host": "smtp.example"}, "smtp_port"),
        ({**SUPPORT, "queue_id": "00000000-0000-0000-0000-000000000000"}, "queue_id"),
        ({**SUPPORT, "surprise": 1}, "surprise"),
        ({k: v for k, v in SUPPORT.items() if k != "imap_password"}, "imap_password"),
    ]
    for body, field in cases:
        error = await admin.post(url, expect=422, json=body)
        assert field in json.dumps(error["details"]), (field, error)
    created = await admin.post(url, expect=201, json=SUPPORT)
    assert (await admin.post(url, expect=409, json=SUPPORT))["code"] == "name_taken"
    cleared = await admin.patch(f"{url}/{created['id']}", expect=422, json={"imap_password": None})
    assert "imap_password" in cleared["message"]


async def test_fax_rules_say_which_mail_is_a_fax_and_bad_ones_are_refused(operator: Api):
    admin, tid = await tenant_admin(operator)
    url = f"/api/v1/tenants/{tid}/mailboxes"
    hylafax = {"profile": "hylafax", "sender_pattern": "faxmaster@pbx.demo.example", "default_region": "de",
               "reply_address": "{number}@fax.demo.example"}
    created = await admin.post(url, expect=201, json={**SUPPORT, "fax_rules": [hylafax]})
    assert created["fax_rules"] == [{**hylafax, "default_region": "DE", "subject_pattern": "", "number_pattern": "",
                                     "csid_pattern": "", "pages_pattern": "", "queue_id": None}]
    bad = [
        ({"profile": "telex"}, "profile"),
        ({"profile": "generic", "subject_pattern": "Fax"}, "number_pattern"),
        ({"profile": "generic", "number_pattern": "from (\\d+)"}, "would count as a fax"),
        ({"profile": "generic", "subject_pattern": "Fax", "number_pattern": "\\d+"}, "group"),
        ({"profile": "generic", "subject_pattern": "(a+)+$", "number_pattern": "(\\d+)"}, "fax_rules.0.subject_pattern"),
        ({"profile": "efax", "subject_pattern": "(unclosed"}, "regular expression"),
        ({"profile": "efax", "default_region": "XX"}, "country code"),
        ({"profile": "efax", "reply_address": "fax@provider.example"}, "{number}"),
        ({"profile": "efax", "queue_id": "00000000-0000-0000-0000-000000000000"}, "unknown queue"),
    ]
    for rule, words in bad:
        error = await admin.patch(f"{url}/{created['id']}", expect=422, json={"fax_rules": [rule]})
        assert words in json.dumps(error), (rule, error)
    cleared = await admin.patch(f"{url}/{created['id']}", json={"fax_rules": None})
    assert cleared["fax_rules"] == []


async def test_mail_servers_on_the_centers_own_network_are_refused_by_default(tmp_path: Path, aiohttp_client) -> None:
    default = make_config(tmp_path / "data")
    client = await aiohttp_client(create_app(default), cookie_jar=DummyCookieJar())
    admin, tid = await tenant_admin(await Api.login(client, default.demo.operator_email, default.demo.operator_password))
    for host in ("127.0.0.1", "10.1.2.3", "localhost", "[::1]"):
        error = await admin.post(f"/api/v1/tenants/{tid}/mailboxes", expect=422, json={**SUPPORT, "imap_host": host})
        assert error["code"] == "unsafe_host", host
    # And no password in clear over the Internet.
    error = await admin.post(f"/api/v1/tenants/{tid}/mailboxes", expect=422,
                             json={**SUPPORT, "imap_host": "imap.example.com", "imap_security": "none"})
    assert error["code"] == "insecure" and error["details"][0]["field"] == "imap_security"

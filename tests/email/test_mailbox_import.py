"""Hooking up a mailbox that already holds mail: the admin chooses what of it becomes work — all
of it, only the unseen (the default: what nobody has read yet is likely unanswered), or none — so
a support address with years of read mail does not flood the queue. And a mail that can't be
stored is skipped with a warning that stays until the admin dismisses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from channels.email.channel import EmailConsumer
from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import DB
from tests.email.support import add_mailbox, count_is, email_config, email_conversations, eventually, mail
from tests.helpers import Api
from tests.mail.dovecot import Dovecot


@pytest.fixture
def config(tmp_path: Path, dovecot: Dovecot) -> Config:
    return email_config(tmp_path / "data", dovecot)


async def append_seen(dovecot: Dovecot, user: str, raw: bytes) -> None:
    """A mail someone already read in another mail client."""
    client = await dovecot._session(user)
    try:
        assert (await client.append(raw, "INBOX", flags=r"(\Seen)")).result == "OK"
    finally:
        await client.logout()


async def subjects(agent: Api) -> set[str]:
    return {c["subject"] for c in await email_conversations(agent)}


async def mailbox_with_history(operator: Api, dovecot: Dovecot, user: str, **settings: Any) -> dict[str, Any]:
    """A mailbox whose folder holds two read mails and one unread before intake starts."""
    box = await add_mailbox(operator, dovecot, user, enabled=False, **settings)
    await append_seen(dovecot, user, mail("Old and answered", "from last year").as_bytes())
    await dovecot.append(user, mail("Still waiting", "nobody read this yet").as_bytes())
    await append_seen(dovecot, user, mail("Old and read", "read in Outlook").as_bytes())
    return box


@pytest.fixture
async def tenant_id(operator: Api) -> str:
    return next(t["id"] for t in (await operator.get("/api/v1/tenants"))["items"] if t["slug"] == "demo")


async def test_by_default_only_the_unseen_mail_already_in_the_folder_becomes_work_and_new_mail_all_does(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot, tenant_id: str):
    box = await mailbox_with_history(operator, dovecot, "import-unseen")
    assert box["import_existing"] == "unseen"
    await operator.patch(f"/api/v1/tenants/{tenant_id}/mailboxes/{box['id']}", json={"enabled": True})
    assert await eventually(lambda: count_is(email_conversations(agent), 1))
    assert await subjects(agent) == {"Still waiting"}
    # Later mail is taken whether or not someone read it first in another client.
    await append_seen(dovecot, "import-unseen", mail("Read before we got to it", "quick!").as_bytes())
    await dovecot.append("import-unseen", mail("Brand new", "hello").as_bytes())
    assert await eventually(lambda: count_is(email_conversations(agent), 3))
    assert await subjects(agent) == {"Still waiting", "Read before we got to it", "Brand new"}


async def test_none_takes_only_mail_that_arrives_later_and_all_takes_the_whole_folder(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot, tenant_id: str):
    fresh = await mailbox_with_history(operator, dovecot, "import-none", import_existing="none")
    await operator.patch(f"/api/v1/tenants/{tenant_id}/mailboxes/{fresh['id']}", json={"enabled": True})
    assert await eventually(lambda: _connected(client, fresh["id"]))
    await dovecot.append("import-none", mail("After hooking up", "first new mail").as_bytes())
    assert await eventually(lambda: count_is(email_conversations(agent), 1))
    assert await subjects(agent) == {"After hooking up"}

    everything = await mailbox_with_history(operator, dovecot, "import-all", import_existing="all", name="all of it")
    await operator.patch(f"/api/v1/tenants/{tenant_id}/mailboxes/{everything['id']}", json={"enabled": True})
    assert await eventually(lambda: count_is(email_conversations(agent), 4))
    assert await subjects(agent) == {"After hooking up", "Old and answered", "Still waiting", "Old and read"}


async def _connected(client: TestClient, mailbox_id: str) -> bool:
    async with client.app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.mailboxes.c.state).where(t.mailboxes.c.id == mailbox_id))).scalar_one() == "connected"


async def test_a_mail_that_cannot_be_stored_is_skipped_after_three_tries_with_a_warning_that_stays_until_dismissed(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot, tenant_id: str, monkeypatch: pytest.MonkeyPatch):
    store = EmailConsumer.store

    async def failing_store(self, mailbox, raw, parsed, *, uid):
        if parsed.subject == "Poison":
            raise RuntimeError("this mail breaks the store")
        await store(self, mailbox, raw, parsed, uid=uid)

    monkeypatch.setattr(EmailConsumer, "store", failing_store)
    box = await add_mailbox(operator, dovecot, "import-poison")
    await dovecot.append("import-poison", mail("Poison", "x").as_bytes())
    await dovecot.append("import-poison", mail("Fine", "the mail after it").as_bytes())
    assert await eventually(lambda: count_is(email_conversations(agent), 1), timeout=60)
    assert await subjects(agent) == {"Fine"}
    url = f"/api/v1/tenants/{tenant_id}/mailboxes/{box['id']}"

    async def healthy_with_warning() -> dict[str, Any] | None:
        now = await operator.get(url)
        return now if now["state"] == "connected" and now["last_error"] is None and now["warning"] else None

    # Reading goes on healthily, and the warning is still there for the admin.
    health = await eventually(healthy_with_warning)
    assert health and "mail UID 1 could not be stored" in health["warning"] and "left in the mailbox" in health["warning"]
    assert await dovecot.unseen("import-poison") == 1  # the skipped mail waits, unread, for a person
    dismissed = await operator.patch(url, json={"warning": None})
    assert dismissed["warning"] is None and (await operator.get(url))["warning"] is None
    await operator.patch(url, json={"warning": "something"}, expect=422)

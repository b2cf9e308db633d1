"""What the email tests share: a gateway config reading mailboxes quickly, mails as customers
write them, a mailbox on the test Dovecot, and waiting for background intake."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api
from tests.mail.dovecot import Dovecot


def email_config(data_dir: Path, dovecot: Dovecot) -> Config:
    return make_config(
        data_dir, mail={"tenant_servers_may_be_private": True}, realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
        channels={"chat": {"enabled": True}, "email": {"enabled": True}},
        mailboxes={"refresh_seconds": 0.2, "idle_seconds": 2.0, "poll_seconds": 0.5, "timeout_seconds": 5.0, "lease_seconds": 5.0,
                   "max_backoff_seconds": 1.0, "batch_size": 7, "ca_file": str(dovecot.cert_path)},
    )


def mail(subject: str, body: str, *, sender: str = "Ann Customer <ann@customer.example>", to: str = "support@demo.example",
         **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


async def add_mailbox(operator: Api, dovecot: Dovecot, user: str, **extra: Any) -> dict[str, Any]:
    password = dovecot.add_user(user)
    tid = next(t["id"] for t in (await operator.get("/api/v1/tenants"))["items"] if t["slug"] == "demo")
    return await operator.post(f"/api/v1/tenants/{tid}/mailboxes", expect=201, json={
        "name": user, "address": "support@demo.example", "imap_host": dovecot.host, "imap_port": dovecot.imap_port,
        "imap_security": "starttls", "imap_username": user, "imap_password": password, **extra})


async def eventually(check: Callable[[], Awaitable[Any] | Any], timeout: float = 30) -> Any:
    """Polls until `check` returns something truthy (intake and sending run in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def email_conversations(agent: Api) -> list[dict[str, Any]]:
    return (await agent.get("/api/v1/conversations?channel=email&limit=200"))["items"]


async def messages(agent: Api, conversation_id: str) -> list[dict[str, Any]]:
    return (await agent.get(f"/api/v1/conversations/{conversation_id}/messages?limit=200"))["items"]


async def count_is(items: Awaitable[list[Any]], n: int) -> list[Any] | None:
    found = await items
    return found if len(found) == n else None

"""Outgoing mail, queued in SQL and sent by a worker that retries with backoff — a restart or an
SMTP outage delays a mail, never loses it. Two kinds: the center's own (a chat transcript a
visitor asked for), composed here and sent through the SMTP server of config [mail]; and agents'
replies to customers, composed in full by the email channel (raw_key) and sent through the SMTP
server of the tenant's mailbox. A reply that can't be delivered marks the agent's message
(message.delivery_failed), so the agent sees it.

Like the webhook worker, any number of gateway processes may run this worker: a mail is claimed
with one conditional UPDATE, so one process at a time tries it; a process that dies mid-send
leaves its claim to expire, and the mail is tried again (at least once). The result is recorded as
the event mail.sent or, after the last attempt, mail.failed."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import ssl
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import aiosmtplib
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.config import MailConfig
from gateway.core.conversations import mark_delivery
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import EventBus, record_event
from gateway.events.targets import UnsafeTarget, public_addresses
from gateway.keys import CONFIG, DB, EVENTS, FILES, MAIL
from gateway.mail.tls import tenant_tls_context
from gateway.storage.files import FileStore

log = logging.getLogger(__name__)
_BATCH = 20


async def queue_mail(conn: AsyncConnection, tenant_id: str, *, kind: str, to_address: str, subject: str, body_text: str,
                     conversation_id: str | None = None, mailbox_id: str | None = None, message_id: str | None = None,
                     raw_key: str | None = None) -> str:
    now = utcnow()
    mail_id = new_id()
    await conn.execute(sa.insert(t.outbound_mail).values(
        id=mail_id, tenant_id=tenant_id, conversation_id=conversation_id, kind=kind, to_address=to_address,
        subject=subject[:300], body_text=body_text, mailbox_id=mailbox_id, message_id=message_id, raw_key=raw_key,
        status="pending", attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
    return mail_id


async def requeue_failed(conn: AsyncConnection, tenant_id: str, message_id: str) -> bool:
    """An agent retries a reply whose mail failed or bounced: it gets a fresh set of attempts.
    False when no mail carries this message (it failed before reaching the outbox)."""
    m = t.outbound_mail
    now = utcnow()
    # "sent" too: a mail the server took and then bounced back.
    result = await conn.execute(sa.update(m).where(m.c.tenant_id == tenant_id, m.c.message_id == message_id, m.c.status != "pending")
                                .values(status="pending", attempts=0, next_attempt_at=now, locked_until=None, updated_at=now))
    return result.rowcount == 1


async def connect_socket(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A TCP socket connected to the first of `addresses` (IPs) that accepts, all tried within one
    `timeout` so that a mail's claim outlasts the attempt; else the last error (OSError)."""
    loop = asyncio.get_running_loop()
    error = OSError(f"no address to connect to on port {port}")
    try:
        async with asyncio.timeout(timeout):
            for address in addresses:
                family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setblocking(False)
                try:
                    await loop.sock_connect(sock, (address, port))
                except BaseException as exc:  # an OSError: try the next one; a timeout or cancellation: stop
                    sock.close()
                    if not isinstance(exc, OSError):
                        raise
                    error = exc
                    continue
                return sock
    except TimeoutError:
        raise TimeoutError(f"could not connect to {', '.join(addresses)} port {port} within {timeout}s") from None
    raise error


class Undeliverable(Exception):
    """Retrying won't help (the mailbox is gone or has no SMTP server): fail at once."""


def retry_delay(config: MailConfig, attempts: int) -> float:
    return config.first_retry_seconds * 2 ** (attempts - 1) * random.uniform(0.9, 1.1)


class MailWorker:
    def __init__(self, engine: AsyncEngine, events: EventBus, config: MailConfig, files: FileStore, tenant_tls: ssl.SSLContext) -> None:
        self._engine = engine
        self._events = events
        self._config = config
        self._files = files
        self._tenant_tls = tenant_tls  # for tenants' own SMTP servers: [mailboxes] ca_file
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def wake(self) -> None:
        """After queueing a mail: send it now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                log.exception("mail worker pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self._config.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    def _unlocked(self, now: Any) -> sa.ColumnElement[bool]:
        m = t.outbound_mail
        return sa.and_(m.c.status == "pending", m.c.next_attempt_at <= now,
                       sa.or_(m.c.locked_until.is_(None), m.c.locked_until < now))

    async def send_due(self) -> int:
        sent = 0
        while True:
            async with self._engine.connect() as conn:
                due = list((await conn.execute(sa.select(t.outbound_mail.c.id).where(self._unlocked(utcnow()))
                                               .order_by(t.outbound_mail.c.next_attempt_at).limit(_BATCH))).scalars())
            for mail_id in due:
                if await self._claim(mail_id):
                    await self._attempt(mail_id)
                    sent += 1
            if len(due) < _BATCH:
                return sent

    async def _claim(self, mail_id: str) -> bool:
        now = utcnow()
        m = t.outbound_mail
        async with self._engine.begin() as conn:
            result = await conn.execute(sa.update(m).where(m.c.id == mail_id, self._unlocked(now)).values(
                locked_until=now + timedelta(seconds=self._config.timeout_seconds * 3 + 30)))
        return result.rowcount == 1

    async def _attempt(self, mail_id: str) -> None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(t.outbound_mail).where(t.outbound_mail.c.id == mail_id))).one()
        error, final = None, False
        try:
            await (self._send_reply(row) if row.raw_key else self._send(row))
        except Undeliverable as exc:
            error, final = str(exc)[:500], True
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx: the server won't take it however often we try (a 4xx may pass later).
            error, final = f"{exc.code} {exc.message}"[:500], exc.code >= 500
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # a bug, or a stored file gone: counted as an attempt, never retried for ever
            log.exception("mail attempt failed", extra={"mail_id": mail_id})
            error = f"unexpected {type(exc).__name__}"
        await self._record(row, error, final=final)

    async def _send_reply(self, row: Any) -> None:
        async with self._engine.connect() as conn:
            box = (await conn.execute(sa.select(t.mailboxes).where(
                t.mailboxes.c.id == row.mailbox_id, t.mailboxes.c.tenant_id == row.tenant_id))).first()
        if box is None:
            raise Undeliverable("the mailbox this reply goes out through was removed")
        if not box.smtp_host:
            raise Undeliverable(f"the mailbox {box.name!r} has no SMTP server set up for replies")
        timeout = self._config.timeout_seconds
        addresses: list[str] | None = None
        if not self._config.tenant_servers_may_be_private:
            try:
                addresses = await public_addresses(box.smtp_host.strip("[]"))
            except UnsafeTarget as exc:
                raise Undeliverable(str(exc)) from None
        raw = await asyncio.to_thread(self._files.path(row.raw_key).read_bytes)
        # With vetted addresses, connect to one of them ourselves: given the name, aiosmtplib would
        # look it up again and could be sent elsewhere (DNS rebinding). TLS still checks `hostname`.
        sock = await connect_socket(addresses, box.smtp_port, timeout) if addresses is not None else None
        try:
            client = aiosmtplib.SMTP(
                hostname=box.smtp_host, port=box.smtp_port if sock is None else None, sock=sock, timeout=timeout,
                use_tls=box.smtp_security == "tls", start_tls=box.smtp_security == "starttls", tls_context=self._tenant_tls,
                username=box.smtp_username or None, password=box.smtp_password or None)
        except BaseException:
            if sock is not None:
                sock.close()  # not handed over yet
            raise
        # From here the client owns the socket and closes it with its transport (closing it
        # ourselves could pull the descriptor from under a TLS shutdown still in progress).
        async with client:
            await client.sendmail(box.address, [row.to_address], raw)

    async def _send(self, row: Any) -> None:
        if not self._config.enabled:
            raise Undeliverable("this center sends no mail ([mail] smtp_host is not set)")
        config = self._config
        message = EmailMessage()
        message["From"] = formataddr(("", config.from_address)) if "<" not in config.from_address else config.from_address
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Message-ID"] = make_msgid(idstring=row.id, domain=config.from_address.rsplit("@", 1)[-1].strip(">"))
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this, please
        message.set_content(row.body_text)
        await aiosmtplib.send(
            message, hostname=config.smtp_host, port=config.smtp_port, timeout=config.timeout_seconds,
            use_tls=config.security == "tls", start_tls=config.security == "starttls",
            username=config.username or None, password=config.password.get_secret_value() or None,
        )

    async def _record(self, row: Any, error: str | None, *, final: bool = False) -> None:
        attempts = row.attempts + 1
        now = utcnow()
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "updated_at": now, "last_error": error}
        event_type = None
        if error is None:
            values["status"], event_type = "sent", "mail.sent"
        elif final or attempts >= self._config.max_attempts:
            values["status"], event_type = "failed", "mail.failed"
            log.warning("mail not sent after its last attempt", extra={"mail_id": row.id, "attempts": attempts, "error": error})
        else:
            values["next_attempt_at"] = now + timedelta(seconds=retry_delay(self._config, attempts))
            log.info("mail not sent; will retry", extra={"mail_id": row.id, "attempts": attempts, "error": error})
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(t.outbound_mail).where(t.outbound_mail.c.id == row.id).values(**values))
            events = [await record_event(conn, event_type, row.tenant_id, {
                "mail_id": row.id, "kind": row.kind, "conversation_id": row.conversation_id, "attempts": attempts, "error": error,
            }, conversation_id=row.conversation_id, actor="mail")] if event_type else []
            if row.message_id:  # an agent's reply: the agent sees how it fared, on the message
                status = "sent" if error is None else "failed" if event_type == "mail.failed" else "retrying"
                marked = await mark_delivery(conn, row.tenant_id, row.message_id, status, error=error, actor="mail")
                events += [marked] if marked else []
        await self._events.publish(*events)


async def mail_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    worker = MailWorker(app[DB], app[EVENTS], config.mail, app[FILES], tenant_tls_context(config.mailboxes.ca_file))
    app[MAIL] = worker
    await worker.start()
    yield
    await worker.stop()


def setup_mail(app: web.Application) -> None:
    """Call after the database's cleanup context is registered."""
    app.cleanup_ctx.append(mail_ctx)

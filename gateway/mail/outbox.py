"""The center's own outgoing mail (a chat transcript a visitor asked for): queued in SQL in the
same transaction as the request, then sent through the SMTP server of config [mail] by a worker
that retries with backoff — a restart or an SMTP outage delays a mail, never loses it.

Like the webhook worker, any number of gateway processes may run this worker: a mail is claimed
with one conditional UPDATE, so one process at a time tries it; a process that dies mid-send
leaves its claim to expire, and the mail is tried again (at least once). The result is recorded as
the event mail.sent or, after the last attempt, mail.failed."""

from __future__ import annotations

import asyncio
import logging
import random
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
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import EventBus, record_event
from gateway.keys import CONFIG, DB, EVENTS, MAIL

log = logging.getLogger(__name__)
_BATCH = 20


async def queue_mail(conn: AsyncConnection, tenant_id: str, *, kind: str, to_address: str, subject: str, body_text: str,
                     conversation_id: str | None = None) -> str:
    now = utcnow()
    mail_id = new_id()
    await conn.execute(sa.insert(t.outbound_mail).values(
        id=mail_id, tenant_id=tenant_id, conversation_id=conversation_id, kind=kind, to_address=to_address,
        subject=subject[:300], body_text=body_text, status="pending", attempts=0, next_attempt_at=now,
        created_at=now, updated_at=now))
    return mail_id


def retry_delay(config: MailConfig, attempts: int) -> float:
    return config.first_retry_seconds * 2 ** (attempts - 1) * random.uniform(0.9, 1.1)


class MailWorker:
    def __init__(self, engine: AsyncEngine, events: EventBus, config: MailConfig) -> None:
        self._engine = engine
        self._events = events
        self._config = config
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._config.enabled:
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
        error = None
        try:
            await self._send(row)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        await self._record(row, error)

    async def _send(self, row: Any) -> None:
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

    async def _record(self, row: Any, error: str | None) -> None:
        attempts = row.attempts + 1
        now = utcnow()
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "updated_at": now, "last_error": error}
        event_type = None
        if error is None:
            values["status"], event_type = "sent", "mail.sent"
        elif attempts >= self._config.max_attempts:
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
        await self._events.publish(*events)


async def mail_ctx(app: web.Application) -> AsyncIterator[None]:
    worker = MailWorker(app[DB], app[EVENTS], app[CONFIG].mail)
    app[MAIL] = worker
    await worker.start()
    yield
    await worker.stop()


def setup_mail(app: web.Application) -> None:
    """Call after the database's cleanup context is registered."""
    app.cleanup_ctx.append(mail_ctx)

"""Mail intake: a MailboxReader (reader.py) for every enabled mailbox of an active tenant, as
long as some running channel takes mail (Channel.mail_consumer: email, fax). Started after the
channels, stopped before them; each reader gives its mailbox's lease up on the way out so
another gateway process takes over at once. The readers share one pool of worker processes
that parse the mail (parse_pool.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator

import sqlalchemy as sa
from aiohttp import web

from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import CHANNELS, CONFIG, DB, MAIL_INTAKE
from gateway.mail.mailboxes import MailConsumer
from gateway.mail.parse_pool import ParserPool
from gateway.mail.reader import MailboxReader
from gateway.mail.tls import tenant_tls_context

log = logging.getLogger(__name__)


class MailIntake:
    def __init__(self, app: web.Application, consumers: list[MailConsumer]) -> None:
        self._app = app
        self._config: Config = app[CONFIG]
        self._consumers = consumers
        self._supervisor: asyncio.Task[None] | None = None
        self._readers: dict[str, tuple[MailboxReader, asyncio.Task[None]]] = {}
        self._parser: ParserPool | None = None  # shared by the readers; its workers start as mail comes
        # Who holds a mailbox's lease: unique per process, and readable by an operator.
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"

    async def start(self) -> None:
        if self._consumers:
            settings = self._config.mailboxes
            self._parser = ParserPool(settings.parse_workers, timeout=settings.parse_timeout_seconds,
                                      memory_mb=settings.parse_memory_mb)
            self._supervisor = asyncio.create_task(self._supervise(), name="mail-intake")

    async def stop(self) -> None:
        tasks = [self._supervisor] if self._supervisor else []
        tasks += [task for _, task in self._readers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for reader, _ in self._readers.values():
            with contextlib.suppress(Exception):
                await reader.release()
        self._readers.clear()
        if self._parser is not None:
            self._parser.close()
            self._parser = None

    async def _supervise(self) -> None:
        while True:
            try:
                await self._refresh()
            except Exception:
                log.exception("could not read the list of mailboxes")
            await asyncio.sleep(self._config.mailboxes.refresh_seconds)

    async def _refresh(self) -> None:
        """A reader for each enabled mailbox; readers of mailboxes gone or switched off stop."""
        wanted = set(await self._mailbox_ids())
        for mailbox_id in list(self._readers):
            if mailbox_id not in wanted:
                reader, task = self._readers.pop(mailbox_id)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await reader.release()
        assert self._parser is not None
        for mailbox_id in wanted - set(self._readers):
            reader = MailboxReader(
                self._app[DB], mailbox_id, self._config.mailboxes, owner=self.owner, parse=self._parser.parse,
                consumers=self._consumers,
                ssl_context=tenant_tls_context(self._config.mailboxes.ca_file),
                private_servers_allowed=self._config.mail.tenant_servers_may_be_private,
            )
            self._readers[mailbox_id] = (reader, asyncio.create_task(reader.run(), name=f"mailbox-{mailbox_id}"))

    async def _mailbox_ids(self) -> list[str]:
        b = t.mailboxes
        async with self._app[DB].connect() as conn:
            return list((await conn.execute(sa.select(b.c.id).join(t.tenants, t.tenants.c.id == b.c.tenant_id).where(
                b.c.enabled.is_(True), t.tenants.c.status == "active"))).scalars())


async def mail_intake_ctx(app: web.Application) -> AsyncIterator[None]:
    intake = app[MAIL_INTAKE] = MailIntake(app, app[CHANNELS].mail_consumers())
    await intake.start()
    yield
    await intake.stop()


def setup_mail_intake(app: web.Application) -> None:
    app.cleanup_ctx.append(mail_intake_ctx)

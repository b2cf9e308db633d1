"""The tenants' phone numbers (DIDs), kept in SQL (`phone_numbers`, managed through the API):
which tenant and queue a call to a number rings in, and which number a tenant's calls out show.

Numbers listed in `[channels.voice.sip] numbers` are given to their tenants at start, each once:
the tenant's settings remember which it was given (SEEDED), so a number the operator later moved
or took back through the API stays so, and a number added to config.toml later still comes in.
From then on SQL is the truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gateway.core.tenant_settings import read_settings, write_section
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow

from channels.voice.sip.settings import NumberSettings

if TYPE_CHECKING:
    from gateway.channel import ChannelContext

log = logging.getLogger(__name__)

SEEDED = "seeded_phone_numbers"  # the tenant settings' section listing config.toml's numbers it was given


@dataclass(frozen=True)
class CalledNumber:
    number: str
    tenant_id: str
    queue_id: str | None  # None: the tenant's default queue
    available: bool  # the tenant is active and this channel serves it


class PhoneNumbers:
    def __init__(self, ctx: ChannelContext) -> None:
        self._ctx = ctx

    async def seed(self, numbers: list[NumberSettings]) -> None:
        """Gives each tenant config.toml's numbers it was never given before."""
        for configured in numbers:
            tenant_id = await self._ctx.tenant_id_of(configured.tenant)
            if tenant_id is None:
                log.warning("a configured phone number names no active tenant this channel serves; left out",
                            extra={"number": configured.number, "tenant": configured.tenant})
                continue
            async with self._ctx.unit() as unit:
                given = ((await read_settings(unit.conn, tenant_id)) or {}).get(SEEDED) or []
                if configured.number in given:
                    continue
                queue_id = configured.queue or None
                if queue_id is not None and (await unit.conn.execute(sa.select(t.queues.c.id).where(
                        t.queues.c.id == queue_id, t.queues.c.tenant_id == tenant_id))).scalar_one_or_none() is None:
                    log.warning("a configured phone number names a queue its tenant doesn't have; it rings in the default queue",
                                extra={"number": configured.number})
                    queue_id = None
                # Another business may have it by now, or another process just added it: one row either way.
                await insert_ignoring_conflicts(unit.conn, t.phone_numbers, {
                    "id": new_id(), "tenant_id": tenant_id, "number": configured.number, "queue_id": queue_id,
                    "label": "", "created_at": utcnow()}, ["number"])
                await write_section(unit.conn, tenant_id, SEEDED, [*given, configured.number])

    async def called(self, number: str) -> CalledNumber | None:
        """The number's tenant and queue; None when no tenant has it."""
        stmt = (sa.select(t.phone_numbers.c.tenant_id, t.phone_numbers.c.queue_id, t.tenants.c.status)
                .join(t.tenants, t.tenants.c.id == t.phone_numbers.c.tenant_id)
                .where(t.phone_numbers.c.number == number))
        async with self._ctx.unit() as unit:
            row = (await unit.conn.execute(stmt)).one_or_none()
        if row is None:
            return None
        available = row.status == "active" and await self._ctx.serves(row.tenant_id)
        return CalledNumber(number, row.tenant_id, row.queue_id, available)

    async def first_of(self, tenant_id: str) -> str | None:
        """The number a tenant's calls out show: its oldest."""
        stmt = (sa.select(t.phone_numbers.c.number).where(t.phone_numbers.c.tenant_id == tenant_id)
                .order_by(t.phone_numbers.c.created_at, t.phone_numbers.c.number).limit(1))
        async with self._ctx.unit() as unit:
            return (await unit.conn.execute(stmt)).scalar_one_or_none()

"""The center's links to the outside at a glance, for its operator: every business's mailboxes
(connected, failing and why, when last read) and what the channels report of theirs (SIP trunks
registered or answering; gateway/ops/channel_health.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from pydantic import BaseModel

from gateway.api.registry import ApiRegistry, Call
from gateway.db import schema as t
from gateway.keys import CHANNELS, DB, REDIS
from gateway.ops import channel_health


class LinkHealth(BaseModel):
    channel: str
    kind: str
    name: str
    state: str  # ok | failing | checking | unchecked
    detail: str
    checked_at: datetime


class MailboxHealth(BaseModel):
    tenant_id: str
    tenant: str
    mailbox_id: str
    name: str
    address: str
    enabled: bool
    state: str  # connected | error | idle (not read yet)
    last_error: str | None
    warning: str | None  # kept until the business's admin dismisses it
    last_synced_at: datetime | None


class ChannelHealthOut(BaseModel):
    channels: list[str]  # the channels running, so a missing report reads as "not reported"
    links: list[LinkHealth]
    mailboxes: list[MailboxHealth]


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/channels/health", summary="Every business's mailboxes and the center's SIP trunks, and how each is doing (operator)",
               tag="admin", response=ChannelHealthOut, errors=(403,))
    async def channel_health_overview(call: Call) -> ChannelHealthOut:
        call.user.require_operator()
        names = sorted(call.app[CHANNELS].channels)
        reports = await channel_health.read(call.app[REDIS], names)
        links = [LinkHealth(channel=name, **{**item, "checked_at": datetime.fromtimestamp(item["checked_at"], timezone.utc)})
                 for name, items in reports.items() for item in items]
        m = t.mailboxes
        stmt = (sa.select(m.c.tenant_id, t.tenants.c.name.label("tenant"), m.c.id.label("mailbox_id"), m.c.name, m.c.address,
                          m.c.enabled, m.c.state, m.c.last_error, m.c.warning, m.c.last_synced_at)
                .join(t.tenants, t.tenants.c.id == m.c.tenant_id).order_by(t.tenants.c.name, m.c.name))
        async with call.app[DB].connect() as conn:
            mailboxes = [MailboxHealth(**row._asdict()) for row in (await conn.execute(stmt)).all()]
        return ChannelHealthOut(channels=names, links=links, mailboxes=mailboxes)

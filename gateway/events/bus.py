"""Domain events. Every state change is recorded in SQL in the same transaction as the change
(and, in that transaction, queued for the tenant's webhooks: an outbox), then published after
commit to in-process listeners — the realtime layer, webhooks worker, metrics, later routing.
Channels and API handlers only ever record and publish; they never call listeners directly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow

log = logging.getLogger(__name__)

# Who may see an event pushed live: "internal" stays with the tenant's staff; "public" also
# reaches the visitor of that conversation (a chat message, never an internal note).
Audience = Literal["internal", "public"]


@dataclass(frozen=True)
class DomainEvent:
    id: int
    type: str
    tenant_id: str | None
    data: dict[str, Any]
    created_at: datetime
    conversation_id: str | None = None
    actor: str | None = None
    audience: Audience = "internal"
    # Webhook deliveries queued with it (in this process): the webhook worker wakes only for those.
    webhook_deliveries: int = field(default=0, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "tenant_id": self.tenant_id,
            "conversation_id": self.conversation_id,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "data": self.data,
        }


# Built once (every state change runs them): see gateway/core/conversations.py.
_INSERT_EVENT = sa.insert(t.events).returning(t.events.c.id)
_ACTIVE_WEBHOOKS = sa.select(t.webhooks.c.id, t.webhooks.c.event_types).where(
    t.webhooks.c.tenant_id == sa.bindparam("tenant"), t.webhooks.c.active.is_(True))


async def record_event(
    conn: AsyncConnection,
    type: str,
    tenant_id: str | None,
    data: dict[str, Any],
    *,
    conversation_id: str | None = None,
    actor: str | None = None,
    audience: Audience = "internal",
) -> DomainEvent:
    """Persist an event inside the caller's transaction and queue its webhook deliveries."""
    now = utcnow()
    event_id = (await conn.execute(_INSERT_EVENT, {
        "tenant_id": tenant_id, "type": type, "conversation_id": conversation_id, "actor": actor, "data": data, "created_at": now,
    })).scalar_one()
    if tenant_id is not None:
        hooks = (await conn.execute(_ACTIVE_WEBHOOKS, {"tenant": tenant_id})).all()
        deliveries = [
            {
                "id": new_id(),
                "tenant_id": tenant_id,
                "webhook_id": hook.id,
                "event_id": event_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for hook in hooks
            if not hook.event_types or type in hook.event_types
        ]
        if deliveries:
            await conn.execute(sa.insert(t.webhook_deliveries), deliveries)
        queued = len(deliveries)
    else:
        queued = 0
    return DomainEvent(event_id, type, tenant_id, data, now, conversation_id, actor, audience, queued)


def ephemeral_event(
    type: str,
    tenant_id: str,
    data: dict[str, Any],
    *,
    conversation_id: str | None = None,
    audience: Audience = "internal",
) -> DomainEvent:
    """A live update that is derived, not a state change (a queue position, a typing
    indicator): pushed to listeners like any event, but not recorded and never sent to webhooks.
    Its id is 0."""
    return DomainEvent(0, type, tenant_id, data, utcnow(), conversation_id, None, audience)


Listener = Callable[[DomainEvent], Awaitable[None]]


@dataclass
class EventBus:
    """In-process fan-out after commit. A failing listener is logged and never blocks the others
    or the caller."""

    listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    async def publish(self, *events: DomainEvent) -> None:
        for event in events:
            results = await asyncio.gather(*(listener(event) for listener in self.listeners), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    log.error("event listener failed", exc_info=result, extra={"event_type": event.type})

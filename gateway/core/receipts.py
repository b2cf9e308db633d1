"""Delivery and read receipts: how far each side of a conversation has received and read the
other side's messages. Kept as two high-water marks per side in the conversation's attributes
(`receipts: {"contact": {"delivered": id, "read": id}, "agent": {...}}`) — message ids are
UUIDv7, so a later message has a greater id and one mark covers everything before it. Marks only
move forward, and reading implies having received."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.events.bus import DomainEvent, ephemeral_event

Side = Literal["contact", "agent"]
Status = Literal["delivered", "read"]


class UnknownMessage(LookupError):
    pass


def marks(attributes: dict[str, Any] | None, side: Side) -> dict[str, str | None]:
    """What `side` has received and read so far."""
    found = ((attributes or {}).get("receipts") or {}).get(side) or {}
    return {"delivered": found.get("delivered"), "read": found.get("read")}


async def mark(conn: AsyncConnection, tenant_id: str, conversation_id: str, side: Side, message_id: str,
               status: Status) -> dict[str, str | None] | None:
    """Moves `side`'s marks up to `message_id` (a message of this conversation); returns the new
    marks, or None when nothing moved (an older or repeated receipt)."""
    known = (await conn.execute(sa.select(t.messages.c.id).where(
        t.messages.c.id == message_id, t.messages.c.tenant_id == tenant_id,
        t.messages.c.conversation_id == conversation_id, t.messages.c.kind != "note"))).first()
    if known is None:
        raise UnknownMessage(message_id)
    c = t.conversations
    attributes = (await conn.execute(sa.select(c.c.attributes).where(
        c.c.id == conversation_id, c.c.tenant_id == tenant_id).with_for_update())).scalar_one()
    current = marks(attributes, side)
    updated = dict(current)
    for name in ("delivered", "read") if status == "read" else ("delivered",):
        if updated[name] is None or updated[name] < message_id:  # type: ignore[operator]
            updated[name] = message_id
    if updated == current:
        return None
    receipts = {**((attributes or {}).get("receipts") or {}), side: updated}
    # Not updated_at: a receipt is not activity that should reorder anyone's conversation list.
    await conn.execute(sa.update(c).where(c.c.id == conversation_id).values(attributes={**(attributes or {}), "receipts": receipts}))
    return updated


def receipt_event(tenant_id: str, conversation_id: str, side: Side, message_id: str, status: Status) -> DomainEvent:
    """Live only: the marks themselves are kept on the conversation, so nothing is lost unrecorded."""
    return ephemeral_event("conversation.receipt", tenant_id,
                           {"conversation_id": conversation_id, "message_id": message_id, "status": status, "by": side},
                           conversation_id=conversation_id, audience="public")

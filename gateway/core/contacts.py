"""Contacts: find-or-create by identity, and merge. Shared by every channel and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.identities import normalise_identity
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import DomainEvent, record_event


@dataclass(frozen=True)
class Identified:
    contact_id: str
    created: bool
    events: list[DomainEvent]


async def resolve_contact(conn: AsyncConnection, tenant_id: str, contact_id: str) -> str:
    """Follow merges: a conversation may still point at a contact since merged into another."""
    for _ in range(16):  # merge chains are short; the bound guards against a cycle
        merged_into = (
            await conn.execute(
                sa.select(t.contacts.c.merged_into_id).where(t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        if merged_into is None:
            return contact_id
        contact_id = merged_into
    return contact_id


async def find_contact(conn: AsyncConnection, tenant_id: str, kind: str, value: str) -> str | None:
    row = (
        await conn.execute(
            sa.select(t.contact_identities.c.contact_id).where(
                t.contact_identities.c.tenant_id == tenant_id,
                t.contact_identities.c.kind == kind,
                t.contact_identities.c.value == normalise_identity(kind, value),
            )
        )
    ).scalar_one_or_none()
    return None if row is None else await resolve_contact(conn, tenant_id, row)


async def identify_contact(
    conn: AsyncConnection, tenant_id: str, kind: str, value: str, *, name: str = "", attributes: dict[str, Any] | None = None
) -> Identified:
    """The contact owning this identity, created (with the identity) when there is none. Safe
    when two requests race: the identity's unique key decides, the loser reuses the winner's."""
    normal = normalise_identity(kind, value)
    existing = await find_contact(conn, tenant_id, kind, normal)
    if existing:
        return Identified(existing, False, [])
    now = utcnow()
    contact_id = new_id()
    await conn.execute(
        sa.insert(t.contacts).values(
            id=contact_id, tenant_id=tenant_id, name=name[:200], attributes=attributes or {}, vip_tier=0, created_at=now, updated_at=now
        )
    )
    inserted = await insert_ignoring_conflicts(
        conn,
        t.contact_identities,
        {"id": new_id(), "tenant_id": tenant_id, "contact_id": contact_id, "kind": kind, "value": normal, "created_at": now},
        ["tenant_id", "kind", "value"],
    )
    if not inserted:
        await conn.execute(sa.delete(t.contacts).where(t.contacts.c.id == contact_id))
        winner = await find_contact(conn, tenant_id, kind, normal)
        assert winner is not None
        return Identified(winner, False, [])
    event = await record_event(conn, "contact.created", tenant_id, {"contact_id": contact_id, "name": name[:200]})
    return Identified(contact_id, True, [event])


async def add_identity(conn: AsyncConnection, tenant_id: str, contact_id: str, kind: str, value: str) -> bool:
    """Attach an identity; False when another contact already owns it (merge them instead)."""
    return await insert_ignoring_conflicts(
        conn,
        t.contact_identities,
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "contact_id": contact_id,
            "kind": kind,
            "value": normalise_identity(kind, value),
            "created_at": utcnow(),
        },
        ["tenant_id", "kind", "value"],
    )


async def merge_contacts(conn: AsyncConnection, tenant_id: str, keep_id: str, merge_id: str, actor: str) -> DomainEvent:
    """Fold `merge_id` into `keep_id`: identities and conversations move over, the kept contact's
    fields win and the other's fill the gaps; the merged row stays as a pointer."""
    rows = {
        row.id: row
        for row in (
            await conn.execute(
                sa.select(t.contacts).where(
                    t.contacts.c.tenant_id == tenant_id, t.contacts.c.id.in_([keep_id, merge_id]), t.contacts.c.merged_into_id.is_(None)
                )
            )
        ).all()
    }
    keep, other = rows[keep_id], rows[merge_id]
    await conn.execute(
        sa.update(t.contact_identities).where(t.contact_identities.c.contact_id == merge_id).values(contact_id=keep_id)
    )
    await conn.execute(sa.update(t.conversations).where(t.conversations.c.contact_id == merge_id).values(contact_id=keep_id))
    await conn.execute(
        sa.update(t.contacts)
        .where(t.contacts.c.id == keep_id)
        .values(
            name=keep.name or other.name,
            attributes={**other.attributes, **keep.attributes},
            vip_tier=max(keep.vip_tier, other.vip_tier),
            updated_at=utcnow(),
        )
    )
    await conn.execute(sa.update(t.contacts).where(t.contacts.c.id == merge_id).values(merged_into_id=keep_id, updated_at=utcnow()))
    return await record_event(conn, "contact.merged", tenant_id, {"contact_id": keep_id, "merged_id": merge_id}, actor=actor)

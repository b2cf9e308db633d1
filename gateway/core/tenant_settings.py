"""A tenant's settings document (tenants.settings): one JSON object with a section per concern —
"routing", "widget", "wrapup" — each validated by its own model where it is used. Sections are
read fresh at each use, so a change reaches every gateway process at once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t


async def read_settings(conn: AsyncConnection, tenant_id: str) -> dict[str, Any] | None:
    """The whole document, or None when there is no such tenant."""
    raw = (await conn.execute(sa.select(t.tenants.c.settings).where(t.tenants.c.id == tenant_id))).scalar_one_or_none()
    return None if raw is None else dict(raw)


async def write_section(conn: AsyncConnection, tenant_id: str, section: str, value: Any) -> bool:
    """Replaces one section, leaving the others as they are (row-locked against a concurrent
    write of another section); False when there is no such tenant."""
    raw = (await conn.execute(sa.select(t.tenants.c.settings).where(t.tenants.c.id == tenant_id).with_for_update())).scalar_one_or_none()
    if raw is None:
        return False
    await conn.execute(sa.update(t.tenants).where(t.tenants.c.id == tenant_id).values(settings={**raw, section: value}))
    return True

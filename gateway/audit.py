"""The audit log: who changed what, kept in SQL beside the change it describes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth.principal import Principal
from gateway.db import schema as t
from gateway.db.schema import utcnow


async def audit(
    conn: AsyncConnection,
    action: str,
    *,
    principal: Principal | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    await conn.execute(
        sa.insert(t.audit_log).values(
            tenant_id=tenant_id,
            actor_user_id=principal.user_id if principal else user_id,
            actor_token_id=principal.token_id if principal else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            data=data or {},
            ip=ip,
            created_at=utcnow(),
        )
    )

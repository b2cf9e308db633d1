"""The tenant's persisted domain events, newest first: what reports are computed from and what
webhooks deliver. For tenant admins and supervisors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from gateway.api.errors import ApiError
from gateway.api.models import Page, PageQuery, decode_cursor, page_of
from gateway.api.registry import ApiRegistry, Call
from gateway.auth.principal import ADMIN, SUPERVISE
from gateway.db import schema as t
from gateway.keys import DB


class EventOut(BaseModel):
    id: int
    type: str
    conversation_id: str | None
    actor: str | None
    data: dict[str, Any]
    created_at: datetime


class EventQuery(PageQuery):
    type: str | None = Field(None, max_length=64)


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/events", summary="The tenant's domain events, newest first", tag="events",
               query=EventQuery, response=Page[EventOut], errors=(400, 404))
    async def list_events(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        if not call.user.can(tenant_id, ADMIN):
            call.user.require(tenant_id, SUPERVISE, "tenant")
        query: EventQuery = call.query
        e = t.events
        stmt = sa.select(e).where(e.c.tenant_id == tenant_id)
        if query.type:
            stmt = stmt.where(e.c.type == query.type)
        if query.cursor:
            (last_id,) = decode_cursor(query.cursor, 1)
            if not isinstance(last_id, int):
                raise ApiError(400, "invalid_cursor", "the cursor is not one this API gave out")
            stmt = stmt.where(e.c.id < last_id)
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(stmt.order_by(e.c.id.desc()).limit(query.limit + 1))).all()
        return page_of(EventOut, rows, query.limit, lambda r: EventOut(
            id=r.id, type=r.type, conversation_id=r.conversation_id, actor=r.actor, data=r.data, created_at=r.created_at))

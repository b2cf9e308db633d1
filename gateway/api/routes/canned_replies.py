"""Canned replies: a tenant's saved answers, which agents insert by typing /shortcut in the inbox.
Every agent of the tenant reads them; supervisors and tenant admins keep them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Items
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import CONVERSATIONS_READ, SUPERVISE
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.keys import DB

SHORTCUT = r"^[a-z0-9][a-z0-9_-]{0,39}$"
MAX_PER_TENANT = 1000


class CannedReplyOut(BaseModel):
    id: str
    shortcut: str
    title: str
    body: str
    updated_at: datetime


class CannedReplyCreate(Input):
    shortcut: str = Field(pattern=SHORTCUT, description="typed as /shortcut; lower case letters, digits, - and _")
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=5000)


class CannedReplyUpdate(Input):
    shortcut: str | None = Field(None, pattern=SHORTCUT)
    title: str | None = Field(None, min_length=1, max_length=100)
    body: str | None = Field(None, min_length=1, max_length=5000)


def _out(row: sa.Row) -> CannedReplyOut:
    return CannedReplyOut(id=row.id, shortcut=row.shortcut, title=row.title, body=row.body, updated_at=row.updated_at)


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/canned-replies", summary="The tenant's canned replies, by shortcut",
               tag="inbox", response=Items[CannedReplyOut], errors=(404,))
    async def list_canned_replies(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, CONVERSATIONS_READ, "tenant")
        c = t.canned_replies
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(c).where(c.c.tenant_id == tenant_id).order_by(c.c.shortcut))).all()
        return Items[CannedReplyOut](items=[_out(r) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/canned-replies", summary="Add a canned reply", tag="inbox",
               body=CannedReplyCreate, response=CannedReplyOut, status=201, errors=(404, 409))
    async def create_canned_reply(call: Call) -> CannedReplyOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        body: CannedReplyCreate = call.body
        now = utcnow()
        row = {"id": new_id(), "tenant_id": tenant_id, **body.model_dump(), "created_at": now, "updated_at": now}
        c = t.canned_replies
        async with call.app[DB].begin() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(c).where(c.c.tenant_id == tenant_id))).scalar_one()
            if count >= MAX_PER_TENANT:
                raise ApiError(409, "too_many", f"a tenant keeps at most {MAX_PER_TENANT} canned replies")
            if not await insert_ignoring_conflicts(conn, c, row, ["tenant_id", "shortcut"]):
                raise ApiError(409, "shortcut_taken", f"/{body.shortcut} is already a canned reply")
            await audit(conn, "canned_reply.created", principal=call.user, tenant_id=tenant_id, target_type="canned_reply", target_id=row["id"])
        return CannedReplyOut(**row)

    @api.route("PATCH", "/tenants/{tenant_id}/canned-replies/{reply_id}", summary="Change a canned reply", tag="inbox",
               body=CannedReplyUpdate, response=CannedReplyOut, errors=(404, 409))
    async def update_canned_reply(call: Call) -> CannedReplyOut:
        tenant_id, reply_id = call.path("tenant_id"), call.path("reply_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        changes = call.body.model_dump(exclude_none=True)
        c = t.canned_replies
        async with call.app[DB].begin() as conn:
            mine = sa.and_(c.c.tenant_id == tenant_id, c.c.id == reply_id)
            if (await conn.execute(sa.select(c.c.id).where(mine))).first() is None:
                raise not_found("canned reply")
            if "shortcut" in changes and (await conn.execute(sa.select(c.c.id).where(
                    c.c.tenant_id == tenant_id, c.c.shortcut == changes["shortcut"], c.c.id != reply_id))).first():
                raise ApiError(409, "shortcut_taken", f"/{changes['shortcut']} is already a canned reply")
            await conn.execute(sa.update(c).where(mine).values(**changes, updated_at=utcnow()))
            await audit(conn, "canned_reply.updated", principal=call.user, tenant_id=tenant_id, target_type="canned_reply", target_id=reply_id)
            return _out((await conn.execute(sa.select(c).where(mine))).one())

    @api.route("DELETE", "/tenants/{tenant_id}/canned-replies/{reply_id}", summary="Delete a canned reply", tag="inbox", errors=(404,))
    async def delete_canned_reply(call: Call) -> None:
        tenant_id, reply_id = call.path("tenant_id"), call.path("reply_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        c = t.canned_replies
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.delete(c).where(c.c.tenant_id == tenant_id, c.c.id == reply_id))).rowcount == 0:
                raise not_found("canned reply")
            await audit(conn, "canned_reply.deleted", principal=call.user, tenant_id=tenant_id, target_type="canned_reply", target_id=reply_id)

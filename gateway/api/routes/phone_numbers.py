"""A tenant's phone numbers (DIDs): calls to them from the center's SIP trunks ring in the tenant's
queues. The numbers come from the center's carrier, so the operator hands them out to businesses
and takes them back; a business's admin names each and picks the queue it rings in (the key-press
menu, if any, is in the tenant's call settings)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Items
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN, SUPERVISE
from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.keys import DB

MAX_PER_TENANT = 500


class PhoneNumberOut(BaseModel):
    id: str
    number: str = Field(description="E.164")
    label: str
    queue_id: str | None = Field(description="null: the tenant's default queue")
    created_at: datetime


class PhoneNumberCreate(Input):
    number: str = Field(min_length=3, max_length=40, description="in international form, e.g. +493012345678")
    label: str = Field("", max_length=100)
    queue_id: str | None = Field(None, max_length=64)

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        try:
            return normalise_identity("phone", value)
        except InvalidIdentity:
            raise ValueError(f"{value!r} is not a phone number in international form (+ and the country code)") from None


class PhoneNumberUpdate(Input):
    label: str | None = Field(None, max_length=100)
    queue_id: str | None = Field(None, max_length=64, description="null: the tenant's default queue")


def _out(row: sa.Row) -> PhoneNumberOut:
    return PhoneNumberOut(id=row.id, number=row.number, label=row.label, queue_id=row.queue_id, created_at=row.created_at)


async def _check_queue(conn: AsyncConnection, tenant_id: str, queue_id: str | None) -> None:
    if queue_id is not None and (await conn.execute(sa.select(t.queues.c.id).where(
            t.queues.c.id == queue_id, t.queues.c.tenant_id == tenant_id))).first() is None:
        raise ApiError(422, "validation_error", "no such queue in this tenant", details=[{"field": "queue_id", "message": "unknown queue"}])


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/phone-numbers", summary="The tenant's phone numbers and the queues they ring in",
               tag="calls", response=Items[PhoneNumberOut], errors=(404,))
    async def list_phone_numbers(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        n = t.phone_numbers
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(n).where(n.c.tenant_id == tenant_id).order_by(n.c.number))).all()
        return Items[PhoneNumberOut](items=[_out(r) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/phone-numbers", summary="Give a tenant a phone number of the center's trunks (operator)",
               tag="calls", body=PhoneNumberCreate, response=PhoneNumberOut, status=201, errors=(404, 409))
    async def create_phone_number(call: Call) -> PhoneNumberOut:
        tenant_id = call.path("tenant_id")
        call.user.require_operator()
        body: PhoneNumberCreate = call.body
        n = t.phone_numbers
        row = {"id": new_id(), "tenant_id": tenant_id, **body.model_dump(), "created_at": utcnow()}
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.id == tenant_id))).first() is None:
                raise not_found("tenant")
            await _check_queue(conn, tenant_id, body.queue_id)
            count = (await conn.execute(sa.select(sa.func.count()).select_from(n).where(n.c.tenant_id == tenant_id))).scalar_one()
            if count >= MAX_PER_TENANT:
                raise ApiError(409, "too_many", f"a tenant has at most {MAX_PER_TENANT} phone numbers")
            if not await insert_ignoring_conflicts(conn, n, row, ["number"]):
                raise ApiError(409, "number_taken", f"{body.number} already belongs to a business; take it from that one first")
            await audit(conn, "phone_number.created", principal=call.user, tenant_id=tenant_id, target_type="phone_number",
                        target_id=row["id"], data={"number": body.number})
        return PhoneNumberOut(**{k: v for k, v in row.items() if k != "tenant_id"})

    @api.route("PATCH", "/tenants/{tenant_id}/phone-numbers/{number_id}", summary="Name a phone number or choose the queue it rings in",
               tag="calls", body=PhoneNumberUpdate, response=PhoneNumberOut, errors=(404,))
    async def update_phone_number(call: Call) -> PhoneNumberOut:
        tenant_id, number_id = call.path("tenant_id"), call.path("number_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        changes = call.body.model_dump(exclude_unset=True)
        if changes.get("label") is None:
            changes.pop("label", None)
        n = t.phone_numbers
        mine = sa.and_(n.c.tenant_id == tenant_id, n.c.id == number_id)
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.select(n.c.id).where(mine))).first() is None:
                raise not_found("phone number")
            await _check_queue(conn, tenant_id, changes.get("queue_id"))
            if changes:
                await conn.execute(sa.update(n).where(mine).values(**changes))
            await audit(conn, "phone_number.updated", principal=call.user, tenant_id=tenant_id, target_type="phone_number", target_id=number_id)
            return _out((await conn.execute(sa.select(n).where(mine))).one())

    @api.route("DELETE", "/tenants/{tenant_id}/phone-numbers/{number_id}", summary="Take a phone number back from a tenant (operator)",
               tag="calls", errors=(404,))
    async def delete_phone_number(call: Call) -> None:
        tenant_id, number_id = call.path("tenant_id"), call.path("number_id")
        call.user.require_operator()
        n = t.phone_numbers
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.delete(n).where(n.c.tenant_id == tenant_id, n.c.id == number_id))).rowcount == 0:
                raise not_found("phone number")
            await audit(conn, "phone_number.deleted", principal=call.user, tenant_id=tenant_id, target_type="phone_number", target_id=number_id)

"""Tenants and their rented seats. Creating, suspending and sizing tenants is the operator's;
a tenant admin may edit their own tenant's name, origins, time zone, business hours and branding,
and rotate its secret. The business hours are those of every queue that has none of its own."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Items
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN, CONVERSATIONS_READ
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.keys import DB
from gateway.core.tenant_settings import write_section
from gateway.routing.hours import BusinessHours
from gateway.tenancy import SEAT_ROLES, Branding

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{value!r} is not an origin like https://www.example.com")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
    return value


class TenantOut(BaseModel):
    id: str
    slug: str
    name: str
    status: str
    widget_key: str
    allowed_origins: list[str]
    timezone: str
    seat_limit: int
    business_hours: BusinessHours | None = Field(description="the hours of queues with none of their own; null: always open")
    branding: Branding
    created_at: datetime


class TenantCreated(TenantOut):
    widget_secret: str = Field(description="signs visitors' user ids (see the widget's docs); shown this once")


class TenantCreate(Input):
    slug: str = Field(pattern=_SLUG.pattern)
    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    timezone: str = "UTC"
    seat_limit: int = Field(10, ge=0, le=100_000)
    business_hours: BusinessHours | None = None
    branding: Branding = Field(default_factory=Branding)

    _origins = field_validator("allowed_origins")(lambda v: [_origin(o) for o in v])
    _tz = field_validator("timezone")(_timezone)


class TenantUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    allowed_origins: list[str] | None = Field(None, max_length=50)
    timezone: str | None = None
    status: Literal["active", "suspended"] | None = None  # operator only
    seat_limit: int | None = Field(None, ge=0, le=100_000)  # operator only
    business_hours: BusinessHours | None = Field(None, description="null: always open (queues with hours of their own keep them)")
    branding: Branding | None = None

    _origins = field_validator("allowed_origins")(lambda v: None if v is None else [_origin(o) for o in v])
    _tz = field_validator("timezone")(lambda v: None if v is None else _timezone(v))


class SeatsOut(BaseModel):
    seat_limit: int
    seats_used: int


class WidgetSecretOut(BaseModel):
    widget_secret: str


def tenant_out(row: sa.Row) -> TenantOut:
    settings = row.settings or {}
    return TenantOut(
        id=row.id, slug=row.slug, name=row.name, status=row.status, widget_key=row.widget_key,
        allowed_origins=row.allowed_origins, timezone=row.timezone, seat_limit=row.seat_limit,
        business_hours=settings.get("hours"), branding=settings.get("branding") or {}, created_at=row.created_at,
    )


async def seats_used(conn: sa.ext.asyncio.AsyncConnection, tenant_id: str) -> int:
    return (
        await conn.execute(
            sa.select(sa.func.count()).select_from(t.memberships).where(
                t.memberships.c.tenant_id == tenant_id, t.memberships.c.role.in_(SEAT_ROLES)
            )
        )
    ).scalar_one()


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants", summary="Tenants the caller can see (operators: all)", tag="tenants",
               response=Items[TenantOut])
    async def list_tenants(call: Call) -> BaseModel:
        async with call.app[DB].connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.tenants).where(call.user.tenant_filter(t.tenants.c.id, CONVERSATIONS_READ)).order_by(t.tenants.c.name)
                )
            ).all()
        return Items[TenantOut](items=[tenant_out(r) for r in rows])

    @api.route("POST", "/tenants", summary="Create a tenant (operator)", tag="tenants", body=TenantCreate,
               response=TenantCreated, status=201, errors=(409,))
    async def create_tenant(call: Call) -> TenantCreated:
        call.user.require_operator()
        body: TenantCreate = call.body
        tenant_id = new_id()
        async with call.app[DB].begin() as conn:
            inserted = await insert_ignoring_conflicts(
                conn,
                t.tenants,
                {
                    "id": tenant_id, "slug": body.slug, "name": body.name, "status": "active",
                    "widget_key": secrets.token_urlsafe(16), "widget_secret": secrets.token_urlsafe(32),
                    "allowed_origins": body.allowed_origins, "timezone": body.timezone, "seat_limit": body.seat_limit,
                    "settings": {"branding": body.branding.model_dump(), **({"hours": body.business_hours.model_dump(mode="json")}
                                                                         if body.business_hours else {})},
                    "created_at": utcnow(),
                },
                ["slug"],
            )
            if not inserted:
                raise ApiError(409, "slug_taken", f"a tenant with slug {body.slug!r} exists")
            await audit(conn, "tenant.created", principal=call.user, tenant_id=tenant_id, target_type="tenant", target_id=tenant_id)
            row = (await conn.execute(sa.select(t.tenants).where(t.tenants.c.id == tenant_id))).one()
        return TenantCreated(**tenant_out(row).model_dump(), widget_secret=row.widget_secret)

    @api.route("GET", "/tenants/{tenant_id}", summary="One tenant", tag="tenants", response=TenantOut, errors=(404,))
    async def get_tenant(call: Call) -> TenantOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, CONVERSATIONS_READ, "tenant")
        async with call.app[DB].connect() as conn:
            row = (await conn.execute(sa.select(t.tenants).where(t.tenants.c.id == tenant_id))).first()
        if row is None:
            raise not_found("tenant")
        return tenant_out(row)

    @api.route("PATCH", "/tenants/{tenant_id}", summary="Edit a tenant; status and seat_limit are the operator's",
               tag="tenants", body=TenantUpdate, response=TenantOut, errors=(404, 409))
    async def update_tenant(call: Call) -> TenantOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: TenantUpdate = call.body
        changes = body.model_dump(exclude_none=True, exclude={"business_hours", "branding"})
        sections: dict[str, Any] = {}  # of the tenant's settings document
        if "business_hours" in body.model_fields_set:
            sections["hours"] = body.business_hours.model_dump(mode="json") if body.business_hours else None
        if "branding" in body.model_fields_set:
            if body.branding is None:
                raise ApiError(422, "validation_error", "branding can't be null; send {} to clear it",
                               details=[{"field": "branding", "message": "not null"}])
            sections["branding"] = body.branding.model_dump(exclude_unset=True)  # merged below: unsent fields stay
        if ({"status", "seat_limit"} & changes.keys()) and not call.user.is_operator:
            raise ApiError(403, "forbidden", "only the center's operators change a tenant's status or seats")
        async with call.app[DB].begin() as conn:
            row = (await conn.execute(sa.select(t.tenants).where(t.tenants.c.id == tenant_id))).first()
            if row is None:
                raise not_found("tenant")
            if "seat_limit" in changes and changes["seat_limit"] < (used := await seats_used(conn, tenant_id)):
                raise ApiError(409, "seats_in_use", f"{used} seats are in use; remove members before going below that")
            if changes:
                await conn.execute(sa.update(t.tenants).where(t.tenants.c.id == tenant_id).values(**changes))
            if "branding" in sections:
                sections["branding"] = {**Branding().model_dump(), **((row.settings or {}).get("branding") or {}), **sections["branding"]}
            for name, value in sections.items():
                await write_section(conn, tenant_id, name, value)
            if changes or sections:
                await audit(conn, "tenant.updated", principal=call.user, tenant_id=tenant_id, target_type="tenant",
                            target_id=tenant_id, data={**changes, **sections})
            row = (await conn.execute(sa.select(t.tenants).where(t.tenants.c.id == tenant_id))).one()
        return tenant_out(row)

    @api.route("GET", "/tenants/{tenant_id}/seats", summary="Seats rented and in use", tag="tenants",
               response=SeatsOut, errors=(404,))
    async def get_seats(call: Call) -> SeatsOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].connect() as conn:
            limit = (await conn.execute(sa.select(t.tenants.c.seat_limit).where(t.tenants.c.id == tenant_id))).scalar_one_or_none()
            if limit is None:
                raise not_found("tenant")
            return SeatsOut(seat_limit=limit, seats_used=await seats_used(conn, tenant_id))

    @api.route("POST", "/tenants/{tenant_id}/widget-secret", summary="Rotate the secret that signs visitors' user ids; shown once",
               tag="tenants", response=WidgetSecretOut, errors=(404,))
    async def rotate_widget_secret(call: Call) -> WidgetSecretOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        secret = secrets.token_urlsafe(32)
        async with call.app[DB].begin() as conn:
            result = await conn.execute(sa.update(t.tenants).where(t.tenants.c.id == tenant_id).values(widget_secret=secret))
            if result.rowcount == 0:
                raise not_found("tenant")
            await audit(conn, "tenant.widget_secret_rotated", principal=call.user, tenant_id=tenant_id)
        return WidgetSecretOut(widget_secret=secret)


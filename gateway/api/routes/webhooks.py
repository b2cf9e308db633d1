"""Tenant webhooks and their deliveries (tenant admins; operators on any tenant). A webhook's secret
is shown once, when it is created; after that only deliveries signed with it reveal that it exists."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Items, Page, PageQuery, decode_cursor, page_of
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.targets import MAX_URL_LENGTH, UnsafeTarget, check_public_host, check_url
from gateway.events.types import EVENT_TYPES, unknown_event_types
from gateway.keys import CONFIG, DB, WEBHOOKS

DeliveryStatus = Literal["pending", "delivered", "failed"]


def _check_url(value: str) -> str:
    try:
        return check_url(value)
    except UnsafeTarget as exc:
        raise ValueError(str(exc)) from None


def _check_types(value: list[str]) -> list[str]:
    unknown = unknown_event_types(value)
    if unknown:
        raise ValueError(f"unknown event types {unknown}; choose from {sorted(EVENT_TYPES)}")
    return sorted(set(value))


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]  # empty: every event
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str  # shown once: verify X-WECC-Signature with it


class WebhookCreate(Input):
    url: str = Field(max_length=MAX_URL_LENGTH)
    event_types: list[str] = Field(default_factory=list, max_length=100)
    active: bool = True

    _url = field_validator("url")(_check_url)
    _types = field_validator("event_types")(_check_types)


class WebhookUpdate(Input):
    url: str | None = Field(None, max_length=MAX_URL_LENGTH)
    event_types: list[str] | None = Field(None, max_length=100)
    active: bool | None = None

    _url = field_validator("url")(lambda v: None if v is None else _check_url(v))
    _types = field_validator("event_types")(lambda v: None if v is None else _check_types(v))


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class EventTypeOut(BaseModel):
    name: str


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


def _webhook_out(row: Any) -> WebhookOut:
    return WebhookOut(id=row.id, url=row.url, event_types=row.event_types, active=row.active, created_at=row.created_at)


async def _load_webhook(conn: AsyncConnection, tenant_id: str, webhook_id: str) -> Any:
    row = (
        await conn.execute(sa.select(t.webhooks).where(t.webhooks.c.tenant_id == tenant_id, t.webhooks.c.id == webhook_id))
    ).first()
    if row is None:
        raise not_found("webhook")
    return row


async def _check_target(call: Call, url: str) -> None:
    if call.app[CONFIG].webhooks.allow_private_addresses:
        return
    try:
        await check_public_host(urlsplit(url).hostname or "")
    except UnsafeTarget as exc:
        raise ApiError(422, "unsafe_url", str(exc), details=[{"field": "url", "message": str(exc)}]) from None


def _delivery_select() -> sa.Select[Any]:
    d = t.webhook_deliveries
    return sa.select(d, t.events.c.type.label("event_type")).join(t.events, t.events.c.id == d.c.event_id)


def _delivery_out(row: Any) -> DeliveryOut:
    return DeliveryOut(
        id=row.id, webhook_id=row.webhook_id, event_id=row.event_id, event_type=row.event_type, status=row.status,
        attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_status_code=row.last_status_code,
        last_error=row.last_error, created_at=row.created_at, updated_at=row.updated_at,
    )


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/webhook-event-types", summary="The events a webhook can subscribe to", tag="webhooks",
               response=Items[EventTypeOut])
    async def list_webhook_event_types(call: Call) -> BaseModel:
        return Items[EventTypeOut](items=[EventTypeOut(name=name) for name in sorted(EVENT_TYPES)])

    @api.route("GET", "/tenants/{tenant_id}/webhooks", summary="The tenant's webhooks (never their secrets)", tag="webhooks",
               response=Items[WebhookOut], errors=(404,))
    async def list_webhooks(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(t.webhooks).where(t.webhooks.c.tenant_id == tenant_id).order_by(t.webhooks.c.id))).all()
        return Items[WebhookOut](items=[_webhook_out(r) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/webhooks", summary="Create a webhook; its signing secret is shown once",
               tag="webhooks", body=WebhookCreate, response=WebhookCreated, status=201, errors=(404,))
    async def create_webhook(call: Call) -> WebhookCreated:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        body: WebhookCreate = call.body
        await _check_target(call, body.url)
        webhook_id, secret = new_id(), "whsec_" + secrets.token_urlsafe(32)
        async with call.app[DB].begin() as conn:
            await conn.execute(sa.insert(t.webhooks).values(
                id=webhook_id, tenant_id=tenant_id, url=body.url, secret=secret, event_types=body.event_types,
                active=body.active, created_at=utcnow(),
            ))
            await audit(conn, "webhook.created", principal=call.user, tenant_id=tenant_id, target_type="webhook", target_id=webhook_id,
                        data={"url": body.url, "event_types": body.event_types, "active": body.active})
            row = await _load_webhook(conn, tenant_id, webhook_id)
        return WebhookCreated(**_webhook_out(row).model_dump(), secret=secret)

    @api.route("GET", "/tenants/{tenant_id}/webhooks/{webhook_id}", summary="One webhook", tag="webhooks",
               response=WebhookOut, errors=(404,))
    async def get_webhook(call: Call) -> WebhookOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        async with call.app[DB].connect() as conn:
            return _webhook_out(await _load_webhook(conn, tenant_id, call.path("webhook_id")))

    @api.route("PATCH", "/tenants/{tenant_id}/webhooks/{webhook_id}", summary="Change a webhook's URL, events or activity",
               tag="webhooks", body=WebhookUpdate, response=WebhookOut, errors=(404,))
    async def update_webhook(call: Call) -> WebhookOut:
        tenant_id, webhook_id = call.path("tenant_id"), call.path("webhook_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        changes = call.body.model_dump(exclude_none=True)
        if "url" in changes:
            await _check_target(call, changes["url"])
        async with call.app[DB].begin() as conn:
            await _load_webhook(conn, tenant_id, webhook_id)
            if changes:
                await conn.execute(sa.update(t.webhooks).where(
                    t.webhooks.c.tenant_id == tenant_id, t.webhooks.c.id == webhook_id).values(**changes))
                await audit(conn, "webhook.updated", principal=call.user, tenant_id=tenant_id, target_type="webhook",
                            target_id=webhook_id, data=changes)
            row = await _load_webhook(conn, tenant_id, webhook_id)
        if changes.get("active"):
            call.app[WEBHOOKS].wake()  # deliveries held while it was inactive
        return _webhook_out(row)

    @api.route("DELETE", "/tenants/{tenant_id}/webhooks/{webhook_id}", summary="Delete a webhook and its deliveries",
               tag="webhooks", errors=(404,))
    async def delete_webhook(call: Call) -> None:
        tenant_id, webhook_id = call.path("tenant_id"), call.path("webhook_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        async with call.app[DB].begin() as conn:
            result = await conn.execute(sa.delete(t.webhooks).where(t.webhooks.c.tenant_id == tenant_id, t.webhooks.c.id == webhook_id))
            if result.rowcount == 0:
                raise not_found("webhook")
            await audit(conn, "webhook.deleted", principal=call.user, tenant_id=tenant_id, target_type="webhook", target_id=webhook_id)

    @api.route("GET", "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries", summary="A webhook's deliveries, newest first",
               tag="webhooks", query=DeliveryQuery, response=Page[DeliveryOut], errors=(400, 404))
    async def list_deliveries(call: Call) -> BaseModel:
        tenant_id, webhook_id = call.path("tenant_id"), call.path("webhook_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        query: DeliveryQuery = call.query
        d = t.webhook_deliveries
        stmt = _delivery_select().where(d.c.tenant_id == tenant_id, d.c.webhook_id == webhook_id)
        if query.status:
            stmt = stmt.where(d.c.status == query.status)
        if query.cursor:
            (last_id,) = decode_cursor(query.cursor, 1)
            stmt = stmt.where(d.c.id < str(last_id))
        async with call.app[DB].connect() as conn:
            await _load_webhook(conn, tenant_id, webhook_id)
            rows = (await conn.execute(stmt.order_by(d.c.id.desc()).limit(query.limit + 1))).all()
        return page_of(DeliveryOut, rows, query.limit, _delivery_out)

    @api.route("POST", "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
               summary="Send a failed delivery once more, now", tag="webhooks", response=DeliveryOut, errors=(404, 409))
    async def retry_delivery(call: Call) -> DeliveryOut:
        tenant_id, webhook_id, delivery_id = call.path("tenant_id"), call.path("webhook_id"), call.path("delivery_id")
        call.user.require(tenant_id, ADMIN, "webhook")
        d = t.webhook_deliveries
        where = sa.and_(d.c.tenant_id == tenant_id, d.c.webhook_id == webhook_id, d.c.id == delivery_id)
        now = utcnow()
        async with call.app[DB].begin() as conn:
            row = (await conn.execute(sa.select(d.c.status).where(where))).first()
            if row is None:
                raise not_found("delivery")
            if row.status != "failed":
                raise ApiError(409, "not_failed", f"the delivery is {row.status}; only failed deliveries can be retried")
            await conn.execute(sa.update(d).where(where).values(status="pending", next_attempt_at=now, locked_until=None, updated_at=now))
            await audit(conn, "webhook.delivery_retried", principal=call.user, tenant_id=tenant_id, target_type="webhook_delivery",
                        target_id=delivery_id)
            out = _delivery_out((await conn.execute(_delivery_select().where(where))).one())
        call.app[WEBHOOKS].wake()
        return out

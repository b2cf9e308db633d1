"""The demo world seeded on start (config [demo]): a tenant, an agent, an operator and a queue,
so a fresh checkout has something to log in to; with `showcase`, sample content to try the
inbox and widget with. Idempotent and safe when processes race; what a tenant admin has changed
since is left alone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.passwords import hash_password
from gateway.config import Config
from gateway.core.tenant_settings import read_settings, write_section
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.core.wrapup import WrapupCodes
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.tenancy import DEFAULT_CAPACITY
from gateway.widget.settings import WidgetSettings


@dataclass(frozen=True)
class DemoWorld:
    tenant_id: str
    agent_id: str
    operator_id: str


async def _ensure_user(engine: AsyncEngine, email: str, name: str, password: str, is_operator: bool) -> str:
    async with engine.begin() as conn:
        found = (await conn.execute(sa.select(t.users.c.id).where(t.users.c.email == email.lower()))).scalar_one_or_none()
    if found:
        return found
    password_hash = await hash_password(password)  # slow: outside the transaction
    async with engine.begin() as conn:
        await insert_ignoring_conflicts(
            conn,
            t.users,
            {
                "id": new_id(),
                "email": email.lower(),
                "name": name,
                "password_hash": password_hash,
                "is_operator": is_operator,
                "status": "active",
                "locale": "en",
                "created_at": utcnow(),
            },
            ["email"],
        )
        return (await conn.execute(sa.select(t.users.c.id).where(t.users.c.email == email.lower()))).scalar_one()


async def seed_demo(engine: AsyncEngine, config: Config) -> DemoWorld:
    demo = config.demo
    now = utcnow()
    async with engine.begin() as conn:
        await insert_ignoring_conflicts(
            conn,
            t.tenants,
            {
                "id": new_id(),
                "slug": demo.tenant_slug,
                "name": demo.tenant_name,
                "status": "active",
                "widget_key": demo.widget_key,
                "widget_secret": secrets.token_urlsafe(32),
                "allowed_origins": [config.public_url],
                "timezone": "UTC",
                "seat_limit": 10,
                "settings": {},
                "created_at": now,
            },
            ["slug"],
        )
        tenant_id = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == demo.tenant_slug))).scalar_one()
        await insert_ignoring_conflicts(
            conn,
            t.queues,
            {"id": new_id(), "tenant_id": tenant_id, "name": "General", "settings": {}, "created_at": now},
            ["tenant_id", "name"],
        )
    agent_id = await _ensure_user(engine, demo.agent_email, "Demo Agent", demo.agent_password, False)
    operator_id = await _ensure_user(engine, demo.operator_email, "Demo Operator", demo.operator_password, True)
    async with engine.begin() as conn:
        await insert_ignoring_conflicts(
            conn,
            t.memberships,
            {
                "id": new_id(),
                "tenant_id": tenant_id,
                "user_id": agent_id,
                "role": "supervisor",
                "skills": {},
                "capacity": dict(DEFAULT_CAPACITY),
                "created_at": now,
            },
            ["tenant_id", "user_id"],
        )
    if demo.showcase:
        await _seed_showcase(engine, tenant_id)
    return DemoWorld(tenant_id, agent_id, operator_id)


SHOWCASE_QUEUES = ("Sales", "Support")
SHOWCASE_CANNED = (
    ("hello", "Greeting", "Hello, thanks for getting in touch! How can I help you today?"),
    ("moment", "One moment", "Thanks, let me look into that for you. It will only take a moment."),
    ("order", "Order number", "Could you tell me your order number? It is in the confirmation e-mail."),
    ("bye", "Closing", "Is there anything else I can help with? Have a lovely day!"),
)
SHOWCASE_WRAPUP = (("resolved", "Resolved"), ("follow-up", "Needs follow-up"), ("sales-lead", "Sales lead"), ("spam", "Spam"))


async def _seed_showcase(engine: AsyncEngine, tenant_id: str) -> None:
    now = utcnow()
    async with engine.begin() as conn:
        for name in SHOWCASE_QUEUES:
            await insert_ignoring_conflicts(conn, t.queues, {"id": new_id(), "tenant_id": tenant_id, "name": name, "settings": {},
                                                             "created_at": now}, ["tenant_id", "name"])
        queue_ids = dict((await conn.execute(sa.select(t.queues.c.name, t.queues.c.id).where(t.queues.c.tenant_id == tenant_id))).all())
        for shortcut, title, body in SHOWCASE_CANNED:
            await insert_ignoring_conflicts(conn, t.canned_replies, {
                "id": new_id(), "tenant_id": tenant_id, "shortcut": shortcut, "title": title, "body": body,
                "created_at": now, "updated_at": now}, ["tenant_id", "shortcut"])
        settings = await read_settings(conn, tenant_id) or {}
        if "widget" not in settings:  # only once: a tenant admin's own settings win
            widget = WidgetSettings.model_validate({
                "subtitle": "We usually answer within a minute",
                "prechat": {"name": "required", "email": "optional", "fields": [{
                    "name": "topic", "label": "What is it about?", "type": "select", "required": False,
                    "options": [{"value": "sales", "label": "Buying something", "queue_id": queue_ids["Sales"]},
                                {"value": "support", "label": "Help with an order", "queue_id": queue_ids["Support"]},
                                {"value": "other", "label": "Something else", "queue_id": queue_ids["General"]}],
                }]},
                "proactive": [{"id": "demo-hello", "message": "Hi! Questions about the demo? We are here.", "after_seconds": 20,
                               "url_pattern": "/demo*"}],
            })
            await write_section(conn, tenant_id, "widget", widget.model_dump(mode="json"))
        if "wrapup" not in settings:
            codes = WrapupCodes.model_validate({"items": [{"code": c, "label": label} for c, label in SHOWCASE_WRAPUP]})
            await write_section(conn, tenant_id, "wrapup", codes.model_dump(mode="json"))

"""The demo world seeded on start (config [demo]): a tenant, an agent, an operator and a queue,
so a fresh checkout has something to log in to. Idempotent and safe when processes race."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.passwords import hash_password
from gateway.config import Config
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.tenancy import DEFAULT_CAPACITY


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
    return DemoWorld(tenant_id, agent_id, operator_id)

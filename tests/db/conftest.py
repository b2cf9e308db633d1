"""A migrated engine on SQLite and on PostgreSQL, and a tenant to store things for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import schema as t
from gateway.db.engine import create_engine
from gateway.db.migrate import migrate
from gateway.db.schema import new_id, utcnow


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


async def add_tenant(engine: AsyncEngine, slug: str) -> str:
    tenant_id = new_id()
    async with engine.begin() as conn:
        await conn.execute(
            t.tenants.insert().values(
                id=tenant_id, slug=slug, name=slug.title(), widget_key=f"key-{slug}", widget_secret="s",
                allowed_origins=[], settings={}, created_at=utcnow(),
            )
        )
    return tenant_id


@pytest.fixture
async def tenant_id(engine: AsyncEngine) -> str:
    return await add_tenant(engine, "acme")

"""Liveness (/healthz: the process answers) and readiness (/readyz: SQL and Redis answer)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from aiohttp import web

from gateway.keys import DB, REDIS


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}

    async def database() -> None:
        async with request.app[DB].connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def redis() -> None:
        await request.app[REDIS].ping()

    for name, check in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(check(), timeout=3)
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which and why
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def setup_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

"""Which agents still have an inbox open. Each /agent socket is kept in a Redis set per agent
(so every gateway process counts the same tabs); when an agent's last tab has been gone for
`agent_offline_after_seconds`, they are set offline — otherwise a closed laptop would keep being
offered work until three offers in a row went unanswered.

A process that dies cannot remove its sockets: their entries expire with the set after
TABS_TTL_SECONDS without a new connection, and until then the missed-offers rule still applies."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from aiohttp import web

from gateway.db import schema as t
from gateway.keys import CONFIG, DB, REDIS, ROUTING

log = logging.getLogger(__name__)

TABS_TTL_SECONDS = 24 * 3600


def _key(user_id: str) -> str:
    return f"wecc:agent-tabs:{user_id}"


async def opened(app: web.Application, user_id: str, sid: str) -> None:
    async with app[REDIS].pipeline(transaction=True) as pipe:
        pipe.sadd(_key(user_id), sid)
        pipe.expire(_key(user_id), TABS_TTL_SECONDS)
        await pipe.execute()


async def closed(app: web.Application, user_id: str, sid: str) -> bool:
    """Forgets the tab; True when it was the agent's last one."""
    async with app[REDIS].pipeline(transaction=True) as pipe:
        pipe.srem(_key(user_id), sid)
        pipe.scard(_key(user_id))
        _, left = await pipe.execute()
    return int(left) == 0


async def offline_if_still_gone(app: web.Application, user_id: str) -> None:
    """Runs after the agent's last tab closed: waits, then sets them offline unless a tab came back."""
    await asyncio.sleep(app[CONFIG].realtime.agent_offline_after_seconds)
    try:
        if await app[REDIS].scard(_key(user_id)):
            return
        async with app[DB].connect() as conn:
            presence = (await conn.execute(sa.select(t.agent_states.c.presence).where(
                t.agent_states.c.user_id == user_id))).scalar_one_or_none()
        if presence not in (None, "offline"):
            await app[ROUTING].set_presence(user_id, "offline", "inbox closed", actor="system")
    except Exception:
        log.exception("could not set an agent with no inbox open offline")

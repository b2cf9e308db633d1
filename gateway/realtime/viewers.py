"""Who has a conversation open in the inbox right now, so a second agent sees "Alice is viewing"
before doing the same work twice. Kept in Redis (a hash per conversation, socket id -> agent) so
agents on different gateway processes see each other; a socket leaves on leave_conversation or
disconnect. A process that dies cannot clean up: its entries expire with the hash after
VIEWERS_TTL_SECONDS without any join."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from gateway.events.bus import DomainEvent, ephemeral_event

VIEWERS_TTL_SECONDS = 3600


def _key(conversation_id: str) -> str:
    return f"wecc:viewers:{conversation_id}"


class Viewers:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def join(self, conversation_id: str, sid: str, user_id: str, name: str) -> list[dict[str, Any]]:
        key = _key(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, sid, json.dumps({"user_id": user_id, "name": name}))
            pipe.expire(key, VIEWERS_TTL_SECONDS)
            await pipe.execute()
        return await self.of(conversation_id)

    async def leave(self, conversation_id: str, sid: str) -> list[dict[str, Any]] | None:
        """The viewers left, or None when this socket was not viewing it."""
        if not await self._redis.hdel(_key(conversation_id), sid):
            return None
        return await self.of(conversation_id)

    async def of(self, conversation_id: str) -> list[dict[str, Any]]:
        """One entry per agent (an agent may have the conversation open in two tabs)."""
        seen: dict[str, dict[str, Any]] = {}
        for raw in await self._redis.hvals(_key(conversation_id)):
            viewer = json.loads(raw)
            seen.setdefault(viewer["user_id"], viewer)
        return sorted(seen.values(), key=lambda v: v["name"])


def viewers_event(tenant_id: str, conversation_id: str, viewers: list[dict[str, Any]]) -> DomainEvent:
    return ephemeral_event("conversation.viewers", tenant_id, {"conversation_id": conversation_id, "viewers": viewers},
                           conversation_id=conversation_id)

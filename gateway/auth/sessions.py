"""Server-side login sessions in Redis. The cookie holds a random token; Redis holds only its
SHA-256, so a copy of Redis does not hand out live sessions."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

COOKIE_NAME = "wecc_session"
_PREFIX = "wecc:session:"
_USER_INDEX = "wecc:user-sessions:"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    token_digest: str
    user_id: str
    csrf_token: str
    created_at: float


class SessionStore:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def create(self, user_id: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(_digest(token), user_id, secrets.token_urlsafe(32), time.time())
        payload = json.dumps({"user_id": user_id, "csrf": session.csrf_token, "created_at": session.created_at})
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(_PREFIX + session.token_digest, payload, ex=self._ttl)
        pipe.sadd(_USER_INDEX + user_id, session.token_digest)
        pipe.expire(_USER_INDEX + user_id, self._ttl)
        await pipe.execute()
        return token, session

    async def get(self, token: str) -> Session | None:
        if not token or len(token) > 128:
            return None
        digest = _digest(token)
        key = _PREFIX + digest
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(key)
        pipe.expire(key, self._ttl)  # sliding expiry: active agents stay logged in
        raw, _ = await pipe.execute()
        if raw is None:
            return None
        data = json.loads(raw)
        # The user's index must live as long as the session it lists, or "log out everywhere"
        # misses sessions that slid past the TTL they were created with.
        await self._redis.expire(_USER_INDEX + data["user_id"], self._ttl)
        return Session(digest, data["user_id"], data["csrf"], data["created_at"])

    async def delete(self, session: Session) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(_PREFIX + session.token_digest)
        pipe.srem(_USER_INDEX + session.user_id, session.token_digest)
        await pipe.execute()

    async def delete_all_for_user(self, user_id: str) -> None:
        """Log a user out everywhere (disabled account, password change)."""
        digests = await self._redis.smembers(_USER_INDEX + user_id)
        if digests:
            await self._redis.delete(*(_PREFIX + d for d in digests))
        await self._redis.delete(_USER_INDEX + user_id)

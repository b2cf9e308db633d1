"""Fixed-window rate limits kept in Redis, so every gateway process counts against one budget."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

# INCR and set the expiry in one step: a crash between the two must not leave a counter that
# never expires (and locks someone out for good).
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window resets


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str = "wecc:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window_seconds: int) -> Decision:
        count, ttl_ms = await self._hit(keys=[self._prefix + key], args=[window_seconds * 1000])
        return Decision(allowed=int(count) <= limit, count=int(count), retry_after=max(1, -(-int(ttl_ms) // 1000)))

    async def peek(self, key: str, limit: int) -> Decision:
        pipe = self._redis.pipeline()
        pipe.get(self._prefix + key)
        pipe.pttl(self._prefix + key)
        raw, ttl_ms = await pipe.execute()
        count = int(raw or 0)
        return Decision(allowed=count < limit, count=count, retry_after=max(1, -(-max(int(ttl_ms), 0) // 1000)))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

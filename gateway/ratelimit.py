"""Fixed-window rate limits kept in Redis, so every gateway process counts against one budget."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

# INCR and set the expiry in one step: a crash between the two must not leave a counter that
# never expires (and locks someone out for good). One call counts several budgets in turn (an
# event counts against the visitor's, then the address's), KEYS[i] with window ARGV[2i-1] and
# limit ARGV[2i]; it stops at the first budget refused, so a refused event does not use up the
# budgets after it (one noisy visitor must not exhaust everyone's behind the same address).
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local window = ARGV[2 * i - 1]
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, window) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = tonumber(window) end
  out[#out + 1] = count
  out[#out + 1] = ttl
  if count > tonumber(ARGV[2 * i]) then break end
end
return out
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
        return (await self.hit_all([(key, limit, window_seconds)]))[0]

    async def hit_all(self, budgets: list[tuple[str, int, int]]) -> list[Decision]:
        """A hit on each (key, limit, window_seconds) budget in turn, in one round trip, up to the
        first that refuses: the decisions of the budgets counted (the last may be a refusal)."""
        args = [n for _, limit, window in budgets for n in (window * 1000, limit)]
        raw = await self._hit(keys=[self._prefix + key for key, _, _ in budgets], args=args)
        return [
            Decision(allowed=int(count) <= limit, count=int(count), retry_after=max(1, -(-int(ttl_ms) // 1000)))
            for (_, limit, _), count, ttl_ms in zip(budgets, raw[::2], raw[1::2])
        ]

    async def peek(self, key: str, limit: int) -> Decision:
        pipe = self._redis.pipeline()
        pipe.get(self._prefix + key)
        pipe.pttl(self._prefix + key)
        raw, ttl_ms = await pipe.execute()
        count = int(raw or 0)
        return Decision(allowed=count < limit, count=count, retry_after=max(1, -(-max(int(ttl_ms), 0) // 1000)))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

"""Co-browsing sessions: an agent on a conversation asks to see the visitor's page, the visitor
consents in the widget, and the widget streams its page as rrweb events (recorded, and masked, in
the visitor's browser), which the gateway relays to the conversation's assigned agent and to the
tenant's supervisors only. Not a channel: it rides on any conversation with a web visitor.

A session (one live per conversation) lives in Redis, so any gateway process serves either side:
  asked -> active -> ended        (or asked -> declined; asked or active -> ended by either side)
The events since the page's latest full snapshot are kept with it, so an agent who joins late, or
whose inbox reconnected, catches up at once; past MAX_KEPT_BATCHES the widget is asked for a new
full snapshot and what came before is dropped (rrweb's live replay needs a snapshot to start from,
and must not grow without bound). The gateway treats the batches as opaque (it does not read the
page): it checks their shape and size and whether a batch starts a new snapshot.

Every step is a domain event on the conversation (the audit trail): cobrowse.requested (agent),
cobrowse.started / cobrowse.declined (visitor), cobrowse.stopped {by: visitor | agent}.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

SESSION_SECONDS = 4 * 3600  # a session no side ended is forgotten after this
MAX_KEPT_BATCHES = 2_000  # since the last full snapshot
MAX_KEPT_BYTES = 20_000_000
_PREFIX = "wecc:cb:"

State = Literal["asked", "active", "declined", "ended"]


@dataclass(frozen=True)
class Session:
    id: str
    tenant_id: str
    conversation_id: str
    agent_id: str  # who asked
    visitors: tuple[str, ...]  # the conversation's web visitor ids, one of whom may consent
    visitor: str  # who consented ("" until then)
    state: State

    @property
    def live(self) -> bool:
        return self.state in ("asked", "active")


class CobrowseSessions:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def open(self, tenant_id: str, conversation_id: str, agent_id: str, visitors: list[str]) -> tuple[Session, bool]:
        """The conversation's live session, or a new one asked by `agent_id`: (it, whether new)."""
        current = await self.of_conversation(conversation_id)
        if current is not None and current.live:
            return current, False
        session_id = secrets.token_urlsafe(12)
        fields = {"tenant_id": tenant_id, "conversation_id": conversation_id, "agent_id": agent_id,
                  "visitors": json.dumps(visitors), "visitor": "", "state": "asked", "created": str(time.time())}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(session_id), mapping=fields)
            pipe.expire(self._key(session_id), SESSION_SECONDS)
            pipe.set(f"{_PREFIX}c:{conversation_id}", session_id, ex=SESSION_SECONDS)
            await pipe.execute()
        return _session(session_id, fields), True

    async def get(self, session_id: str) -> Session | None:
        raw = await self._redis.hgetall(self._key(session_id))
        if not raw:
            return None
        return _session(session_id, {_text(k): _text(v) for k, v in raw.items()})

    async def of_conversation(self, conversation_id: str) -> Session | None:
        session_id = await self._redis.get(f"{_PREFIX}c:{conversation_id}")
        return await self.get(_text(session_id)) if session_id else None

    async def answer(self, session: Session, visitor: str, accept: bool) -> bool:
        """The visitor's consent (or not) to an asked session; False when it is no longer asked."""
        script = ("if redis.call('HGET', KEYS[1], 'state') ~= 'asked' then return 0 end "
                  "redis.call('HSET', KEYS[1], 'state', ARGV[1], 'visitor', ARGV[2]) return 1")
        return bool(await self._redis.eval(script, 1, self._key(session.id), "active" if accept else "declined", visitor))

    async def end(self, session: Session) -> bool:
        """False when it had ended already (both sides may stop at once: one is told)."""
        script = ("local s = redis.call('HGET', KEYS[1], 'state') "
                  "if s ~= 'asked' and s ~= 'active' then return 0 end "
                  "redis.call('HSET', KEYS[1], 'state', 'ended') redis.call('DEL', KEYS[2], KEYS[3]) return 1")
        return bool(await self._redis.eval(script, 3, self._key(session.id), self._events_key(session.id),
                                           f"{_PREFIX}b:{session.id}"))

    async def keep(self, session: Session, batch: str, starts_snapshot: bool) -> bool:
        """Keeps a batch for catching up; False when too much came since the last full snapshot
        (the widget is then asked for a new one, which starts the list afresh)."""
        key, size_key = self._events_key(session.id), f"{_PREFIX}b:{session.id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            if starts_snapshot:
                pipe.delete(key, size_key)
            pipe.rpush(key, batch)
            pipe.incrby(size_key, len(batch))
            pipe.expire(key, SESSION_SECONDS)
            pipe.expire(size_key, SESSION_SECONDS)
            replies = await pipe.execute()
        kept, size = int(replies[-4]), int(replies[-3])
        return kept <= MAX_KEPT_BATCHES and size <= MAX_KEPT_BYTES

    async def since_snapshot(self, session: Session) -> list[Any]:
        """The batches since the page's latest full snapshot, oldest first (for a late joiner)."""
        return [json.loads(raw) for raw in await self._redis.lrange(self._events_key(session.id), 0, -1)]

    @staticmethod
    def _key(session_id: str) -> str:
        return f"{_PREFIX}s:{session_id}"

    @staticmethod
    def _events_key(session_id: str) -> str:
        return f"{_PREFIX}e:{session_id}"


def _session(session_id: str, fields: dict[str, str]) -> Session:
    return Session(id=session_id, tenant_id=fields["tenant_id"], conversation_id=fields["conversation_id"],
                   agent_id=fields["agent_id"], visitors=tuple(json.loads(fields.get("visitors") or "[]")),
                   visitor=fields.get("visitor", ""), state=fields.get("state", "ended"))  # type: ignore[arg-type]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

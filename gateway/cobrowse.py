"""Co-browsing sessions: an agent on a conversation asks to see the visitor's page, the visitor
consents in the widget, and the widget streams its page as rrweb events (recorded, and masked, in
the visitor's browser), which the gateway relays to the conversation's assigned agent and to the
tenant's supervisors only. Not a channel: it rides on any conversation with a web visitor.

A session (one live per conversation) lives in Redis, so any gateway process serves either side:
  asked -> active -> ended        (or asked -> declined; asked or active -> ended by either side)
  code -> active -> ended         started by the visitor: the widget shows a short code, which the
                                  visitor reads out to the agent on a call, who enters it on the
                                  conversation (the code is the visitor's consent; it lasts CODE_SECONDS)
While active, the agent may ask for control, a second consent: control "" -> asked -> granted, and
back to "" when the visitor declines or takes it back, or the agent gives it up.
The events since the page's latest full snapshot are kept with it, so an agent who joins late, or
whose inbox reconnected, catches up at once; past MAX_KEPT_BATCHES the widget is asked for a new
full snapshot and what came before is dropped (rrweb's live replay needs a snapshot to start from,
and must not grow without bound). The gateway treats the batches as opaque (it does not read the
page): it checks their shape and size and whether a batch starts a new snapshot.

Every step is a domain event on the conversation (the audit trail): cobrowse.requested (agent),
cobrowse.started / cobrowse.declined (visitor; started {by_code} for a code the agent entered),
cobrowse.control_requested (agent), cobrowse.control_granted / control_declined (visitor),
cobrowse.control_ended {by}, cobrowse.stopped {by: visitor | agent}.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

SESSION_SECONDS = 4 * 3600  # a session no side ended is forgotten after this
CODE_SECONDS = 600  # a visitor's code not entered by then is void
CODE_DIGITS = 6
MAX_KEPT_BATCHES = 2_000  # since the last full snapshot
MAX_KEPT_BYTES = 20_000_000
_PREFIX = "wecc:cb:"

State = Literal["code", "asked", "active", "declined", "ended"]
Control = Literal["", "asked", "granted"]


@dataclass(frozen=True)
class Session:
    id: str
    tenant_id: str
    conversation_id: str  # "" for a code no agent entered yet
    agent_id: str  # who asked, or entered the code
    agent_name: str  # their first name, as the visitor is told
    visitors: tuple[str, ...]  # the conversation's web visitor ids, one of whom may consent
    visitor: str  # who consented ("" until then)
    state: State
    control: Control
    code: str  # the visitor's code, for a session they started that way
    assignee: str  # the conversation's agent when last seen: the one who may watch, with supervisors
    skew: int | None  # the page's clock minus ours (ms), from its latest batch

    @property
    def by_code(self) -> bool:
        return bool(self.code)

    @property
    def live(self) -> bool:
        return self.state in ("code", "asked", "active")


class CobrowseSessions:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def open(self, tenant_id: str, conversation_id: str, agent_id: str, agent_name: str,
                   visitors: list[str], assignee: str) -> tuple[Session, bool]:
        """The conversation's live session, or a new one asked by `agent_id`: (it, whether new)."""
        current = await self.of_conversation(conversation_id)
        if current is not None and current.live:
            return current, False
        session_id = secrets.token_urlsafe(12)
        fields = {"tenant_id": tenant_id, "conversation_id": conversation_id, "agent_id": agent_id, "agent_name": agent_name,
                  "visitors": json.dumps(visitors), "visitor": "", "state": "asked", "assignee": assignee,
                  "created": str(time.time())}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(session_id), mapping=fields)
            pipe.expire(self._key(session_id), SESSION_SECONDS)
            pipe.set(self._conversation_key(conversation_id), session_id, ex=SESSION_SECONDS)
            await pipe.execute()
        return _session(session_id, fields), True

    async def offer_code(self, tenant_id: str, visitor: str) -> Session:
        """A session the visitor starts, with the code they read out to the agent."""
        session_id = secrets.token_urlsafe(12)
        while True:  # a code in use in this tenant is drawn again (a million codes, few in use at once)
            code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
            if await self._redis.set(self._code_key(tenant_id, code), session_id, ex=CODE_SECONDS, nx=True):
                break
        fields = {"tenant_id": tenant_id, "conversation_id": "", "agent_id": "", "agent_name": "",
                  "visitors": json.dumps([visitor]), "visitor": visitor, "state": "code", "code": code,
                  "created": str(time.time())}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(session_id), mapping=fields)
            pipe.expire(self._key(session_id), CODE_SECONDS)
            await pipe.execute()
        return _session(session_id, fields)

    async def claim(self, tenant_id: str, code: str, conversation_id: str, agent_id: str, agent_name: str,
                    assignee: str) -> Session | None:
        """The visitor's code, entered by the agent on `conversation_id`: the session, now active
        there; None when no such code waits in this tenant (used, void or never given)."""
        script = ("local id = redis.call('GET', KEYS[1]) if not id then return false end "
                  "local key = ARGV[1] .. id "
                  "if redis.call('HGET', key, 'state') ~= 'code' then return false end "
                  "redis.call('DEL', KEYS[1]) "
                  "redis.call('HSET', key, 'state', 'active', 'conversation_id', ARGV[2], 'agent_id', ARGV[3], 'agent_name', ARGV[4], "
                  "'assignee', ARGV[6]) "
                  "redis.call('EXPIRE', key, ARGV[5]) redis.call('SET', KEYS[2], id, 'EX', ARGV[5]) return id")
        session_id = await self._redis.eval(script, 2, self._code_key(tenant_id, code), self._conversation_key(conversation_id),
                                            f"{_PREFIX}s:", conversation_id, agent_id, agent_name, SESSION_SECONDS, assignee)
        return await self.get(_text(session_id)) if session_id else None

    async def get(self, session_id: str) -> Session | None:
        raw = await self._redis.hgetall(self._key(session_id))
        if not raw:
            return None
        return _session(session_id, {_text(k): _text(v) for k, v in raw.items()})

    async def of_conversation(self, conversation_id: str) -> Session | None:
        session_id = await self._redis.get(self._conversation_key(conversation_id))
        return await self.get(_text(session_id)) if session_id else None

    async def answer(self, session: Session, visitor: str, accept: bool) -> bool:
        """The visitor's consent (or not) to an asked session; False when it is no longer asked."""
        script = ("if redis.call('HGET', KEYS[1], 'state') ~= 'asked' then return 0 end "
                  "redis.call('HSET', KEYS[1], 'state', ARGV[1], 'visitor', ARGV[2]) return 1")
        return bool(await self._redis.eval(script, 1, self._key(session.id), "active" if accept else "declined", visitor))

    async def reassigned(self, session: Session, assignee: str) -> bool:
        """Notes the conversation's agent; True when that changed (who may watch changed with it)."""
        script = ("if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'assignee') == ARGV[1] then return 0 end "
                  "redis.call('HSET', KEYS[1], 'assignee', ARGV[1]) return 1")
        return bool(await self._redis.eval(script, 1, self._key(session.id), assignee))

    async def set_control(self, session: Session, was: tuple[Control, ...], now: Control) -> bool:
        """Control moves from one of `was` to `now` while the session is active; False otherwise."""
        script = ("if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end "
                  "local c = redis.call('HGET', KEYS[1], 'control') or '' "
                  "for i = 2, #ARGV do if ARGV[i] == c then redis.call('HSET', KEYS[1], 'control', ARGV[1]) return 1 end end "
                  "return 0")
        return bool(await self._redis.eval(script, 1, self._key(session.id), now, *was))

    async def end(self, session: Session) -> bool:
        """False when it had ended already (both sides may stop at once: one is told)."""
        script = ("local s = redis.call('HGET', KEYS[1], 'state') "
                  "if s ~= 'code' and s ~= 'asked' and s ~= 'active' then return 0 end "
                  "redis.call('HSET', KEYS[1], 'state', 'ended', 'control', '') redis.call('DEL', KEYS[2], KEYS[3]) return 1")
        return bool(await self._redis.eval(script, 3, self._key(session.id), self._events_key(session.id),
                                           f"{_PREFIX}b:{session.id}"))

    async def keep(self, session: Session, batch: str, starts_snapshot: bool, page_clock_ms: int) -> bool:
        """Keeps a batch for catching up; False when too much came since the last full snapshot
        (the widget is then asked for a new one, which starts the list afresh). `page_clock_ms`:
        the page's clock as it sent the batch (0: unknown), noted against ours (see page_now)."""
        key, size_key = self._events_key(session.id), f"{_PREFIX}b:{session.id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            if page_clock_ms:
                pipe.hset(self._key(session.id), "skew", str(page_clock_ms - round(time.time() * 1000)))
            if starts_snapshot:
                pipe.delete(key, size_key)
            pipe.rpush(key, batch)
            pipe.incrby(size_key, len(batch))
            pipe.expire(key, SESSION_SECONDS)
            pipe.expire(size_key, SESSION_SECONDS)
            replies = await pipe.execute()
        kept, size = int(replies[-4]), int(replies[-3])
        return kept <= MAX_KEPT_BATCHES and size <= MAX_KEPT_BYTES

    @staticmethod
    def page_now(session: Session) -> int | None:
        """The visitor's page clock now (ms), as far as its last batch tells; None before any. rrweb
        stamps events with that clock, which may be far from the agent's: a late joiner's replay
        starts from this, not from the snapshot's own (older) time."""
        return round(time.time() * 1000) + session.skew if session.skew is not None else None

    async def since_snapshot(self, session: Session) -> list[Any]:
        """The batches since the page's latest full snapshot, oldest first (for a late joiner)."""
        return [json.loads(raw) for raw in await self._redis.lrange(self._events_key(session.id), 0, -1)]

    @staticmethod
    def _key(session_id: str) -> str:
        return f"{_PREFIX}s:{session_id}"

    @staticmethod
    def _events_key(session_id: str) -> str:
        return f"{_PREFIX}e:{session_id}"

    @staticmethod
    def _conversation_key(conversation_id: str) -> str:
        return f"{_PREFIX}c:{conversation_id}"

    @staticmethod
    def _code_key(tenant_id: str, code: str) -> str:
        return f"{_PREFIX}k:{tenant_id}:{code}"


def _session(session_id: str, fields: dict[str, str]) -> Session:
    return Session(id=session_id, tenant_id=fields["tenant_id"], conversation_id=fields["conversation_id"],
                   agent_id=fields["agent_id"], agent_name=fields.get("agent_name", ""),
                   visitors=tuple(json.loads(fields.get("visitors") or "[]")), visitor=fields.get("visitor", ""),
                   state=fields.get("state", "ended"), control=fields.get("control", ""),  # type: ignore[arg-type]
                   code=fields.get("code", ""), assignee=fields.get("assignee", ""),
                   skew=int(fields["skew"]) if fields.get("skew") else None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

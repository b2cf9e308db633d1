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
back to "" when the visitor declines or takes it back, the agent gives it up, or the conversation
changes hands. Only the agent who asked (the controller) may act.
One page streams at a time: each recorder has a stream id, and a new full snapshot from another
(the visitor's next page, another tab) takes over; the old one's batches are then refused. The
agent's pointer and actions name the stream they were aimed at, so none lands on another page.
The events since the page's latest full snapshot are kept with it, so an agent who joins late, or
whose inbox reconnected, catches up at once; past MAX_KEPT_BATCHES the widget is asked for a new
full snapshot and what came before is dropped (rrweb's live replay needs a snapshot to start from,
and must not grow without bound). The gateway treats the batches as opaque (it does not read the
page): it checks their shape and size and whether a batch starts a new snapshot.

Every step is a domain event on the conversation (the audit trail): cobrowse.requested (agent),
cobrowse.started / cobrowse.declined (visitor; started {by_code} for a code the agent entered),
cobrowse.control_requested (agent), cobrowse.control_granted / control_declined (visitor),
cobrowse.control_ended {by: visitor | agent | transfer}, cobrowse.stopped {by: visitor | agent | closed}.
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
CODE_DRAWS = 20  # codes tried before giving up (a tenant would need ~50,000 live codes to get there)
_PREFIX = "wecc:cb:"

State = Literal["code", "asked", "active", "declined", "ended"]
Control = Literal["", "asked", "granted"]


@dataclass(frozen=True)
class Session:
    id: str
    tenant_id: str
    conversation_id: str  # "" for a code no agent entered yet
    agent_id: str  # who asked, entered the code, or (after a transfer) has the conversation
    agent_name: str  # their name; the visitor is told the first name
    visitors: tuple[str, ...]  # the conversation's web visitor ids, one of whom may consent
    visitor: str  # who consented ("" until then)
    state: State
    control: Control
    controller: str  # the agent control was asked for (and, once granted, the only one who acts)
    code: str  # the visitor's code, for a session they started that way
    assignee: str  # the conversation's agent when last seen: the one who may watch, with supervisors
    skew: int | None  # the page's clock minus ours (ms), from its latest batch
    stream: str  # the recorder streaming now (its latest full snapshot)

    @property
    def by_code(self) -> bool:
        return bool(self.code)

    @property
    def live(self) -> bool:
        return self.state in ("code", "asked", "active")


class Refused(Exception):
    """A batch the session does not take: `code` is "not_active" or "superseded"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# One live session per conversation: a new one only where none is live (checked and made at once).
_OPEN = """
local current = redis.call('GET', KEYS[1])
if current then
  local state = redis.call('HGET', ARGV[1] .. current, 'state')
  if state == 'code' or state == 'asked' or state == 'active' then return current end
end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return ARGV[2]
"""
# The code, entered on a conversation with no live session: 0 no such code, -1 busy, else the id.
_CLAIM = """
local id = redis.call('GET', KEYS[1])
if not id then return 0 end
local key = ARGV[1] .. id
if redis.call('HGET', key, 'state') ~= 'code' then return 0 end
local current = redis.call('GET', KEYS[2])
if current then
  local state = redis.call('HGET', ARGV[1] .. current, 'state')
  if state == 'code' or state == 'active' then return -1 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', key, 'state', 'active', 'conversation_id', ARGV[2], 'agent_id', ARGV[3], 'agent_name', ARGV[4], 'assignee', ARGV[6])
redis.call('EXPIRE', key, ARGV[5])
redis.call('SET', KEYS[2], id, 'EX', ARGV[5])
return id
"""
# A batch from stream ARGV[1]: its number in the session (for catching up without gaps or twice),
# -1 when another stream took over, -2 when the session is not active. A snapshot takes over.
_ACCEPT = """
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return -2 end
local stream = redis.call('HGET', KEYS[1], 'stream')
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'stream', ARGV[1])
elseif stream and stream ~= ARGV[1] then return -1 end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'skew', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('HINCRBY', KEYS[1], 'seq', 1)
"""
# The conversation changed hands: its new agent, and control back to the visitor. Returns the
# control there was, or false when the assignee did not change.
_REASSIGN = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'assignee') == ARGV[1] then return false end
local control = redis.call('HGET', KEYS[1], 'control') or ''
redis.call('HSET', KEYS[1], 'assignee', ARGV[1], 'control', '', 'controller', '')
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'agent_id', ARGV[1], 'agent_name', ARGV[2]) end
return control
"""
_SET_CONTROL = """
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
local c = redis.call('HGET', KEYS[1], 'control') or ''
for i = 3, #ARGV do
  if ARGV[i] == c then
    redis.call('HSET', KEYS[1], 'control', ARGV[1])
    if ARGV[2] ~= '-' then redis.call('HSET', KEYS[1], 'controller', ARGV[2]) end
    return 1
  end
end
return 0
"""
_END = """
local s = redis.call('HGET', KEYS[1], 'state')
if s ~= 'code' and s ~= 'asked' and s ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'ended', 'control', '')
redis.call('DEL', KEYS[2], KEYS[3])
return 1
"""


class CobrowseSessions:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def open(self, tenant_id: str, conversation_id: str, agent_id: str, agent_name: str,
                   visitors: list[str], assignee: str) -> tuple[Session, bool]:
        """The conversation's live session, or a new one asked by `agent_id`: (it, whether new)."""
        session_id = secrets.token_urlsafe(12)
        fields = {"tenant_id": tenant_id, "conversation_id": conversation_id, "agent_id": agent_id, "agent_name": agent_name,
                  "visitors": json.dumps(visitors), "visitor": "", "state": "asked", "assignee": assignee,
                  "created": str(time.time())}
        flat = [item for pair in fields.items() for item in pair]
        got = _text(await self._redis.eval(_OPEN, 2, self._conversation_key(conversation_id), self._key(session_id),
                                           f"{_PREFIX}s:", session_id, SESSION_SECONDS, *flat))
        if got != session_id:
            current = await self.get(got)
            if current is not None:
                return current, False
        return _session(session_id, fields), True

    async def offer_code(self, tenant_id: str, visitor: str) -> Session | None:
        """A session the visitor starts, with the code they read out to the agent; their earlier
        code, if one still waits, is void. None when no free code was found."""
        previous = await self._redis.get(self._visitor_code_key(tenant_id, visitor))
        if previous and (waiting := await self.get(_text(previous))) is not None and waiting.state == "code":
            await self._redis.delete(self._code_key(tenant_id, waiting.code))
            await self.end(waiting)
        session_id = secrets.token_urlsafe(12)
        for _ in range(CODE_DRAWS):  # a code in use in this tenant is drawn again
            code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
            if await self._redis.set(self._code_key(tenant_id, code), session_id, ex=CODE_SECONDS, nx=True):
                break
        else:
            return None
        fields = {"tenant_id": tenant_id, "conversation_id": "", "agent_id": "", "agent_name": "",
                  "visitors": json.dumps([visitor]), "visitor": visitor, "state": "code", "code": code,
                  "created": str(time.time())}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(session_id), mapping=fields)
            pipe.expire(self._key(session_id), CODE_SECONDS)
            pipe.set(self._visitor_code_key(tenant_id, visitor), session_id, ex=CODE_SECONDS)
            await pipe.execute()
        return _session(session_id, fields)

    async def claim(self, tenant_id: str, code: str, conversation_id: str, agent_id: str, agent_name: str,
                    assignee: str) -> Session | None:
        """The visitor's code, entered by the agent on `conversation_id`: the session, now active
        there; None when no such code waits in this tenant (used, void or never given). Raises
        Refused("busy") when the conversation has a running session."""
        got = await self._redis.eval(_CLAIM, 2, self._code_key(tenant_id, code), self._conversation_key(conversation_id),
                                     f"{_PREFIX}s:", conversation_id, agent_id, agent_name, SESSION_SECONDS, assignee)
        if got in (0, b"0", "0"):
            return None
        if got in (-1, b"-1", "-1"):
            raise Refused("busy")
        return await self.get(_text(got))

    async def get(self, session_id: str) -> Session | None:
        raw = await self._redis.hgetall(self._key(session_id))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return _session(session_id, fields) if "tenant_id" in fields else None

    async def of_conversation(self, conversation_id: str) -> Session | None:
        session_id = await self._redis.get(self._conversation_key(conversation_id))
        return await self.get(_text(session_id)) if session_id else None

    async def answer(self, session: Session, visitor: str, accept: bool) -> bool:
        """The visitor's consent (or not) to an asked session; False when it is no longer asked."""
        script = ("if redis.call('HGET', KEYS[1], 'state') ~= 'asked' then return 0 end "
                  "redis.call('HSET', KEYS[1], 'state', ARGV[1], 'visitor', ARGV[2]) return 1")
        return bool(await self._redis.eval(script, 1, self._key(session.id), "active" if accept else "declined", visitor))

    async def reassigned(self, session: Session, assignee: str, name: str) -> str | None:
        """Notes the conversation's new agent (who may watch changed with it) and hands control
        back to the visitor: the control there was, or None when the assignee did not change."""
        was = await self._redis.eval(_REASSIGN, 1, self._key(session.id), assignee, name)
        return None if was is None else _text(was)

    async def set_control(self, session: Session, was: tuple[Control, ...], now: Control, controller: str = "-") -> bool:
        """Control moves from one of `was` to `now` while the session is active; False otherwise.
        `controller`: the agent it is asked for ("-": unchanged)."""
        return bool(await self._redis.eval(_SET_CONTROL, 1, self._key(session.id), now, controller, *was))

    async def end(self, session: Session) -> bool:
        """False when it had ended already (both sides may stop at once: one is told)."""
        return bool(await self._redis.eval(_END, 3, self._key(session.id), self._events_key(session.id),
                                           f"{_PREFIX}b:{session.id}"))

    async def accept(self, session: Session, stream: str, starts_snapshot: bool, page_clock_ms: int) -> int:
        """Takes a batch from `stream`: its number in the session. Raises Refused when the session
        is not active, or another stream took over. `page_clock_ms`: the page's clock as it sent
        the batch (0: unknown), noted against ours (see page_now)."""
        skew = str(page_clock_ms - round(time.time() * 1000)) if page_clock_ms else ""
        seq = int(await self._redis.eval(_ACCEPT, 1, self._key(session.id), stream, "1" if starts_snapshot else "0", skew,
                                         SESSION_SECONDS))
        if seq < 0:
            raise Refused("superseded" if seq == -1 else "not_active")
        return seq

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

    @staticmethod
    def _visitor_code_key(tenant_id: str, visitor: str) -> str:
        return f"{_PREFIX}v:{tenant_id}:{visitor}"


def _session(session_id: str, fields: dict[str, str]) -> Session:
    return Session(id=session_id, tenant_id=fields["tenant_id"], conversation_id=fields.get("conversation_id", ""),
                   agent_id=fields.get("agent_id", ""), agent_name=fields.get("agent_name", ""),
                   visitors=tuple(json.loads(fields.get("visitors") or "[]")), visitor=fields.get("visitor", ""),
                   state=fields.get("state", "ended"), control=fields.get("control", ""),  # type: ignore[arg-type]
                   controller=fields.get("controller", ""), code=fields.get("code", ""), assignee=fields.get("assignee", ""),
                   skew=int(fields["skew"]) if fields.get("skew") else None, stream=fields.get("stream", ""))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

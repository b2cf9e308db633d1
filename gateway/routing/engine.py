"""The routing engine: every routing decision, atomic in Redis.

All routing state (waiting tasks, agents' presence, load and skills, offers, timers) lives in Redis
under one key prefix and changes only through the Lua scripts in ``lua/`` (``lua/lib.lua`` documents
the key layout). A script runs alone inside Redis, so however many gateway processes share the
Redis, one task is never offered to two agents and an agent's capacity is never exceeded. This class
is a thin async wrapper: it serialises arguments, runs a script and turns its answer into
:class:`Transition` objects, which the service persists before announcing them. The engine never
reads a clock: every call is given ``now_ms``.

Rules (issue 3):

* **Order.** Waiting tasks are ranked by priority (9 first), then original ``enqueued_ms`` (kept
  through re-offers and transfers); exact ties by task id.
* **Who may take a task.** An agent whose presence is ``available``, who serves the task's tenant,
  has every required skill at or above the minimum level *in that tenant*, has free capacity on the
  task's channel (capacity is the person's, across tenants; load = offered + assigned + wrap-up
  tasks on the channel) and is not blocked by blending: the *task's* tenant's rules say which
  channels' active work blocks the task's channel (``DEFAULT_BLOCKING``: a voice or callback task
  in an agent's load blocks new chats, ...).
* **Which agent.** The task's preferred agent when it may take the task; while the sticky window
  (``enqueued_ms + sticky_ms``) is open the task is *reserved* for the preferred agent (if known,
  serving the tenant, qualified, not offline) and nobody else gets it; otherwise the agent with the
  least load on the task's channel, then the longest idle. *Idle since* = the last time the agent
  became available or was released from a task (completed, rejected, missed, cancelled,
  transferred away); receiving an offer does not change it. Load first means several chats are
  spread over the free agents instead of filling the longest-idle agent first.
* **Which task.** An agent who gains room (a task ends, it becomes available, its skills change)
  is offered the best-ranked task it may take, again and again while it has room.
* **Exclusions.** An agent who rejected or missed a task is never offered that task again, until
  a transfer clears the task's exclusions (the transfer then excludes the agent who had the task,
  unless it is the target, so a transfer never bounces straight back).
* **Offers.** An offer rings the task's ``ring_ms`` (its tenant's setting) or the engine's; a reject or a timeout puts the task back in its original
  place and offers it to the next agent at once. A miss counts against the agent; ``max_missed``
  misses in a row set it ``away`` (``agent_away``) and withdraw its other ringing offers. Accepting
  resets the count; rejecting is deliberate and neither counts nor resets; becoming available
  resets it. An accept that arrives after the ring time but before a tick processed the timeout
  still succeeds.
* **Presence.** Only ``available`` agents get offers. Any other presence withdraws the offers
  still ringing for the agent (``requeued``, not an exclusion); ``offline`` also ends the
  reservations held for it. Assigned and wrap-up work stays with the agent.
* **Transfer.** From queued/offered/assigned/wrapup back to waiting with the same priority and
  original ``enqueued_ms``: into another queue (same skills) and/or reserved for one agent (who must
  serve the tenant; skills are not required) until that agent is offered it and takes or rejects
  it; if that agent goes offline or is removed the reservation ends.
* **Relaxed skills** (``relax``): a task's required skills change; waiting, it keeps its place and
  is matched again at once (``skills_changed``).
* **Agent-initiated work** (``assign``): a task the agent starts themselves (a call they place)
  is created assigned to them, counted in their load whatever their presence, when their capacity
  and the blending rules leave room for it; otherwise it is refused (``no_room``).
* **Terminal states** (done, abandoned, timed_out, cancelled) are final; a tombstone remembers them
  for a day so a repeated ``enqueue`` is a no-op and late commands get :class:`RoutingConflict`.
* **Blending rules changed** (``set_tenant_rules``): agents freed by the change are matched by the
  next ``tick()``, whose transitions carry the offers.

Cost: no decision scans all agents or all tasks. A task looks only at the eligible agents of its
(tenant, channel), filtered by the agents qualified for its skill signature; an agent that gains
room looks only at the heads of the waiting sets of the signatures it qualifies for. A change of
an agent's load or presence costs O(tenants x channels). Calls are auto-pipelined on one connection
the engine holds (:class:`_ScriptPipe`): concurrent calls share round trips and none waits for
another's reply. Redis Cluster is not supported: scripts compute key names.

Not here: the estimated wait (the service computes EWT from ``position()`` and its handle-time
statistics), persistence, events.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import re
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.routing.model import DEFAULT_BLOCKING, AgentSpec, TaskSpec, Transition

_LUA = Path(__file__).with_name("lua")
_OPERATIONS = (
    "enqueue",
    "assign",
    "upsert_agent",
    "remove_agent",
    "set_presence",
    "accept",
    "reject",
    "wrapup",
    "complete",
    "cancel",
    "transfer",
    "relax",
    "tick",
    "set_rules",
    "rebuild",
    "read",
)
PRESENCES = ("offline", "available", "away", "busy", "wrapup")
CANCEL_REASONS = ("abandoned", "cancelled", "timed_out")
_REBUILD_STATES = ("queued", "offered", "assigned", "wrapup")
_LOCK_MS = 60_000
_FLUSH_AT = 8  # calls queued in one turn of the loop that are written without waiting for its end
_BATCH = 500


class RoutingConflict(Exception):
    """The command does not fit the task's or agent's current state (``code`` says how)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class RoutingNotReady(Exception):
    """The routing state is missing (Redis flushed or lost): the caller must rebuild from SQL."""


_DEFINITION = re.compile(r"^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _library_blocks(lib: str) -> tuple[str, list[tuple[str, str]]]:
    """Split lib.lua into its header and its top-level definitions, in order: (name, text)."""
    header: list[str] = []
    blocks: list[list[str]] = []  # [name, text]
    pending: list[str] = []  # comments and blank lines, attached to what follows
    for line in lib.splitlines(keepends=True):
        found = _DEFINITION.match(line)
        if found:
            blocks.append([found.group(1), "".join(pending) + line])
            pending = []
        elif not line.strip() or line.startswith("--"):
            pending.append(line)
        elif blocks and line.startswith((" ", "\t", "end", "}")):  # the body, or what closes it
            blocks[-1][1] += "".join(pending) + line
            pending = []
        else:
            raise ValueError(f"lib.lua: unexpected top-level line {line!r}")
        if not blocks:
            header += pending
            pending = []
    return "".join(header), [(name, text) for name, text in blocks]


def _words(lua: str) -> set[str]:
    """Identifiers used in Lua code (comments and string literals left out)."""
    return set(_WORD.findall(re.sub(r"--[^\n]*|'[^'\n]*'|\"[^\"\n]*\"", "", lua)))


@functools.cache
def script_source(operation: str) -> str:
    """The Lua source of one operation: the library definitions it uses (directly or not), in
    library order, then the operation. Leaving the others out keeps each call cheap: a script
    re-creates every function it defines on each call."""
    header, blocks = _library_blocks((_LUA / "lib.lua").read_text())
    body = (_LUA / f"{operation}.lua").read_text()
    names = {name for name, _ in blocks}
    uses = {name: (_words(text) & names) - {name} for name, text in blocks}
    needed: set[str] = set()
    todo = list(_words(body) & names)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(uses[name])
    return header + "".join(text for name, text in blocks if name in needed) + "\n" + body


def signature(skills: Mapping[str, int]) -> str:
    """Canonical skill signature: ``"skill=level,..."`` sorted by skill; ``""`` for none."""
    for name, level in skills.items():
        if not name or any(ch in name for ch in ",=|") or not isinstance(level, int):
            raise ValueError(f"bad skill requirement {name!r}={level!r}")
    return ",".join(f"{name}={skills[name]}" for name in sorted(skills))


def parse_signature(sig: str) -> dict[str, int]:
    """The skills of a signature (the inverse of :func:`signature`)."""
    return {name: int(level) for name, level in (pair.split("=", 1) for pair in sig.split(",") if pair)}


def blocking_rules(blocking: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """{active channel: channels it blocks} -> {channel: channels whose active work blocks it}."""
    inverted: dict[str, list[str]] = {}
    for active, blocked in sorted(blocking.items()):
        for channel in blocked:
            inverted.setdefault(channel, []).append(active)
    return inverted


def _check_id(kind: str, value: str) -> str:
    if not value or "|" in value:
        raise ValueError(f"bad {kind} id {value!r}")
    return value


def _task_json(task: TaskSpec) -> dict[str, Any]:
    _check_id("task", task.id)
    _check_id("tenant", task.tenant_id)
    _check_id("channel", task.channel)
    if not task.queue_id:
        raise ValueError("task without a queue")
    if not 0 <= task.priority <= 9:
        raise ValueError(f"priority {task.priority} outside 0-9")
    return {
        "id": task.id,
        "tn": task.tenant_id,
        "ch": task.channel,
        "q": task.queue_id,
        "p": int(task.priority),
        "enq": int(task.enqueued_ms),
        "sig": signature(task.skills),
        "pref": task.preferred_agent_id or "",
        "sticky": int(task.sticky_ms),
        "ring": int(task.ring_ms),
    }


def _agent_json(agent: AgentSpec) -> dict[str, Any]:
    _check_id("agent", agent.id)
    tenants: dict[str, dict[str, int]] = {}
    for tenant, skills in agent.tenants.items():
        _check_id("tenant", tenant)
        signature(skills)  # validates the names
        tenants[tenant] = {name: int(level) for name, level in skills.items()}
    capacity = {_check_id("channel", ch): int(n) for ch, n in agent.capacity.items()}
    # An empty Lua table encodes as an object either way; keep them objects.
    return {"id": agent.id, "tenants": tenants, "capacity": capacity}


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _transitions(raw: Any) -> list[Transition]:
    decoded = json.loads(_text(raw))
    if not isinstance(decoded, list):  # cjson encodes an empty table as {}
        return []
    return [
        Transition(kind=kind, task_id=task_id, tenant_id=tenant_id, agent_id=agent_id or None,
                   data=data if isinstance(data, dict) else {})
        for kind, task_id, tenant_id, agent_id, data in decoded
    ]


class _Call:
    __slots__ = ("done", "operation", "argc", "argv", "as_eval")

    def __init__(self, done: asyncio.Future[Any], operation: str, argc: int, argv: bytes) -> None:
        self.done = done
        self.operation = operation
        self.argc = argc  # the script's arguments, and them packed in the Redis protocol
        self.argv = argv
        self.as_eval = False  # sent again with the script's source (Redis did not have it)


class _ScriptPipe:
    """Script calls on one connection of the client's pool, held by the engine (auto-pipelining).

    Calls are written without waiting for the replies to earlier ones, and one reader hands each
    reply to its caller as soon as it is parsed. Calls made in one turn of the event loop go out
    together, ``_FLUSH_AT`` at a time, so Redis runs the first ones while this process makes the
    next (with one write per turn, callers woken together made Redis and this process take turns
    instead of working side by side). redis-py's per-command machinery (pool checkout, health
    check, retry wrapper, response callbacks, generic packing) costs several times a call's own
    client work and is skipped; the connection is still redis-py's (AUTH, SELECT, RESP version,
    TLS, socket timeout and decoding are the client's) and its parser reads the replies.

    A script Redis lost (restart, SCRIPT FLUSH) is sent again as EVAL. A call is never sent twice:
    when the connection breaks, the calls waiting for a reply fail with ConnectionError (Redis may
    or may not have run them) and later calls go out on a new connection.
    """

    def __init__(self, redis: Redis, sources: Mapping[str, str]) -> None:
        self._pool = redis.connection_pool
        self._sources = {op: src.encode() for op, src in sources.items()}
        shas = {op: hashlib.sha1(src).hexdigest().encode() for op, src in self._sources.items()}
        self._evalsha = {op: b"$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n0\r\n" % sha for op, sha in shas.items()}
        encoder = redis.connection_pool.get_encoder()
        self._encoding = (encoder.encoding, encoder.encoding_errors)
        self._conn: Any = None
        self._broken = False  # the connection failed: take it again before writing on it
        self._queued: list[_Call] = []  # made in this turn of the loop
        self._backlog: list[_Call] = []  # waiting for the connection
        self._waiting: deque[_Call] = deque()  # written, in order, their replies not read yet
        self._connecting: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._progress = 0.0  # loop time of the last reply read
        self._stalled = False

    def call(self, operation: str, args: tuple[str | int, ...]) -> asyncio.Future[Any]:
        encoding, errors = self._encoding
        packed: list[bytes] = []
        for arg in args:
            if isinstance(arg, str):
                raw = arg.encode(encoding, errors)
            elif isinstance(arg, int):
                raw = b"%d" % arg
            else:
                raise TypeError(f"script argument {arg!r}")
            packed.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)
        self._queued.append(_Call(done, operation, len(args), b"".join(packed)))
        if len(self._queued) >= _FLUSH_AT:
            self._flush()
        return done

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._waiting or self._reader is not None:
                await conn.disconnect()
            await self._pool.release(conn)

    def _flush(self) -> None:
        calls = [c for c in self._queued if not c.done.cancelled()]
        self._queued = []
        if not calls:
            return
        conn = self._conn
        # an idle connection the server closed (restart, timeout) is replaced before it is used
        if self._connecting is None and conn is not None and not self._broken and (self._waiting or _is_open(conn)):
            self._write(conn, calls)
            return
        self._backlog += calls
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        try:
            if self._conn is None:
                self._conn = await self._pool.get_connection()
            else:
                await self._conn.disconnect()
                await self._conn.connect()
            self._broken = False
        except BaseException as exc:
            self._connecting = None
            calls, self._backlog = self._backlog, []
            _fail(calls, exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._connecting = None
        calls, self._backlog = [c for c in self._backlog if not c.done.cancelled()], []
        if calls:
            self._write(self._conn, calls)

    def _write(self, conn: Any, calls: list[_Call]) -> None:
        out: list[bytes] = []
        for c in calls:
            out.append(b"*%d\r\n" % (c.argc + 3))
            if c.as_eval:
                source = self._sources[c.operation]
                out.append(b"$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(source), source))
            else:
                out.append(self._evalsha[c.operation])
            out.append(c.argv)
        conn._writer.write(b"".join(out))  # the transport sends it at once or when writable
        self._waiting += calls
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read(conn))

    async def _read(self, conn: Any) -> None:
        parser, timeout = conn._parser, conn.socket_timeout
        loop = asyncio.get_running_loop()
        self._stalled = False
        if timeout:  # the client's socket_timeout: no reply for that long while one is due
            self._progress = loop.time()
            self._watchdog = loop.call_later(timeout, self._watch, asyncio.current_task(), timeout)
        try:
            while self._waiting:
                reply = await parser.read_response()
                self._progress = loop.time()
                c = self._waiting.popleft()
                if isinstance(reply, NoScriptError) and not c.as_eval:
                    c.as_eval = True
                    if not c.done.cancelled():
                        self._write(conn, [c])
                elif not c.done.done():
                    if isinstance(reply, Exception):
                        c.done.set_exception(reply)
                    else:
                        c.done.set_result(reply)
        except BaseException as exc:
            calls, self._waiting = list(self._waiting), deque()
            self._reader = None
            self._broken = True
            if isinstance(exc, asyncio.CancelledError) and self._stalled:
                exc = RedisTimeoutError(f"Timeout reading from Redis ({timeout} s, routing engine)")
            elif not isinstance(exc, (RedisError, asyncio.CancelledError)):
                exc = RedisConnectionError(f"routing engine connection to Redis lost: {exc!r}")
            _fail(calls, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)
            return
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
        self._reader = None

    def _watch(self, reader: asyncio.Task[None], timeout: float) -> None:
        idle = asyncio.get_running_loop().time() - self._progress
        if reader.done():
            self._watchdog = None
        elif idle >= timeout:
            self._watchdog = None
            self._stalled = True
            reader.cancel()
        else:
            self._watchdog = asyncio.get_running_loop().call_later(timeout - idle, self._watch, reader, timeout)


def _is_open(conn: Any) -> bool:
    reader = getattr(conn, "_reader", None)
    return reader is not None and not reader.at_eof() and conn.is_connected


def _fail(calls: Iterable[_Call], exc: BaseException) -> None:
    for c in calls:
        if not c.done.done():
            if isinstance(exc, asyncio.CancelledError):
                c.done.cancel()
            else:
                c.done.set_exception(exc)


class RoutingEngine:
    def __init__(self, redis: Redis, *, prefix: str = "wecc:rt:", ring_ms: int = 20_000, max_missed: int = 3) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ring_ms = ring_ms
        self._max_missed = max_missed
        self._pipe = _ScriptPipe(redis, {name: script_source(name) for name in _OPERATIONS})

    @property
    def prefix(self) -> str:
        return self._prefix

    async def aclose(self) -> None:
        """Give back the connection the engine holds from the client's pool (closing the client
        closes it too). The engine takes one again if it is called afterwards."""
        await self._pipe.aclose()

    async def _call(self, operation: str, now_ms: int, *args: str | int) -> Any:
        """Run one script. Calls made concurrently go to Redis without waiting for each other
        (see :class:`_ScriptPipe`): each script is still atomic on its own, and a caller's own calls
        stay in order (it awaits each). A call cancelled before it was sent is not sent."""
        try:
            return await self._pipe.call(operation, (self._prefix, int(now_ms), self._ring_ms, self._max_missed, *args))
        except ResponseError as exc:
            message = str(exc)
            if message.startswith("WECC_NOTREADY"):
                raise RoutingNotReady(message.partition(" ")[2]) from None
            if message.startswith("WECC_CONFLICT"):
                _, code, rest = (message.split(" ", 2) + ["", ""])[:3]
                raise RoutingConflict(code, rest or code) from None
            raise

    async def _run(self, operation: str, now_ms: int, *args: str | int) -> list[Transition]:
        return _transitions(await self._call(operation, now_ms, *args))

    # ------------------------------------------------------------------ state

    async def is_ready(self) -> bool:
        return bool(await self._redis.exists(self._prefix + "epoch"))

    async def rebuild(
        self,
        *,
        tasks: list[tuple[TaskSpec, str, str | None]],
        agents: list[tuple[AgentSpec, str, int]],
        rules: dict[str, dict[str, tuple[str, ...]]],
        now_ms: int,
        wrapup_deadlines: Mapping[str, int] | None = None,
        exclusions: Mapping[str, Iterable[str]] | None = None,
        missed_offers: Mapping[str, int] | None = None,
        only_if_missing: bool = False,
    ) -> list[Transition]:
        """Replace all routing state under the prefix with what SQL says and match.

        ``tasks``: (spec, state, agent_id); offered tasks go back to queued (offers are transient);
        a *queued* task with an agent_id is reserved for that agent (a transfer target);
        assigned/wrapup tasks count against their agent's load (an unknown agent: assigned ->
        waiting again, ``requeued``; wrapup -> ``done``). ``wrapup_deadlines``: task id -> absolute
        auto-done time (a wrap-up without one waits for ``complete``). ``exclusions``: task id ->
        agents who rejected or missed it (they are not offered it again); ``missed_offers``: agent
        id -> offers missed in a row so far. ``only_if_missing``: do nothing when the state is present (recovery
        after ``RoutingNotReady``).

        Two processes may call this at once: one takes the lock (SET NX PX) and rebuilds; the other
        waits for it and returns ``[]`` (the first one's caller announces the offers).
        """
        lock = self._prefix + "lock"
        token = uuid.uuid4().hex
        while not await self._redis.set(lock, token, nx=True, px=_LOCK_MS):
            while await self._redis.exists(lock):
                await asyncio.sleep(0.05)
            if await self.is_ready():
                return []
        try:
            if only_if_missing and await self.is_ready():
                return []
            return await self._rebuild_locked(token, tasks, agents, rules, now_ms, wrapup_deadlines or {},
                                              exclusions or {}, missed_offers or {})
        finally:
            await self._call("rebuild", now_ms, token, "unlock")

    async def _rebuild_locked(
        self,
        token: str,
        tasks: list[tuple[TaskSpec, str, str | None]],
        agents: list[tuple[AgentSpec, str, int]],
        rules: Mapping[str, Mapping[str, Sequence[str]]],
        now_ms: int,
        wrapup_deadlines: Mapping[str, int],
        exclusions: Mapping[str, Iterable[str]],
        missed_offers: Mapping[str, int],
    ) -> list[Transition]:
        task_rows = []
        for spec, state, agent_id in tasks:
            if state not in _REBUILD_STATES:
                raise ValueError(f"task {spec.id}: state {state!r} is not live")
            row = _task_json(spec)
            row.update(state=state, agent=agent_id or "", wd=int(wrapup_deadlines.get(spec.id, 0)),
                       excl=[_check_id("agent", a) for a in sorted(set(exclusions.get(spec.id, ())))])
            task_rows.append(row)
        agent_rows = []
        for agent_spec, presence, idle_since_ms in agents:
            if presence not in PRESENCES:
                raise ValueError(f"agent {agent_spec.id}: presence {presence!r}")
            agent_rows.append({**_agent_json(agent_spec), "presence": presence, "idle": int(idle_since_ms),
                               "miss": int(missed_offers.get(agent_spec.id, 0))})
        rule_rows = {"*": blocking_rules(DEFAULT_BLOCKING)}
        for tenant, blocking in rules.items():
            rule_rows[_check_id("tenant", tenant)] = blocking_rules(blocking)

        pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in self._prefix) + "*"
        cursor = "0"
        while True:
            cursor = _text(await self._call("rebuild", now_ms, token, "wipe", cursor, pattern))
            if cursor == "0":
                break
        await self._call("rebuild", now_ms, token, "rules", json.dumps(rule_rows))
        for start in range(0, len(agent_rows), _BATCH):
            await self._call("rebuild", now_ms, token, "agents", json.dumps(agent_rows[start : start + _BATCH]))
        made: list[Transition] = []
        for start in range(0, len(task_rows), _BATCH):
            made += await self._run("rebuild", now_ms, token, "tasks", json.dumps(task_rows[start : start + _BATCH]))
        ids = [row["id"] for row in agent_rows]
        for start in range(0, len(ids), _BATCH // 5):
            await self._call("rebuild", now_ms, token, "qualify", json.dumps(ids[start : start + _BATCH // 5]))
        made += await self._run("rebuild", now_ms, token, "finish")
        return made

    async def set_tenant_rules(self, tenant_id: str, blocking: dict[str, tuple[str, ...]]) -> None:
        """The tenant's blending rules ({active channel: channels it blocks}). Agents of the tenant
        whom the change frees for more work are matched by the next ``tick()``, whose
        transitions carry the resulting offers."""
        await self._call("set_rules", 0, _check_id("tenant", tenant_id), json.dumps(blocking_rules(blocking)))

    # ------------------------------------------------------------------ tasks

    async def enqueue(self, task: TaskSpec, now_ms: int) -> list[Transition]:
        return await self._run("enqueue", now_ms, json.dumps(_task_json(task)))

    async def accept(self, task_id: str, agent_id: str, now_ms: int) -> list[Transition]:
        return await self._run("accept", now_ms, task_id, agent_id)

    async def assign(self, task: TaskSpec, agent_id: str, now_ms: int) -> list[Transition]:
        """Work the agent took up themselves (a call they place): assigned to them at once,
        whatever their presence, when they have room for it (else RoutingConflict no_room)."""
        return await self._run("assign", now_ms, json.dumps(_task_json(task)), agent_id)

    async def reject(self, task_id: str, agent_id: str, now_ms: int) -> list[Transition]:
        return await self._run("reject", now_ms, task_id, agent_id)

    async def wrapup(self, task_id: str, agent_id: str, now_ms: int, auto_done_ms: int) -> list[Transition]:
        """assigned -> wrapup; ``auto_done_ms`` is a duration: done at ``now_ms + auto_done_ms``
        by a tick (0: only ``complete`` ends it)."""
        return await self._run("wrapup", now_ms, task_id, agent_id, int(auto_done_ms))

    async def complete(self, task_id: str, agent_id: str, now_ms: int) -> list[Transition]:
        return await self._run("complete", now_ms, task_id, agent_id)

    async def cancel(self, task_id: str, reason: str, now_ms: int) -> list[Transition]:
        if reason not in CANCEL_REASONS:
            raise ValueError(f"cancel reason {reason!r}")
        return await self._run("cancel", now_ms, task_id, reason)

    async def transfer(
        self, task_id: str, now_ms: int, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> list[Transition]:
        return await self._run("transfer", now_ms, task_id, queue_id or "", agent_id or "")

    async def relax(self, task_id: str, skills: Mapping[str, int], now_ms: int) -> list[Transition]:
        """Change the skills a task requires (``skills_changed``; nothing when they are the same).
        Waiting, it keeps its place and may be offered at once to an agent who now qualifies."""
        return await self._run("relax", now_ms, task_id, signature(skills))

    async def tick(self, now_ms: int) -> list[Transition]:
        return await self._run("tick", now_ms)

    # ------------------------------------------------------------------ agents

    async def upsert_agent(self, agent: AgentSpec, now_ms: int) -> list[Transition]:
        """A new agent (presence offline until ``set_presence``) or new skills/tenants/capacity.
        Offers ringing for a tenant it no longer serves go back (``requeued``); work it took stays."""
        return await self._run("upsert_agent", now_ms, json.dumps(_agent_json(agent)))

    async def remove_agent(self, agent_id: str, now_ms: int) -> list[Transition]:
        """Forget the agent: ringing offers and assigned tasks go back to waiting in their place
        (``requeued``), wrap-ups are ``done``, reservations for it end. Unknown agent: no-op."""
        return await self._run("remove_agent", now_ms, agent_id)

    async def set_presence(self, agent_id: str, presence: str, now_ms: int) -> list[Transition]:
        if presence not in PRESENCES:
            raise ValueError(f"presence {presence!r}")
        return await self._run("set_presence", now_ms, agent_id, presence)

    # ------------------------------------------------------------------ views

    async def position(self, task_id: str) -> tuple[int, int] | None:
        """(1-based position among the waiting — queued or offered — tasks of its queue, in rank
        order, regardless of skills; that queue's length), or None when the task is not waiting.
        The estimated wait is the service's (it owns the handle-time statistics)."""
        raw = await self._call("read", 0, "position", task_id)
        if not raw:
            return None
        return int(raw[0]), int(raw[1])

    async def queue_snapshot(self, tenant_id: str, now_ms: int) -> dict[str, dict[str, int | None]]:
        """queue_id -> {"waiting": queued + offered tasks, "longest_wait_ms": now - the oldest
        original enqueued time among them (None when none waits)}; every queue seen in the tenant."""
        raw = json.loads(_text(await self._call("read", now_ms, "snapshot", tenant_id)))
        return {
            queue: {"waiting": int(n), "longest_wait_ms": None if oldest is False else max(0, now_ms - int(oldest))}
            for queue, (n, oldest) in sorted(raw.items())
        }

    async def agent_states(self, tenant_id: str) -> dict[str, dict[str, object]]:
        """agent_id -> {"presence", "load": {channel: n} (all tenants: capacity is the person's),
        "capacity", "tasks": [this tenant's task ids], "idle_since_ms", "missed"}."""
        raw = json.loads(_text(await self._call("read", 0, "agents", tenant_id)))
        out: dict[str, dict[str, object]] = {}
        for agent_id, (presence, load, capacity, tasks, idle, missed) in sorted(raw.items()):
            out[agent_id] = {
                "presence": presence,
                "load": {ch: int(n) for ch, n in (load or {}).items() if int(n)},
                "capacity": {ch: int(n) for ch, n in (capacity or {}).items()},
                "tasks": sorted(t[0] for t in (tasks if isinstance(tasks, list) else [])),
                "idle_since_ms": int(idle),
                "missed": int(missed),
            }
        return out

    async def agent_info(self, agent_id: str) -> dict[str, object] | None:
        """One agent as routing holds it, over all its tenants (for its own inbox), or None."""
        raw = await self._call("read", 0, "agent", agent_id)
        if not raw:
            return None
        presence, load, capacity, tasks, idle, missed, tenants = json.loads(_text(raw))
        return {
            "presence": presence,
            "load": {ch: int(n) for ch, n in (load or {}).items() if int(n)},
            "capacity": {ch: int(n) for ch, n in (capacity or {}).items()},
            "tasks": list(tasks) if isinstance(tasks, list) else [],
            "idle_since_ms": int(idle),
            "missed": int(missed),
            "tenants": list(tenants) if isinstance(tenants, list) else [],
        }

    async def task_info(self, task_id: str) -> dict[str, object] | None:
        """What routing holds about one task (state, agent, reservation, exclusions), or None."""
        raw = await self._call("read", 0, "task", task_id)
        if not raw:
            return None
        st, tenant, channel, queue, agent, reserved, kind, excluded, prio, enq, expires, wrap = json.loads(_text(raw))
        return {
            "state": st,
            "tenant_id": tenant or None,
            "channel": channel or None,
            "queue_id": queue or None,
            "agent_id": agent or None,
            "reserved_for": reserved or None,
            "reservation": {"s": "sticky", "t": "transfer"}.get(kind),
            "excluded": sorted(excluded) if isinstance(excluded, list) else [],
            "priority": int(prio),
            "enqueued_ms": int(enq),
            "offer_expires_ms": int(expires) or None,
            "auto_done_at_ms": int(wrap) or None,
        }


__all__ = ["CANCEL_REASONS", "PRESENCES", "RoutingConflict", "RoutingEngine", "RoutingNotReady", "parse_signature", "script_source", "signature"]

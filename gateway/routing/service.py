"""The durable side of routing. The engine (Redis, Lua) decides atomically across processes; this
service feeds it from SQL and writes every transition it makes — task state, a task_events row
and a domain event — in SQL before publishing, so the agent is offered work only once the offer is
on record. When Redis is lost (or flushed) the engine refuses to act, and the service rebuilds its
state from SQL in the original order.

Inputs are events: `task.queued` (a channel enqueued work), `member.*` (skills or capacity
changed); and calls from the inbox's socket: presence, accept, reject, wrap-up, complete. A
ticker in every process sweeps ring, stickiness and wrap-up timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.conversations import append_message, conversation_json
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.events.bus import DomainEvent, ephemeral_event, record_event
from gateway.keys import CONFIG, DB, EVENTS, REDIS, ROUTING
from gateway.routing.engine import RoutingConflict, RoutingEngine, RoutingNotReady, parse_signature
from gateway.routing.hours import is_open
from gateway.routing.queues import QueueSettings, opening_hours
from gateway.routing.recovery import missed_offer_streaks, task_history
from gateway.routing.settings import EffectiveRouting, TenantRouting, effective
from gateway.routing.model import ACTIVE_STATES, DEFAULT_CAPACITY, TERMINAL_STATES, AgentSpec, TaskSpec, Transition
from gateway.routing.wait import RECENT_TASKS, average_handle_seconds, estimate_wait_seconds

log = logging.getLogger(__name__)

# How often each process looks for what a killed process left behind: queued work the engine
# never heard of, and steps the engine made that were never recorded.
RECONCILE_SECONDS = 5.0
# A batch of routing steps whose SQL transaction PostgreSQL aborted (deadlock, serialization
# failure) is recorded again, up to this many times.
RECORD_ATTEMPTS = 5
RETRY_SQLSTATES = ("40P01", "40001")
# PostgreSQL advisory lock that fences engine steps against a rebuild (see RoutingService._fence);
# the migrations use ...0001.
FENCE_LOCK_KEY = 0x57454343_0002
# Waiting contacts of one queue hear their place at most this often: each announcement reads and
# pushes every waiting task of the queue, so it must not run once per routing step.
POSITION_INTERVAL_SECONDS = 1.0
# engine transition kind -> (task state afterwards, whether the task keeps its agent)
_TASK_STATE: dict[str, tuple[str, bool]] = {
    "offered": ("offered", True),
    "accepted": ("assigned", True),
    "rejected": ("queued", False),
    "offer_timed_out": ("queued", False),
    "requeued": ("queued", False),
    "wrapup": ("wrapup", True),
    "done": ("done", True),
    "cancelled": ("cancelled", True),
    "abandoned": ("abandoned", True),
    "timed_out": ("timed_out", True),
}


def _due() -> sa.ColumnElement[bool]:
    """Tasks routing may have now: none waiting for a later time (see wake_due_tasks)."""
    return sa.or_(t.tasks.c.not_before.is_(None), t.tasks.c.not_before <= utcnow())


def now_ms() -> int:
    return int(time.time() * 1000)


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


class RoutingService:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.config = app[CONFIG].routing
        self.engine: RoutingEngine  # made at start, once Redis is up
        self._ticker: asyncio.Task[None] | None = None
        self._rebuilding = asyncio.Lock()
        self._announcing: dict[tuple[str, str, str], asyncio.Task[None]] = {}  # queue -> its announcer
        self._announce_again: set[tuple[str, str, str]] = set()  # changed while being announced

    # ---- life cycle ----
    async def start(self) -> None:
        self.engine = RoutingEngine(
            self.app[REDIS], ring_ms=int(self.config.ring_seconds * 1000), max_missed=self.config.max_missed_offers
        )
        if await self.engine.is_ready():
            await self._requeue_missing()
        else:
            await self.rebuild()
        self._ticker = asyncio.create_task(self._tick_forever(), name="routing-ticker")

    async def stop(self) -> None:
        for task in [self._ticker, *self._announcing.values()]:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.engine.aclose()  # its connection goes back to the pool before Redis closes

    async def _tick_forever(self) -> None:
        last_sweep = last_reconcile = time.monotonic()
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            try:
                await self._run(lambda: self.engine.tick(now_ms()))
                if time.monotonic() - last_sweep >= 1.0:
                    last_sweep = time.monotonic()
                    await self.wake_due_tasks()
                    await self.sweep_waits()
                if time.monotonic() - last_reconcile >= RECONCILE_SECONDS:
                    last_reconcile = time.monotonic()
                    await self._requeue_missing(settled_seconds=RECONCILE_SECONDS)
                    await self._reconcile_held(settled_seconds=RECONCILE_SECONDS)
            except Exception:  # a bad tick must not stop routing for good
                log.exception("routing tick failed")

    async def _run(self, step: Callable[[], Awaitable[list[Transition]]]) -> list[Transition]:
        """Run one engine step and record what it did; if Redis lost its state, rebuild from SQL
        and try once more."""
        try:
            return await self._fenced_step(step)
        except RoutingNotReady:
            await self.rebuild()
        return await self._fenced_step(step)

    async def _fence(self, conn: AsyncConnection, *, exclusive: bool) -> None:
        """PostgreSQL, where processes share the routing state: each engine step holds this lock
        shared until its transitions are recorded, and a rebuild holds it exclusively while it
        reads SQL and replaces the state. So a rebuild reads SQL only once every step the engine
        made before Redis lost it is on record (else an accept recorded just after the rebuild
        read the task as ringing would be undone, and the task offered to a second agent).
        SQLite serves one process: nothing to fence."""
        if conn.dialect.name == "postgresql":
            lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            await conn.execute(sa.text(f"SELECT {lock}(:key)"), {"key": FENCE_LOCK_KEY})

    async def _fenced_step(self, step: Callable[[], Awaitable[list[Transition]]]) -> list[Transition]:
        if self.app[DB].dialect.name != "postgresql":  # one process: nothing to fence
            transitions = await step()
            await self.apply(transitions)
            return transitions
        transitions: list[Transition] | None = None
        try:
            async with self.app[DB].begin() as conn:
                await self._fence(conn, exclusive=False)
                transitions = await step()
                events, queues = await self._record(conn, transitions)
        except sa.exc.DBAPIError as exc:
            if transitions is None or getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES:
                raise
            await self.apply(transitions)  # the engine has decided: record it again
            return transitions
        await self.app[EVENTS].publish(*events)
        await self.announce_positions(queues)
        return transitions

    # ---- what SQL says ----
    @staticmethod
    def _tasks_with_settings() -> sa.Select[Any]:
        """Task rows with their tenant's settings (`tenant_settings`), which say how they ring."""
        return sa.select(t.tasks, t.tenants.c.settings.label("tenant_settings")).join(t.tenants, t.tenants.c.id == t.tasks.c.tenant_id)

    def _tenant_routing(self, tenant_settings: Any) -> EffectiveRouting:
        return effective(TenantRouting.of(tenant_settings), self.config)

    def _task_spec(self, row: Any) -> TaskSpec:
        """From a row of _tasks_with_settings()."""
        tenant = TenantRouting.of(row.tenant_settings)
        routing = effective(tenant, self.config)
        return TaskSpec(
            id=row.id,
            tenant_id=row.tenant_id,
            channel=row.channel,
            queue_id=row.queue_id,
            priority=row.priority,
            enqueued_ms=_ms(row.enqueued_at),
            skills=dict(row.required_skills),
            preferred_agent_id=row.preferred_agent_id,
            sticky_ms=routing.sticky_ms if row.preferred_agent_id else 0,
            # the engine's own ring time is the center's default
            ring_ms=routing.ring_ms if tenant.ring_seconds is not None else 0,
        )

    async def _agent_specs(self, conn: AsyncConnection, user_id: str | None = None) -> dict[str, AgentSpec]:
        """Every agent routing knows (one user, or all): people with a seat in an active tenant."""
        query = (
            sa.select(t.memberships.c.user_id, t.memberships.c.tenant_id, t.memberships.c.skills, t.memberships.c.capacity)
            .join(t.tenants, t.tenants.c.id == t.memberships.c.tenant_id)
            .where(t.tenants.c.status == "active")
        )
        if user_id is not None:
            query = query.where(t.memberships.c.user_id == user_id)
        seats: dict[str, list[Any]] = {}
        for row in (await conn.execute(query)).all():
            seats.setdefault(row.user_id, []).append(row)
        specs = {}
        for uid, rows in seats.items():
            capacity = dict(DEFAULT_CAPACITY)
            for channel in capacity:
                # Capacity is the person's: the largest any of their tenants grants on the channel.
                capacity[channel] = max(int(row.capacity.get(channel, DEFAULT_CAPACITY[channel])) for row in rows)
            specs[uid] = AgentSpec(id=uid, tenants={row.tenant_id: dict(row.skills) for row in rows}, capacity=capacity)
        return specs

    async def _rules(self, conn: AsyncConnection) -> dict[str, dict[str, tuple[str, ...]]]:
        rows = (await conn.execute(sa.select(t.tenants.c.id, t.tenants.c.settings))).all()
        return {row.id: self._tenant_routing(row.settings).blocking for row in rows}

    async def rebuild(self) -> None:
        """Replace the engine's state with SQL's: waiting tasks in their original order, work in
        progress counted against its agents, agents present as they were; a task transferred to
        an agent still waits for that agent, and what only the history remembers (who rejected or
        missed what, wrap-up deadlines, missed-offer streaks) is restored too (see recovery)."""
        async with self._rebuilding:
            if await self.engine.is_ready():  # another caller in this process just did it
                return
            async with self.app[DB].begin() as conn:
                await self._fence(conn, exclusive=True)  # every step in flight is recorded; new ones wait
                if await self.engine.is_ready():  # another process rebuilt it meanwhile
                    return
                task_rows = (
                    await conn.execute(
                        self._tasks_with_settings()
                        .where(t.tasks.c.state.in_(ACTIVE_STATES), t.tenants.c.status == "active", _due())
                        .order_by(t.tasks.c.enqueued_at)
                    )
                ).all()
                tasks = [(self._task_spec(r), r.state, r.assigned_agent_id) for r in task_rows]
                # Everyone with a seat (a transfer may wait for someone who never logged in);
                # presence as last recorded, offline for those never seen.
                states = {row.user_id: row for row in (await conn.execute(sa.select(t.agent_states))).all()}
                now = now_ms()
                agents = [
                    (spec, states[uid].presence, _ms(states[uid].updated_at)) if uid in states else (spec, "offline", now)
                    for uid, spec in (await self._agent_specs(conn)).items()
                ]
                rules = await self._rules(conn)
                exclusions, wrapup_deadlines = await task_history(conn, task_rows)
                missed = await missed_offer_streaks(conn, self.config.max_missed_offers)
                log.info("rebuilding routing state from SQL", extra={"tasks": len(tasks), "agents": len(agents)})
                # only_if_missing: never replace a newer state (rebuilt, and routed on, by another
                # process) with this snapshot.
                transitions = await self.engine.rebuild(
                    tasks=tasks, agents=agents, rules=rules, now_ms=now_ms(), wrapup_deadlines=wrapup_deadlines,
                    exclusions=exclusions, missed_offers=missed, only_if_missing=True)
                events, queues = await self._record(conn, transitions)
        await self.app[EVENTS].publish(*events)
        await self.announce_positions(queues)

    async def _requeue_missing(self, settled_seconds: float = 0) -> None:
        """Tasks queued in SQL by a process that died before telling the engine (enqueue is
        idempotent, so tasks the engine already has are left as they are). While running, only
        tasks whose SQL row has not changed for `settled_seconds` are looked at, so a decision
        the engine just made and SQL is about to record is never undone."""
        settled = utcnow() - timedelta(seconds=settled_seconds)
        async with self.app[DB].connect() as conn:
            rows = (await conn.execute(self._tasks_with_settings().where(
                t.tasks.c.state == "queued", t.tasks.c.updated_at <= settled, _due()))).all()
            specs = [self._task_spec(r) for r in rows]
        for spec in specs:
            await self._run(lambda spec=spec: self.engine.enqueue(spec, now_ms()))

    # ---- inputs ----
    async def on_event(self, event: DomainEvent) -> None:
        if event.type == "task.queued":
            await self.enqueue(event.data["task_id"])
        elif event.type in ("member.added", "member.updated", "member.removed"):
            await self.refresh_agent(event.data["user_id"])
        elif event.type == "tenant.routing_updated" and event.tenant_id:
            await self.set_tenant_rules(event.tenant_id)

    async def set_tenant_rules(self, tenant_id: str) -> None:
        """The tenant's blending rules changed: the engine re-scores its agents (ring, sticky
        and wrap-up times are read from SQL where they are used)."""
        async with self.app[DB].connect() as conn:
            settings = (await conn.execute(sa.select(t.tenants.c.settings).where(t.tenants.c.id == tenant_id))).scalar_one()
        blocking = self._tenant_routing(settings).blocking

        async def step() -> list[Transition]:
            await self.engine.set_tenant_rules(tenant_id, blocking)
            return []  # agents it frees are matched by the next tick

        await self._run(step)

    async def enqueue(self, task_id: str) -> None:
        async with self.app[DB].connect() as conn:
            row = (await conn.execute(self._tasks_with_settings().where(t.tasks.c.id == task_id))).one()
            if row.not_before is not None and row.not_before > utcnow():
                return  # waits for its time: wake_due_tasks routes it then
            spec = self._task_spec(row)
            hours = await opening_hours(conn, row.tenant_id, await self._queue_settings(conn, row.queue_id))
        if not is_open(hours, utcnow()):
            # The task still waits (nothing accepted is dropped); its channel decides what the
            # customer is offered instead: the chat widget its offline form, a caller a callback.
            await self._task_event(row, "queue_closed", {"queue_id": row.queue_id})
        await self._run(lambda: self.engine.enqueue(spec, now_ms()))
        await self.announce_positions({(spec.tenant_id, spec.queue_id, spec.channel)})

    async def _queue_settings(self, conn: AsyncConnection, queue_id: str | None) -> QueueSettings | None:
        raw = (await conn.execute(sa.select(t.queues.c.settings).where(t.queues.c.id == queue_id))).scalar_one_or_none()
        return QueueSettings.model_validate(raw) if raw is not None else None

    async def _task_event(self, row: Any, kind: str, data: dict[str, Any]) -> None:
        """Record and announce something that happened to a task without changing its state."""
        async with self.app[DB].begin() as conn:
            await conn.execute(sa.insert(t.task_events).values(
                tenant_id=row.tenant_id, task_id=row.id, type=kind, data=data, created_at=utcnow()))
            event = await record_event(conn, f"task.{kind}", row.tenant_id,
                                       {"task_id": row.id, "conversation_id": row.conversation_id, "channel": row.channel, **data},
                                       conversation_id=row.conversation_id, actor="routing")
        await self.app[EVENTS].publish(event)

    async def wake_due_tasks(self) -> None:
        """Tasks whose `not_before` has come (a callback's window opened, its next attempt is due)
        join routing in their original place. Each is woken by the process that clears its
        not_before first; enqueueing again would be harmless anyway."""
        async with self.app[DB].connect() as conn:
            due = list((await conn.execute(sa.select(t.tasks.c.id).where(
                t.tasks.c.state == "queued", t.tasks.c.not_before.is_not(None), t.tasks.c.not_before <= utcnow()))).scalars())
        for task_id in due:
            async with self.app[DB].begin() as conn:
                woken = (await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.not_before.is_not(None))
                                            .values(not_before=None))).rowcount
            if woken:
                await self.enqueue(task_id)

    async def sweep_waits(self) -> None:
        """Relaxed skills, overflow and maximum wait, per queue settings. Each happens once per
        task however many processes sweep: the first to claim it in Redis acts (relaxing is
        idempotent in the engine)."""
        async with self.app[DB].connect() as conn:
            queues = {row.id: QueueSettings.model_validate(row.settings)
                      for row in (await conn.execute(sa.select(t.queues.c.id, t.queues.c.settings))).all()}
            watched = {qid: q for qid, q in queues.items()
                       if q.overflow_after_seconds or q.max_wait_seconds or q.relax_skills_after_seconds}
            if not watched:
                return
            # Not callbacks: nobody holds a line for them, and their place in line is old by design.
            rows = (await conn.execute(sa.select(t.tasks).where(
                t.tasks.c.queue_id.in_(list(watched)), t.tasks.c.state.in_(("queued", "offered")),
                t.tasks.c.channel != "callback", t.tasks.c.not_before.is_(None)))).all()
        now = utcnow()
        for row in rows:
            settings = watched[row.queue_id]
            waited = (now - row.enqueued_at).total_seconds()
            relaxed = settings.relaxed_skills
            if (settings.relax_skills_after_seconds and relaxed is not None and waited >= settings.relax_skills_after_seconds
                    and dict(row.required_skills) != relaxed):
                await self._run(lambda row=row, relaxed=relaxed: self.engine.relax(row.id, relaxed, now_ms()))
            if settings.max_wait_seconds and waited >= settings.max_wait_seconds and await self._claim(row.id, "max_wait"):
                await self._task_event(row, "max_wait_reached", {"queue_id": row.queue_id, "waited_seconds": int(waited)})
            if (settings.overflow_after_seconds and settings.overflow_queue_id and row.state == "queued"
                    and waited >= settings.overflow_after_seconds and await self._claim(row.id, f"overflow:{row.queue_id}")):
                await self._overflow(row, settings.overflow_queue_id)

    async def _claim(self, task_id: str, what: str) -> bool:
        return bool(await self.app[REDIS].set(f"wecc:rt-once:{what}:{task_id}", "1", nx=True, ex=7 * 86400))

    async def _overflow(self, row: Any, to_queue: str) -> None:
        async with self.app[DB].begin() as conn:
            await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == row.id).values(queue_id=to_queue))
        await self._task_event(row, "overflowed", {"from_queue_id": row.queue_id, "queue_id": to_queue})
        await self._run(lambda: self.engine.transfer(row.id, now_ms(), queue_id=to_queue))

    async def refresh_agent(self, user_id: str) -> None:
        async with self.app[DB].connect() as conn:
            spec = (await self._agent_specs(conn, user_id)).get(user_id)
        if spec is None:
            await self._run(lambda: self.engine.remove_agent(user_id, now_ms()))
        else:
            await self._run(lambda: self.engine.upsert_agent(spec, now_ms()))

    async def set_presence(self, user_id: str, presence: str, reason: str = "", actor: str | None = None) -> None:
        """Record the agent's presence (SQL first: it is what a rebuild restores), tell each of
        their tenants, then let the engine offer work if they became available."""
        async with self.app[DB].begin() as conn:
            spec = (await self._agent_specs(conn, user_id)).get(user_id)
            await self._save_presence(conn, user_id, presence, reason)
            events = await self._presence_events(conn, user_id, presence, reason, actor or f"user:{user_id}")
        await self.app[EVENTS].publish(*events)
        if spec is not None:
            await self._run(lambda: self.engine.upsert_agent(spec, now_ms()))
        await self._run(lambda: self.engine.set_presence(user_id, presence, now_ms()))

    async def _save_presence(self, conn: AsyncConnection, user_id: str, presence: str, reason: str) -> None:
        values = {"presence": presence, "reason": reason[:200], "updated_at": utcnow()}
        updated = await conn.execute(sa.update(t.agent_states).where(t.agent_states.c.user_id == user_id).values(**values))
        if updated.rowcount == 0:
            await conn.execute(sa.insert(t.agent_states).values(user_id=user_id, **values))

    async def _presence_events(self, conn: AsyncConnection, user_id: str, presence: str, reason: str, actor: str) -> list[DomainEvent]:
        tenant_ids = (await conn.execute(sa.select(t.memberships.c.tenant_id).where(t.memberships.c.user_id == user_id))).scalars()
        return [
            await record_event(conn, "agent.presence_changed", tid, {"agent_id": user_id, "status": presence, "reason": reason}, actor=actor)
            for tid in sorted(tenant_ids)
        ]

    async def accept(self, task_id: str, user_id: str) -> None:
        try:
            await self._run(lambda: self.engine.accept(task_id, user_id, now_ms()))
        except RoutingConflict:
            # Accepting again what this agent already holds succeeds: the inbox retries when the
            # first answer was lost, e.g. with the process that took the accept.
            info = await self.engine.task_info(task_id)
            if not info or info["state"] not in ("assigned", "wrapup") or info["agent_id"] != user_id:
                raise
            await self._catch_up([task_id])

    async def assign(self, task_id: str, user_id: str) -> None:
        """Routing counts a task the agent took up themselves (conversations.agents_own_task) in
        their load; when they have no room for it, the task is cancelled and RoutingConflict raised."""
        async with self.app[DB].connect() as conn:
            spec = self._task_spec((await conn.execute(self._tasks_with_settings().where(t.tasks.c.id == task_id))).one())
        try:
            await self._run(lambda: self.engine.assign(spec, user_id, now_ms()))
        except RoutingConflict:
            async with self.app[DB].begin() as conn:
                row = (await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == task_id).values(
                    state="cancelled", ended_at=utcnow(), updated_at=utcnow()).returning(t.tasks.c.conversation_id))).one()
                await conn.execute(sa.insert(t.task_events).values(
                    tenant_id=spec.tenant_id, task_id=task_id, type="cancelled", data={"reason": "no_room"}, created_at=utcnow()))
                event = await record_event(conn, "task.cancelled", spec.tenant_id, {
                    "task_id": task_id, "conversation_id": row.conversation_id, "channel": spec.channel, "queue_id": spec.queue_id,
                    "agent_id": None, "state": "cancelled"}, conversation_id=row.conversation_id, actor="routing")
            await self.app[EVENTS].publish(event)
            raise

    async def complete(self, task_id: str, user_id: str) -> None:
        try:
            await self._run(lambda: self.engine.complete(task_id, user_id, now_ms()))
        except RoutingConflict:
            # The same for finishing: done by a process that died before answering (and maybe
            # before recording it) is done.
            async with self.app[DB].connect() as conn:
                held = (await conn.execute(sa.select(t.tasks.c.id).where(
                    t.tasks.c.id == task_id, t.tasks.c.assigned_agent_id == user_id,
                    t.tasks.c.state.in_(("assigned", "wrapup", "done"))))).first()
            info = await self.engine.task_info(task_id)
            if held is None or not info or info["state"] != "done":
                raise
            await self._catch_up([task_id])

    async def _catch_up(self, task_ids: list[str]) -> None:
        """Record what the engine did to these tasks that SQL never heard of: a process that made
        a step died before recording it. Only the steps that matter are caught up — an
        acceptance, a wrap-up, an ending — as `recovered` transitions; offers are transient and
        settle with the next step. Recording is idempotent, so a step recorded meanwhile by its
        own process is not recorded twice."""
        async with self.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id.in_(task_ids)))).all()
        infos = await asyncio.gather(*(self.engine.task_info(row.id) for row in rows))
        missed: list[Transition] = []
        for row, info in zip(rows, infos):
            if not info or row.state in TERMINAL_STATES:
                continue
            engine_state = str(info["state"])
            data: dict[str, object] = {"channel": row.channel, "queue_id": row.queue_id, "recovered": True}
            if engine_state in TERMINAL_STATES:
                missed.append(Transition(engine_state, row.id, row.tenant_id, row.assigned_agent_id, data))
            elif engine_state in ("assigned", "wrapup") and info["agent_id"] and (
                    row.state != engine_state or row.assigned_agent_id != info["agent_id"]):
                if row.state not in ("assigned", "wrapup") or row.assigned_agent_id != info["agent_id"]:
                    missed.append(Transition("accepted", row.id, row.tenant_id, str(info["agent_id"]), data))
                if engine_state == "wrapup":
                    missed.append(Transition("wrapup", row.id, row.tenant_id, str(info["agent_id"]),
                                             {**data, "auto_done_at_ms": info["auto_done_at_ms"] or 0}))
        if missed:
            log.warning("recording routing steps a process made but never recorded", extra={"steps": len(missed)})
            await self.apply(missed)

    async def _reconcile_held(self, settled_seconds: float) -> None:
        """Live tasks whose SQL row has not changed for a while: catch up with what the engine
        did to them since (see _catch_up)."""
        settled = utcnow() - timedelta(seconds=settled_seconds)
        async with self.app[DB].connect() as conn:
            ids = list((await conn.execute(sa.select(t.tasks.c.id).where(
                t.tasks.c.state.in_(ACTIVE_STATES), t.tasks.c.updated_at <= settled))).scalars())
        for start in range(0, len(ids), 500):
            await self._catch_up(ids[start:start + 500])

    async def reject(self, task_id: str, user_id: str) -> None:
        await self._run(lambda: self.engine.reject(task_id, user_id, now_ms()))

    async def wrapup(self, task_id: str, user_id: str) -> None:
        async with self.app[DB].connect() as conn:
            settings = (await conn.execute(sa.select(t.tenants.c.settings).join(t.tasks, t.tasks.c.tenant_id == t.tenants.c.id)
                                           .where(t.tasks.c.id == task_id))).scalar_one_or_none()
        auto = self._tenant_routing(settings).wrapup_ms
        await self._run(lambda: self.engine.wrapup(task_id, user_id, now_ms(), auto))

    async def transfer(self, task_id: str, user_id: str, *, queue_id: str | None = None, agent_id: str | None = None,
                       note: str = "", supervisor: bool = False) -> None:
        """An agent hands work they hold to a queue or a colleague of the same tenant. The task
        keeps its priority and original place; the note is left on the conversation for the next
        agent (internal: the customer never sees it). `supervisor`: a supervisor (user_id) moves
        the work, whoever holds it or while it waits (the caller checked they may)."""
        if (queue_id is None) == (agent_id is None):
            raise RoutingConflict("invalid", "transfer to a queue or to an agent")
        async with self.app[DB].connect() as conn:
            task = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == task_id))).first()
            movable = ("queued", "offered", "assigned", "wrapup") if supervisor else ("offered", "assigned", "wrapup")
            if task is None or task.state not in movable or (not supervisor and task.assigned_agent_id != user_id):
                raise RoutingConflict("not_yours", "this work has ended" if supervisor else "you do not hold this task")
            if queue_id is not None:
                found = (await conn.execute(sa.select(t.queues.c.id).where(t.queues.c.id == queue_id, t.queues.c.tenant_id == task.tenant_id))).first()
            else:
                found = (await conn.execute(sa.select(t.memberships.c.id).where(
                    t.memberships.c.user_id == agent_id, t.memberships.c.tenant_id == task.tenant_id))).first()
            if found is None:
                raise RoutingConflict("not_found", "no such queue or agent in this tenant")
        if queue_id is not None:
            async with self.app[DB].begin() as conn:
                await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == task_id).values(queue_id=queue_id))
        if note:
            async with self.app[DB].begin() as conn:
                appended = await append_message(conn, task.tenant_id, task.conversation_id, kind="note", author_type="agent",
                                                author_id=user_id, body_text=note, meta={"transfer": {"queue_id": queue_id, "agent_id": agent_id}})
            await self.app[EVENTS].publish(*appended.events)
        await self._run(lambda: self.engine.transfer(task_id, now_ms(), queue_id=queue_id, agent_id=agent_id))

    async def cancel(self, task_id: str, reason: str) -> None:
        await self._run(lambda: self.engine.cancel(task_id, reason, now_ms()))

    # ---- outputs ----
    async def apply(self, transitions: list[Transition]) -> None:
        """Write each transition in SQL, then announce it. Runs in order: an offer's timeout
        and the next offer land in that order."""
        if not transitions:
            return
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                async with self.app[DB].begin() as conn:
                    events, queues = await self._record(conn, transitions)
                break
            except sa.exc.DBAPIError as exc:
                # The engine has decided: the record must not be dropped for a deadlock.
                if getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES or attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("recording routing steps: retrying", extra={"attempt": attempt, "sqlstate": exc.orig.sqlstate})
        await self.app[EVENTS].publish(*events)
        await self.announce_positions(queues)

    async def _record(self, conn: AsyncConnection, transitions: list[Transition]) -> tuple[list[DomainEvent], set[tuple[str, str, str]]]:
        events: list[DomainEvent] = []
        queues: set[tuple[str, str, str]] = set()
        task_ids = sorted({tr.task_id for tr in transitions if tr.task_id})
        if task_ids:
            # Processes record steps of the same tasks concurrently: take the tasks' rows in one
            # order, so two of them never wait for each other.
            await conn.execute(sa.select(t.tasks.c.id).where(t.tasks.c.id.in_(task_ids)).order_by(t.tasks.c.id).with_for_update())
        for tr in transitions:
            events += await self._persist(conn, tr, queues)
        return events, queues

    async def _persist(self, conn: AsyncConnection, tr: Transition, queues: set[tuple[str, str, str]]) -> list[DomainEvent]:
        now = utcnow()
        if tr.kind == "agent_away":
            assert tr.agent_id is not None
            await self._save_presence(conn, tr.agent_id, "away", "missed offers")
            return await self._presence_events(conn, tr.agent_id, "away", "missed offers", "routing")
        row = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == tr.task_id, t.tasks.c.tenant_id == tr.tenant_id))).first()
        if row is None:
            log.warning("routing transition for an unknown task", extra={"task_id": tr.task_id, "kind": tr.kind})
            return []
        # On record already: a step retried by the agent or caught up after a process died (see
        # _catch_up) while its own process recorded it too.
        if tr.kind == "accepted" and row.assigned_agent_id == tr.agent_id and row.state in ("assigned", "wrapup", *TERMINAL_STATES):
            return []
        if tr.kind in ("wrapup", *TERMINAL_STATES) and row.state == tr.kind and (
                row.assigned_agent_id == tr.agent_id or tr.data.get("recovered")):
            return []
        if tr.kind == "skills_changed":
            # The queue relaxed what it needs: kept on the row, so a rebuild routes it the same.
            skills = parse_signature(str(tr.data["skills"]))
            await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == row.id).values(required_skills=skills, updated_at=now))
            await conn.execute(sa.insert(t.task_events).values(
                tenant_id=row.tenant_id, task_id=row.id, type=tr.kind, data={"required_skills": skills,
                                                                          "from_skills": parse_signature(str(tr.data["from_skills"]))},
                created_at=now))
            data = {"task_id": row.id, "conversation_id": row.conversation_id, "channel": row.channel, "queue_id": row.queue_id,
                    "required_skills": skills}
            return [await record_event(conn, "task.skills_changed", row.tenant_id, data, conversation_id=row.conversation_id, actor="routing")]
        state, keeps_agent = _TASK_STATE[tr.kind]
        # Processes record the engine's steps concurrently, so a step can reach SQL after a later
        # one (an offer's timeout after the next agent already finished the task). Such a step
        # joins the history but leaves the task as it is: an ended task stays ended, and the end
        # of an offer or assignment only counts while the task is still that agent's.
        if row.state in TERMINAL_STATES or (
                tr.kind in ("rejected", "offer_timed_out", "requeued") and tr.agent_id and row.assigned_agent_id != tr.agent_id):
            state = row.state
        else:
            values: dict[str, Any] = {"state": state, "updated_at": now}
            if tr.kind == "requeued" and tr.data.get("to_agent_id"):
                values["assigned_agent_id"] = tr.data["to_agent_id"]  # waits for the transfer's target
            elif not keeps_agent:
                values["assigned_agent_id"] = None  # back in the queue: nobody holds it
            elif tr.agent_id:
                values["assigned_agent_id"] = tr.agent_id
            if state in TERMINAL_STATES:
                values["ended_at"] = now
            await conn.execute(sa.update(t.tasks).where(t.tasks.c.id == row.id).values(**values))
        await conn.execute(
            sa.insert(t.task_events).values(
                tenant_id=row.tenant_id, task_id=row.id, type=tr.kind, agent_id=tr.agent_id, data=dict(tr.data), created_at=now
            )
        )
        queues.add((row.tenant_id, row.queue_id, row.channel))
        data = {"task_id": row.id, "conversation_id": row.conversation_id, "channel": row.channel, "queue_id": row.queue_id,
                "agent_id": tr.agent_id, "state": state, **{k: v for k, v in tr.data.items() if k in ("expires_ms",)}}
        if tr.kind == "accepted" and tr.agent_id:  # so the customer can be told who is helping them
            data["agent_name"] = (await conn.execute(sa.select(t.users.c.name).where(t.users.c.id == tr.agent_id))).scalar_one_or_none()
        events = [await record_event(conn, f"task.{tr.kind}", row.tenant_id, data, conversation_id=row.conversation_id, actor="routing")]
        if tr.kind == "accepted":
            events += await self._assign_conversation(conn, row, {"assignee_id": tr.agent_id, "status": "open"}, now)
        elif tr.kind == "requeued" and state == "queued" and row.state in ("assigned", "wrapup") and row.assigned_agent_id:
            # Taken from the agent who had accepted it (transferred away, or they left): nobody
            # has the conversation until someone accepts, so it leaves that agent's "mine" and
            # the next task does not stick to them. Only theirs is cleared: an offer withdrawn
            # from another agent, or a conversation assigned anew meanwhile, keeps its assignee.
            events += await self._assign_conversation(conn, row, {"assignee_id": None}, now, only_if_assignee=row.assigned_agent_id)
        return events

    async def _assign_conversation(self, conn: AsyncConnection, task: Any, values: dict[str, Any], now: Any,
                                   only_if_assignee: str | None = None) -> list[DomainEvent]:
        stmt = sa.update(t.conversations).where(t.conversations.c.id == task.conversation_id)
        if only_if_assignee is not None:
            stmt = stmt.where(t.conversations.c.assignee_id == only_if_assignee)
        if (await conn.execute(stmt.values(**values, updated_at=now))).rowcount == 0:
            return []
        conversation = (
            await conn.execute(
                sa.select(t.conversations, t.contacts.c.name.label("contact_name"))
                .join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
                .where(t.conversations.c.id == task.conversation_id)
            )
        ).one()
        return [await record_event(conn, "conversation.updated", task.tenant_id, conversation_json(conversation, conversation.contact_name),
                                   conversation_id=task.conversation_id, actor="routing")]

    async def announce_positions(self, queues: set[tuple[str, str, str]]) -> None:
        """Tell every waiting contact of the touched queues their place and estimated wait, in
        the background. Positions are derived, not state: they are pushed live, not recorded.
        Per queue, one announcement runs at a time; changes made meanwhile are covered by one
        more, POSITION_INTERVAL_SECONDS later (so the cost follows time, not routing steps)."""
        for key in queues:
            if key in self._announcing:
                self._announce_again.add(key)
            else:
                self._announcing[key] = asyncio.create_task(self._announce_queue(key), name="routing-positions")

    async def _announce_queue(self, key: tuple[str, str, str]) -> None:
        try:
            while True:
                self._announce_again.discard(key)
                try:
                    await self._announce_positions_now(*key)
                except RoutingNotReady:
                    pass  # Redis lost its state: the next routing step rebuilds it, and announces again
                except Exception:
                    log.exception("announcing queue positions failed")
                await asyncio.sleep(POSITION_INTERVAL_SECONDS)
                if key not in self._announce_again:
                    return
        finally:
            del self._announcing[key]

    async def _announce_positions_now(self, tenant_id: str, queue_id: str, channel: str) -> None:
        events: list[DomainEvent] = []
        async with self.app[DB].connect() as conn:
            waiting = (
                await conn.execute(
                    sa.select(t.tasks.c.id, t.tasks.c.conversation_id).where(
                        t.tasks.c.tenant_id == tenant_id,
                        t.tasks.c.queue_id == queue_id,
                        t.tasks.c.channel == channel,
                        t.tasks.c.state.in_(("queued", "offered")),  # ringing: still waiting
                    )
                )
            ).all()
            if not waiting:
                return
            handle = average_handle_seconds(await self._recent_handle_seconds(conn, tenant_id, queue_id, channel),
                                            self.config.default_handle_seconds)
        slots = await self._slots(tenant_id, channel)
        for task_id, conversation_id in waiting:
            place = await self.engine.position(task_id)
            if place is None:
                continue
            position, length = place
            events.append(ephemeral_event(
                "task.position", tenant_id,
                {"task_id": task_id, "conversation_id": conversation_id, "position": position, "queue_length": length,
                 "estimated_wait_seconds": estimate_wait_seconds(position, slots, handle)},
                conversation_id=conversation_id, audience="public",
            ))
        await self.app[EVENTS].publish(*events)

    async def _recent_handle_seconds(self, conn: AsyncConnection, tenant_id: str, queue_id: str, channel: str) -> list[float]:
        accepted = (
            sa.select(t.task_events.c.task_id, sa.func.max(t.task_events.c.created_at).label("accepted_at"))
            .where(t.task_events.c.tenant_id == tenant_id, t.task_events.c.type == "accepted")
            .group_by(t.task_events.c.task_id)
            .subquery()
        )
        rows = (
            await conn.execute(
                sa.select(t.tasks.c.ended_at, accepted.c.accepted_at)
                .join(accepted, accepted.c.task_id == t.tasks.c.id)
                .where(
                    t.tasks.c.tenant_id == tenant_id,
                    t.tasks.c.queue_id == queue_id,
                    t.tasks.c.channel == channel,
                    t.tasks.c.state == "done",
                )
                .order_by(t.tasks.c.ended_at.desc())
                .limit(RECENT_TASKS)
            )
        ).all()
        return [(r.ended_at - r.accepted_at).total_seconds() for r in rows if r.ended_at and r.accepted_at]

    async def _slots(self, tenant_id: str, channel: str) -> int:
        agents = await self.engine.agent_states(tenant_id)
        return sum(int(a["capacity"].get(channel, 0)) for a in agents.values() if a["presence"] == "available")  # type: ignore[union-attr]

    async def snapshot(self, tenant_id: str) -> dict[str, Any]:
        """The supervisor's view: per queue waiting and longest wait; agents by presence."""
        queues = await self.engine.queue_snapshot(tenant_id, now_ms())
        agents = await self.engine.agent_states(tenant_id)
        by_presence: dict[str, int] = {}
        for agent in agents.values():
            by_presence[str(agent["presence"])] = by_presence.get(str(agent["presence"]), 0) + 1
        return {"queues": queues, "agents": agents, "agents_by_presence": by_presence}


async def routing_ctx(app: web.Application) -> AsyncIterator[None]:
    service = app[ROUTING]
    app[EVENTS].subscribe(service.on_event)
    await service.start()
    yield
    await service.stop()


def setup_routing(app: web.Application) -> None:
    """Register after the Redis and database contexts."""
    app[ROUTING] = RoutingService(app)
    app.cleanup_ctx.append(routing_ctx)


__all__ = ["RoutingConflict", "RoutingService", "setup_routing"]

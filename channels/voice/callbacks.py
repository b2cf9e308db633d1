"""Callbacks: a caller who would rather be called back than wait (the widget's form during a web
call, or a phone caller's key) keeps their place in the queue.

The request becomes a task on the routing channel "callback" with the call's original enqueue
time, so it is offered where the caller stood, but not before the caller's window opens. The
agent who accepts it answers it as any call (call_answer, claim() here); the voice channel then
dials the customer through the trunk and bridges them. A busy line, no answer or an unreachable
number is tried again after the tenant's interval (call settings callback_retry_minutes), up to
callback_attempts, while the window lasts: each attempt is a new callback task keeping the same
place. Every attempt is kept (callback_attempts, and callback.attempted on the conversation), and
so is the outcome (callback.completed, callback.failed, callback.expired when the window closed
before any agent took it up).

States: waiting -> dialling -> connected -> done
                   dialling -> waiting (another attempt) | failed
        waiting -> expired
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from gateway.channel import ChannelContext, ChannelUnit
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow

DEFAULT_ATTEMPTS = 3
DEFAULT_RETRY_MINUTES = 10
# Longer than any ring (a trunk's ring_seconds is at most 300) and its settling: an attempt still
# 'dialling' after this was left by a process that stopped.
ABANDONED_DIALLING_SECONDS = 420
AttemptResult = Literal["answered", "busy", "no_answer", "declined", "unreachable", "failed", "given_up"]


@dataclass(frozen=True)
class Attempt:
    """A callback being dialled: what the voice channel needs to place and settle the call."""

    callback_id: str
    attempt_id: str
    agent_id: str
    tenant_id: str
    conversation_id: str
    task_id: str
    number: str
    attempt: int
    max_attempts: int


def result_of(status: int) -> AttemptResult:
    """A SIP final status, as a callback attempt's result."""
    if status < 300:
        return "answered"
    if status in (486, 600):
        return "busy"
    if status in (408, 480):
        return "no_answer"
    if status == 603:
        return "declined"
    if status == 487:
        return "given_up"
    if status in (404, 484, 485, 604):
        return "unreachable"
    return "failed"


class CallbackBook:
    def __init__(self, ctx: ChannelContext) -> None:
        self._ctx = ctx

    async def request(self, unit: ChannelUnit, *, tenant_id: str, conversation_id: str, waiting_task_id: str | None,
                      number: str, topic: str, window_from: datetime | None, window_to: datetime | None,
                      settings: dict[str, Any]) -> str:
        """Stores the request, and its task in the place of the caller's `waiting_task_id` (none:
        a place from now, in the conversation's queue)."""
        now, callback_id = utcnow(), new_id()
        place = (await unit.conn.execute(sa.select(t.tasks.c.enqueued_at, t.tasks.c.queue_id).where(
            t.tasks.c.id == waiting_task_id, t.tasks.c.tenant_id == tenant_id))).first() if waiting_task_id else None
        await unit.conn.execute(sa.insert(t.callbacks).values(
            id=callback_id, tenant_id=tenant_id, conversation_id=conversation_id, number=number, topic=topic,
            window_from=window_from, window_to=window_to, state="waiting", attempts=0,
            max_attempts=int(settings.get("callback_attempts") or DEFAULT_ATTEMPTS),
            retry_seconds=60 * int(settings.get("callback_retry_minutes") or DEFAULT_RETRY_MINUTES),
            created_at=now, updated_at=now))
        await self._next_task(unit, callback_id, tenant_id, conversation_id, place.enqueued_at if place else now,
                              place.queue_id if place else None, window_from)
        return callback_id

    async def pending(self, call_id: str) -> str | None:
        """The id of the callback waiting to be dialled as `call_id`, if there is one."""
        async with self._ctx.unit() as unit:
            return (await unit.conn.execute(sa.select(t.callbacks.c.id).where(
                t.callbacks.c.call_id == call_id, t.callbacks.c.state == "waiting"))).scalar_one_or_none()

    async def call_of_task(self, task_id: str) -> str | None:
        """The call id a waiting callback's task will be dialled as (a desk phone rings for it first)."""
        async with self._ctx.unit() as unit:
            return (await unit.conn.execute(sa.select(t.callbacks.c.call_id).where(
                t.callbacks.c.task_id == task_id, t.callbacks.c.state == "waiting"))).scalar_one_or_none()

    async def claim(self, call_id: str, agent_id: str) -> Attempt | None:
        """The callback whose next call is `call_id`, taken up for dialling by the agent its task
        is assigned to (which is also what keeps tenants apart here); None when there is none,
        it is another's, or it is being dialled already."""
        async with self._ctx.unit() as unit:
            row = (await unit.conn.execute(
                sa.select(t.callbacks, t.tasks.c.state.label("task_state"), t.tasks.c.assigned_agent_id)
                .join(t.tasks, t.tasks.c.id == t.callbacks.c.task_id)
                .where(t.callbacks.c.call_id == call_id, t.callbacks.c.state == "waiting"))).first()
            if row is None or row.task_state != "assigned" or row.assigned_agent_id != agent_id:
                return None
            tenant_id = row.tenant_id
            attempt, now = row.attempts + 1, utcnow()
            taken = (await unit.conn.execute(sa.update(t.callbacks).where(
                t.callbacks.c.id == row.id, t.callbacks.c.state == "waiting", t.callbacks.c.call_id == call_id).values(
                state="dialling", attempts=attempt, updated_at=now))).rowcount
            if not taken:  # another tab or process took it first
                return None
            attempt_id = new_id()
            await unit.conn.execute(sa.insert(t.callback_attempts).values(
                id=attempt_id, tenant_id=tenant_id, callback_id=row.id, attempt=attempt, agent_id=agent_id, started_at=now))
            await unit.record("callback.dialling", tenant_id, {
                "conversation_id": row.conversation_id, "callback_id": row.id, "call_id": call_id, "number": row.number,
                "attempt": attempt, "max_attempts": row.max_attempts, "agent_id": agent_id}, conversation_id=row.conversation_id)
            await self._show(unit, row.id)
        return Attempt(row.id, attempt_id, agent_id, row.tenant_id, row.conversation_id, row.task_id, row.number, attempt,
                       row.max_attempts)

    async def answered(self, attempt: Attempt, sip_status: int) -> None:
        async with self._ctx.unit() as unit:
            await self._settle_attempt(unit, attempt, "answered", sip_status)
            await self._set_state(unit, attempt, "connected")

    async def completed(self, attempt: Attempt, talk_seconds: int) -> None:
        """The answered callback's call ended: it is done."""
        async with self._ctx.unit() as unit:
            await unit.conn.execute(sa.update(t.callback_attempts).where(t.callback_attempts.c.id == attempt.attempt_id)
                                    .values(talk_seconds=talk_seconds, ended_at=utcnow()))
            await self._set_state(unit, attempt, "done", outcome="answered")
            await unit.record("callback.completed", attempt.tenant_id, {
                "conversation_id": attempt.conversation_id, "callback_id": attempt.callback_id, "attempts": attempt.attempt,
                "talk_seconds": talk_seconds}, conversation_id=attempt.conversation_id)

    async def missed(self, attempt: Attempt, result: AttemptResult, sip_status: int | None) -> bool:
        """Nobody was reached: another attempt is queued for after the tenant's interval (True),
        or, with no attempts or window left, the callback has failed (False)."""
        async with self._ctx.unit() as unit:
            await self._settle_attempt(unit, attempt, result, sip_status)
            row = (await unit.conn.execute(sa.select(t.callbacks).where(t.callbacks.c.id == attempt.callback_id))).one()
            next_at = utcnow() + timedelta(seconds=row.retry_seconds)
            if row.attempts < row.max_attempts and (row.window_to is None or next_at < row.window_to):
                place = (await unit.conn.execute(sa.select(t.tasks.c.enqueued_at, t.tasks.c.queue_id)
                                                 .where(t.tasks.c.id == attempt.task_id))).one()
                await self._set_state(unit, attempt, "waiting")
                await self._next_task(unit, row.id, row.tenant_id, row.conversation_id, place.enqueued_at, place.queue_id,
                                      next_at)
                return True
            reason = (f"not reached in {row.attempts} attempt{'s' if row.attempts > 1 else ''}"
                      if row.attempts >= row.max_attempts else "its window closed before another attempt")
            await self._set_state(unit, attempt, "failed", outcome=reason)
            await unit.record("callback.failed", attempt.tenant_id, {
                "conversation_id": attempt.conversation_id, "callback_id": attempt.callback_id, "attempts": row.attempts,
                "reason": reason}, conversation_id=attempt.conversation_id)
            return False

    async def expired(self) -> list[str]:
        """Callbacks whose window closed before any agent took them up: expired, their tasks
        returned for the caller to cancel. Each is expired by the first process to get to it."""
        now, tasks = utcnow(), []
        async with self._ctx.unit() as unit:
            rows = (await unit.conn.execute(sa.select(t.callbacks).where(
                t.callbacks.c.state == "waiting", t.callbacks.c.window_to.is_not(None), t.callbacks.c.window_to < now))).all()
            for row in rows:
                taken = (await unit.conn.execute(sa.update(t.callbacks).where(
                    t.callbacks.c.id == row.id, t.callbacks.c.state == "waiting").values(
                    state="expired", outcome="its window closed before it was dialled", updated_at=now))).rowcount
                if not taken:
                    continue
                await unit.record("callback.expired", row.tenant_id, {
                    "conversation_id": row.conversation_id, "callback_id": row.id, "attempts": row.attempts},
                    conversation_id=row.conversation_id)
                await self._show(unit, row.id)
                if row.task_id:
                    tasks.append(row.task_id)
        return tasks

    async def abandoned_attempts(self) -> list[Attempt]:
        """Attempts left 'dialling' longer than any ring lasts: the process placing them stopped
        (crashed) before they were settled. Each is taken by the first process to get to it, and
        its caller settles it as failed (missed), so the callback is tried again or ends."""
        stale_before = utcnow() - timedelta(seconds=ABANDONED_DIALLING_SECONDS)
        found = []
        async with self._ctx.unit() as unit:
            rows = (await unit.conn.execute(sa.select(t.callbacks).where(
                t.callbacks.c.state == "dialling", t.callbacks.c.updated_at < stale_before))).all()
            for row in rows:
                if not (await unit.conn.execute(sa.update(t.callbacks).where(
                        t.callbacks.c.id == row.id, t.callbacks.c.state == "dialling", t.callbacks.c.updated_at == row.updated_at)
                        .values(updated_at=utcnow()))).rowcount:
                    continue
                attempt = (await unit.conn.execute(sa.select(t.callback_attempts).where(
                    t.callback_attempts.c.callback_id == row.id).order_by(t.callback_attempts.c.attempt.desc()).limit(1))).first()
                if attempt is None or row.task_id is None:
                    continue
                found.append(Attempt(row.id, attempt.id, attempt.agent_id or "", row.tenant_id, row.conversation_id, row.task_id,
                                     row.number, row.attempts, row.max_attempts))
        return found

    # ---- the rows ----
    async def _next_task(self, unit: ChannelUnit, callback_id: str, tenant_id: str, conversation_id: str,
                         enqueued_at: datetime, queue_id: str | None, not_before: datetime | None) -> None:
        """The callback's next attempt: a task in the original place (its priority from the queue
        and the contact's tier, as the call's was), and the id its call will have."""
        call_id = new_id()
        task_id = await unit.enqueue_task(tenant_id, conversation_id, queue_id=queue_id, kind="callback",
                                          enqueued_at=enqueued_at, not_before=not_before)
        await unit.conn.execute(sa.update(t.callbacks).where(t.callbacks.c.id == callback_id).values(
            task_id=task_id, call_id=call_id, updated_at=utcnow()))
        # The inbox answers the callback like any call: by the call id in the conversation's attributes.
        await unit.set_attributes(tenant_id, conversation_id, {"call": {"id": call_id}})
        await self._show(unit, callback_id)

    async def _settle_attempt(self, unit: ChannelUnit, attempt: Attempt, result: AttemptResult, sip_status: int | None) -> None:
        await unit.conn.execute(sa.update(t.callback_attempts).where(t.callback_attempts.c.id == attempt.attempt_id).values(
            result=result, sip_status=sip_status, ended_at=None if result == "answered" else utcnow()))
        await unit.record("callback.attempted", attempt.tenant_id, {
            "conversation_id": attempt.conversation_id, "callback_id": attempt.callback_id, "attempt": attempt.attempt,
            "max_attempts": attempt.max_attempts, "result": result, "sip_status": sip_status},
            conversation_id=attempt.conversation_id)

    async def _set_state(self, unit: ChannelUnit, attempt: Attempt, state: str, outcome: str | None = None) -> None:
        values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
        if outcome is not None:
            values["outcome"] = outcome
        await unit.conn.execute(sa.update(t.callbacks).where(t.callbacks.c.id == attempt.callback_id).values(**values))
        await self._show(unit, attempt.callback_id)

    async def _show(self, unit: ChannelUnit, callback_id: str) -> None:
        row = (await unit.conn.execute(sa.select(t.callbacks).where(t.callbacks.c.id == callback_id))).one()
        await unit.set_attributes(row.tenant_id, row.conversation_id, {"callback": _shown(row)})


def _shown(row: Any) -> dict[str, Any]:
    """What the inbox shows of a callback (the conversation's attributes.callback)."""
    return {"id": row.id, "number": row.number, "topic": row.topic, "state": row.state, "attempts": row.attempts,
            "max_attempts": row.max_attempts,
            "window_from": row.window_from.isoformat() if row.window_from else None,
            "window_to": row.window_to.isoformat() if row.window_to else None}

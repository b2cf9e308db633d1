"""Seat usage: what the center bills its client businesses for. Per business (tenant) and agent, over
a range of days:

- logged_in_seconds: time the agent was signed in to work, by the presence the inbox and routing
  recorded (`agent.presence_changed`, written once for each business the agent serves): every state
  but "offline" counts (available, busy, away, wrap-up). The state at the range's start is the last
  one recorded in the LOOKBACK_DAYS before it (none: offline). Up to now, never into the future;
  and no longer than the agent belonged to the business (`member.removed` ends it there).
- work_seconds: time the agent held that business's work, from accepting a task to its end (done,
  cancelled...) or to handing it on (a transfer puts it back in a queue), cut to the range. Work held
  at the same time (three chats) counts once for each task: the billing unit is the task's time.
- handled: tasks of that business the agent accepted within the range.
An agent who serves several businesses appears once for each, with the same logged-in time (they
were available to all of them) and each business's own work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.reports.periods import Period
from gateway.routing.model import TERMINAL_STATES

LOOKBACK_DAYS = 31
ENDS_WORK = (*TERMINAL_STATES, "requeued", "rejected", "offer_timed_out")  # the agent's hold of the work ends


@dataclass
class Seat:
    tenant_id: str
    agent_id: str
    logged_in_seconds: float = 0.0
    work_seconds: float = 0.0
    handled: int = 0


def _span(start: datetime, end: datetime, period: Period, now: datetime) -> float:
    """Seconds of [start, end) inside the period, and not after now."""
    lo, hi = max(start, period.start), min(end, period.end, now)
    return max(0.0, (hi - lo).total_seconds())


async def load(conn: AsyncConnection, period: Period, tenant_id: str | None = None) -> list[Seat]:
    """Every (business, agent) with time or work in the period; one business's only when given."""
    now = datetime.now(timezone.utc)
    seats: dict[tuple[str, str], Seat] = {}

    def seat(tenant: str, agent: str) -> Seat:
        return seats.setdefault((tenant, agent), Seat(tenant, agent))

    e = t.events
    presence = sa.select(e.c.tenant_id, e.c.type, e.c.data, e.c.created_at).where(
        e.c.type.in_(("agent.presence_changed", "member.removed")), e.c.created_at >= period.start - timedelta(days=LOOKBACK_DAYS),
        e.c.created_at < period.end)
    if tenant_id is not None:
        presence = presence.where(e.c.tenant_id == tenant_id)
    changes: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for row in (await conn.execute(presence.order_by(e.c.id))).all():
        removed = row.type == "member.removed"
        agent = (row.data or {}).get("user_id" if removed else "agent_id")
        if row.tenant_id and agent:
            changes[row.tenant_id, agent].append((row.created_at, "offline" if removed else str(row.data.get("status", "offline"))))
    for (tenant, agent), steps in changes.items():
        for (at, status), (until, _) in zip(steps, [*steps[1:], (period.end, "")]):
            if status != "offline":
                seat(tenant, agent).logged_in_seconds += _span(at, until, period, now)

    te = t.task_events
    steps_q = sa.select(te.c.tenant_id, te.c.task_id, te.c.type, te.c.agent_id, te.c.created_at).where(
        te.c.type.in_(("accepted", *ENDS_WORK)), te.c.created_at >= period.start - timedelta(days=LOOKBACK_DAYS),
        te.c.created_at < period.end)
    if tenant_id is not None:
        steps_q = steps_q.where(te.c.tenant_id == tenant_id)
    held: dict[str, tuple[str, str, datetime]] = {}  # task -> (tenant, agent, since)
    for row in (await conn.execute(steps_q.order_by(te.c.id))).all():
        if row.type == "accepted" and row.agent_id:
            held[row.task_id] = (row.tenant_id, row.agent_id, row.created_at)
            if period.start <= row.created_at < period.end:
                seat(row.tenant_id, row.agent_id).handled += 1
        elif row.task_id in held and (row.agent_id in (None, held[row.task_id][1]) or row.type == "requeued"):
            tenant, agent, since = held.pop(row.task_id)
            seat(tenant, agent).work_seconds += _span(since, row.created_at, period, now)
    for tenant, agent, since in held.values():  # still being worked on
        seat(tenant, agent).work_seconds += _span(since, period.end, period, now)
    return [s for s in seats.values() if s.logged_in_seconds or s.work_seconds or s.handled]


def rows(seats: list[Seat], tenants: dict[str, str], agents: dict[str, str]) -> list[dict[str, Any]]:
    """A row per business and agent, by business then agent name; seconds rounded to whole ones."""
    out = [{"tenant_id": s.tenant_id, "tenant": tenants.get(s.tenant_id, s.tenant_id), "agent_id": s.agent_id,
            "agent": agents.get(s.agent_id, s.agent_id), "logged_in_seconds": round(s.logged_in_seconds),
            "work_seconds": round(s.work_seconds), "handled": s.handled} for s in seats]
    return sorted(out, key=lambda r: (r["tenant"].lower(), r["agent"].lower()))

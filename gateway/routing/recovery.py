"""What a rebuild of the routing state needs beyond the rows of `tasks` and `agent_states`: the
parts of the engine's state that only the history (`task_events`) remembers.

- Exclusions: an agent who rejected or missed a task is not offered it again (until a transfer
  clears them, excluding the agent who transferred it).
- Wrap-up deadlines: when a wrap-up ends by itself.
- Offers missed in a row: an agent who misses `max_missed_offers` in a row is set away; a count
  restarts when they accept an offer or change their presence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.db.schema import utcnow

# Misses older than this are not counted towards a streak after a rebuild (bounds the history
# read for agents who have been available all day).
MISS_MEMORY = timedelta(hours=1)
_CHUNK = 500  # task ids per IN (...) query


def replay_exclusions(events: Iterable[Any]) -> set[str]:
    """The agents excluded from one task, from its history in order (as the engine excludes:
    a rejection or a missed offer adds the agent; a transfer clears the set, then adds the agent
    who transferred it away unless that agent is the transfer's target)."""
    excluded: set[str] = set()
    for ev in events:
        if ev.type in ("rejected", "offer_timed_out") and ev.agent_id:
            excluded.add(ev.agent_id)
        elif ev.type == "requeued" and (ev.data or {}).get("reason") == "transfer":
            excluded.clear()
            if ev.agent_id and ev.agent_id != (ev.data or {}).get("to_agent_id"):
                excluded.add(ev.agent_id)
    return excluded


async def task_history(conn: AsyncConnection, task_rows: list[Any]) -> tuple[dict[str, set[str]], dict[str, int]]:
    """(task id -> excluded agents, task id -> wrap-up auto-done time in epoch ms) for live tasks."""
    waiting = [r.id for r in task_rows if r.state in ("queued", "offered")]
    wrapping = [r.id for r in task_rows if r.state == "wrapup"]
    exclusions: dict[str, set[str]] = {}
    for start in range(0, len(waiting), _CHUNK):
        rows = (await conn.execute(
            sa.select(t.task_events.c.task_id, t.task_events.c.type, t.task_events.c.agent_id, t.task_events.c.data)
            .where(t.task_events.c.task_id.in_(waiting[start:start + _CHUNK]),
                   t.task_events.c.type.in_(("rejected", "offer_timed_out", "requeued")))
            .order_by(t.task_events.c.task_id, t.task_events.c.id)
        )).all()
        by_task: dict[str, list[Any]] = {}
        for row in rows:
            by_task.setdefault(row.task_id, []).append(row)
        for task_id, events in by_task.items():
            if excluded := replay_exclusions(events):
                exclusions[task_id] = excluded
    deadlines: dict[str, int] = {}
    for start in range(0, len(wrapping), _CHUNK):
        rows = (await conn.execute(
            sa.select(t.task_events.c.task_id, t.task_events.c.data)
            .where(t.task_events.c.task_id.in_(wrapping[start:start + _CHUNK]), t.task_events.c.type == "wrapup")
            .order_by(t.task_events.c.id)
        )).all()
        for row in rows:  # the last wrap-up of a task wins
            deadline = (row.data or {}).get("auto_done_at_ms")
            if isinstance(deadline, int) and deadline > 0:
                deadlines[row.task_id] = deadline
            else:
                deadlines.pop(row.task_id, None)
    return exclusions, deadlines


async def missed_offer_streaks(conn: AsyncConnection, limit: int) -> dict[str, int]:
    """Agent id -> offers missed in a row (up to `limit`) by available agents: their latest offer
    outcomes since their presence last changed, counted back to the last one they accepted."""
    since = utcnow() - MISS_MEMORY
    ranked = (
        sa.select(
            t.task_events.c.agent_id,
            t.task_events.c.type,
            sa.func.row_number().over(partition_by=t.task_events.c.agent_id, order_by=t.task_events.c.id.desc()).label("rank"),
        )
        .join(t.agent_states, t.agent_states.c.user_id == t.task_events.c.agent_id)
        .where(
            t.agent_states.c.presence == "available",
            t.task_events.c.type.in_(("accepted", "offer_timed_out")),
            t.task_events.c.created_at > t.agent_states.c.updated_at,
            t.task_events.c.created_at > since,
        )
        .subquery()
    )
    rows = (await conn.execute(
        sa.select(ranked.c.agent_id, ranked.c.type).where(ranked.c.rank <= limit).order_by(ranked.c.agent_id, ranked.c.rank)
    )).all()
    streaks: dict[str, int] = {}
    broken: set[str] = set()
    for row in rows:
        if row.agent_id in broken:
            continue
        if row.type == "offer_timed_out":
            streaks[row.agent_id] = streaks.get(row.agent_id, 0) + 1
        else:
            broken.add(row.agent_id)
    return streaks

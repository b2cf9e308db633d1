"""The supervisor's wallboard of one business, right now: per queue what waits and for how long,
and today's offered, handled, abandoned, service level and speed of answer (the traffic report's
definitions, gateway/reports/traffic.py, over today in the business's time zone); per agent their
presence, load and the work they hold. The inbox fetches it again when an event of the business
says something moved (task.*, agent.presence_changed): event-driven, never on a timer.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web

from gateway.db import schema as t
from gateway.keys import DB, ROUTING
from gateway.reports import traffic
from gateway.reports.periods import Period

TODAY_FIGURES = ("offered", "handled", "abandoned", "service_level", "asa_seconds")


async def wallboard(app: web.Application, tenant_id: str) -> dict[str, Any] | None:
    """None when there is no such business."""
    live = await app[ROUTING].snapshot(tenant_id)
    async with app[DB].connect() as conn:
        zone = (await conn.execute(sa.select(t.tenants.c.timezone).where(t.tenants.c.id == tenant_id))).scalar_one_or_none()
        if zone is None:
            return None
        queues = dict((await conn.execute(sa.select(t.queues.c.id, t.queues.c.name).where(t.queues.c.tenant_id == tenant_id)
                                          .order_by(t.queues.c.name))).all())
        today = Period.of(Period.today(zone), Period.today(zone), zone, None)
        works = await traffic.load(conn, tenant_id, today)
        held = [task for agent in live["agents"].values() for task in agent.get("tasks", [])]
        tasks = {row.id: row for row in (await conn.execute(
            sa.select(t.tasks.c.id, t.tasks.c.channel, t.tasks.c.state, t.tasks.c.conversation_id, t.tasks.c.updated_at,
                      t.contacts.c.name.label("contact"))
            .join(t.conversations, t.conversations.c.id == t.tasks.c.conversation_id)
            .join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
            .where(t.tasks.c.tenant_id == tenant_id, t.tasks.c.id.in_(held)))).all()} if held else {}
        names = dict((await conn.execute(sa.select(t.users.c.id, t.users.c.name).where(
            t.users.c.id.in_(list(live["agents"]))))).all()) if live["agents"] else {}
    _, by_queue = traffic.rows(works, today, "queue", {})
    _, whole = traffic.rows(works, today, "tenant", {})
    today_of = {row["key"]: {name: row[name] for name in TODAY_FIGURES} for row in by_queue}
    empty = {name: 0 if name in ("offered", "handled", "abandoned") else None for name in TODAY_FIGURES}
    return {
        "tenant_id": tenant_id,
        "timezone": zone,
        "today": {name: whole[0][name] for name in TODAY_FIGURES} if whole else empty,
        "queues": [{"id": queue_id, "name": name, "waiting": live["queues"].get(queue_id, {}).get("waiting", 0),
                    "longest_wait_ms": live["queues"].get(queue_id, {}).get("longest_wait_ms", 0),
                    "today": today_of.get(queue_id, empty)} for queue_id, name in queues.items()],
        "agents": sorted(({"id": agent_id, "name": names.get(agent_id, ""), "presence": agent.get("presence", "offline"),
                           "load": agent.get("load", {}), "capacity": agent.get("capacity", {}),
                           "work": [{"task_id": task_id, "channel": tasks[task_id].channel, "state": tasks[task_id].state,
                                     "conversation_id": tasks[task_id].conversation_id, "contact": tasks[task_id].contact,
                                     "since": tasks[task_id].updated_at.isoformat()}
                                    for task_id in agent.get("tasks", []) if task_id in tasks]}
                          for agent_id, agent in live["agents"].items()), key=lambda a: a["name"].lower()),
        "agents_by_presence": live["agents_by_presence"],
    }

"""The routing model shared by the engine (Redis) and the durable service (SQL).

A task is one piece of work on one channel; an agent serves one or more tenants with skills
(per tenant) and a capacity per channel (the person's, across all tenants they serve). The engine
decides; the service records every decision in SQL before anyone is told of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CHANNELS = ("chat", "voice", "email", "fax", "callback")
DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, "chat": 3, "email": 5, "fax": 5, "callback": 1}
# By default a live call blocks new chats (and other live work); per tenant configurable.
DEFAULT_BLOCKING: dict[str, tuple[str, ...]] = {"voice": ("chat", "callback"), "callback": ("chat", "voice")}

TaskState = Literal["queued", "offered", "assigned", "wrapup", "done", "abandoned", "timed_out", "cancelled"]
TERMINAL_STATES = ("done", "abandoned", "timed_out", "cancelled")
ACTIVE_STATES = ("queued", "offered", "assigned", "wrapup")
Presence = Literal["offline", "available", "away", "busy", "wrapup"]


@dataclass(frozen=True)
class TaskSpec:
    """What routing needs to know about a task."""

    id: str
    tenant_id: str
    channel: str
    queue_id: str
    priority: int  # 0-9, higher first
    enqueued_ms: int  # original enqueue time: the task's place in line, kept across re-offers
    skills: dict[str, int] = field(default_factory=dict)  # required skill -> minimum level
    preferred_agent_id: str | None = None
    sticky_ms: int = 0  # how long only the preferred agent may be offered the task
    ring_ms: int = 0  # how long each offer of it rings (its tenant's setting); 0: the engine's default


@dataclass(frozen=True)
class AgentSpec:
    id: str
    # tenant id -> skill -> level (an agent's skills belong to each tenant they serve)
    tenants: dict[str, dict[str, int]]
    capacity: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))


@dataclass(frozen=True)
class Transition:
    """One change the engine made, for the service to persist and announce, in order.

    kind: offered | accepted | rejected | offer_timed_out | wrapup | done | cancelled | requeued
          | agent_away (agent_id set away after missing offers; task_id empty)
    """

    kind: str
    task_id: str
    tenant_id: str
    agent_id: str | None = None
    data: dict[str, object] = field(default_factory=dict)

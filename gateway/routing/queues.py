"""Queue settings: what a tenant admin configures per queue and the routing service acts on."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.tenant_settings import read_settings
from gateway.routing.hours import BusinessHours
from gateway.routing.settings import Channel


class QueueSettings(BaseModel):
    """A queue's routing settings, as tenant admins set them and routing reads them."""

    model_config = ConfigDict(extra="forbid")
    sla_seconds: int = Field(60, ge=1, le=7 * 86400)
    # A target of its own for some channels of the queue (an e-mail isn't answered in a minute).
    sla_by_channel: dict[Channel, Annotated[int, Field(ge=1, le=7 * 86400)]] = Field(default_factory=dict)
    default_priority: int = Field(0, ge=0, le=9)
    required_skills: dict[str, int] = Field(default_factory=dict)
    # Opening hours; outside them new work gets a task.queue_closed event its channel acts on.
    hours: BusinessHours | None = None
    # After this long in the queue, waiting work moves to the overflow queue (keeping its place).
    overflow_after_seconds: int | None = Field(None, ge=1, le=7 * 86400)
    overflow_queue_id: str | None = None
    # After this long in the queue, waiting work requires relaxed_skills instead (lower levels, or
    # fewer skills; {} = none), so more agents may take it; it keeps its place in line.
    relax_skills_after_seconds: int | None = Field(None, ge=1, le=7 * 86400)
    relaxed_skills: dict[str, int] | None = None
    # After this long, a task.max_wait_reached event lets the channel offer a way out
    # (chat: leave a message; voice: a callback).
    max_wait_seconds: int | None = Field(None, ge=1, le=7 * 86400)


async def opening_hours(conn: AsyncConnection, tenant_id: str, settings: QueueSettings | None) -> BusinessHours | None:
    """A queue's business hours: its own, else its tenant's (None: always open)."""
    if settings is not None and settings.hours is not None:
        return settings.hours
    hours = ((await read_settings(conn, tenant_id)) or {}).get("hours")
    return BusinessHours.model_validate(hours) if hours else None

"""What channels say of their links to the outside (a SIP trunk registered or answering, ...), for
the operator's channel-health view. A channel reports its whole list now and then
(ChannelContext.report_health); it is kept in Redis so every gateway process answers the same, and
expires when the reporting process stops reporting (a report that old says nothing any more)."""

from __future__ import annotations

import json
import time
from typing import Any, Literal, TypedDict

from redis.asyncio import Redis

_KEY = "wecc:channel-health:"

HealthState = Literal["ok", "failing", "checking", "unchecked"]


class HealthItem(TypedDict):
    kind: str  # e.g. "sip_trunk"
    name: str
    state: HealthState
    detail: str  # what is wrong, or what was measured, in words for the operator
    checked_at: float  # unix time


async def report(redis: Redis, channel: str, items: list[HealthItem], *, valid_seconds: int) -> None:
    await redis.set(_KEY + channel, json.dumps({"reported_at": time.time(), "items": items}), ex=valid_seconds)


async def read(redis: Redis, channels: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each channel's last report that is still valid, by channel name."""
    if not channels:
        return {}
    raw = await redis.mget([_KEY + name for name in channels])
    return {name: json.loads(value)["items"] for name, value in zip(channels, raw) if value is not None}

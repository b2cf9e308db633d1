"""What channels say of their links to the outside (a SIP trunk registered or answering, ...), for
the operator's channel-health view. Each gateway process reports its channel's whole list now and
then (ChannelContext.report_health), under a key of its own in Redis, so every process answers the
same and two processes' reports never overwrite each other; a report expires when its process
stops reporting (a report that old says nothing any more)."""

from __future__ import annotations

import json
import os
import socket
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


_NODE = f"{socket.gethostname()}:{os.getpid()}"


async def report(redis: Redis, channel: str, items: list[HealthItem], *, valid_seconds: int) -> None:
    await redis.set(f"{_KEY}{channel}:{_NODE}", json.dumps(items), ex=valid_seconds)


async def read(redis: Redis, channels: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each channel's reports that are still valid, every process's, by channel name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name in channels:
        keys = [key async for key in redis.scan_iter(match=f"{_KEY}{name}:*", count=100)]
        for value in await redis.mget(keys) if keys else []:
            if value is not None:
                found.setdefault(name, []).extend(json.loads(value))
    return found

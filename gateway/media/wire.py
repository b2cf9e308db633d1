"""How the gateway and a media worker talk: JSON objects, one per line, over a Unix socket.

- request  {"id": 7, "op": "open_leg", "args": {...}}
- response {"id": 7, "result": ...} or {"id": 7, "error": "a message for people"}
- event    {"event": {"call_id": ..., "leg_id": ..., "kind": ..., "detail": ...}}  (worker → gateway)

A Unix socket rather than multiprocessing's pipes: it is read with asyncio's own streams, so no
thread or blocking call is needed on either side, and a dead worker shows as the end of the stream.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

# An SDP is a few kB; this leaves room for many candidates without letting a line grow unbounded.
LINE_LIMIT = 1024 * 1024


async def send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None when the other side has gone."""
    try:
        line = await reader.readline()
    except (ConnectionError, asyncio.IncompleteReadError):
        return None
    if not line:
        return None
    return json.loads(line)

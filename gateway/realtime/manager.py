"""socket.io's Redis manager with a lifecycle the gateway controls.

python-socketio starts the manager's Redis listener on the first client connection and never stops
it. Here the gateway starts it once Redis is up (the embedded redis-server only exists after the
Redis cleanup context has started it) — so emits from other processes are heard from the start —
and stops it at shutdown: the listener task is cancelled and both Redis connections are closed.
Works with redis://, rediss:// and unix:// URLs (redis-py's `Redis.from_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio

log = logging.getLogger(__name__)


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": 5})
        self._closed = False

    async def start(self, server: socketio.AsyncServer, timeout: float = 5.0) -> None:
        """Start listening now instead of on the first connection; wait until subscribed."""
        server.manager_initialized = True  # what AsyncServer does itself on its first connection
        self.initialize()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.pubsub is not None and self.pubsub.subscribed):
            if loop.time() > deadline:
                log.warning("socket.io Redis listener not subscribed yet; it keeps retrying in the background")
                return
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        self._closed = True
        task = getattr(self, "thread", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        self.connected = False

    async def _publish(self, data: Any) -> Any:
        # After close() the parent would quietly open a new connection that nobody closes.
        if self._closed:
            return None
        return await super()._publish(data)

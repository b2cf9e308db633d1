"""socket.io's Redis manager with a lifecycle the gateway controls.

python-socketio starts the manager's Redis listener on the first client connection and never stops
it. Here the gateway starts it once Redis is up (the embedded redis-server only exists after the
Redis cleanup context has started it) — so emits from other processes are heard from the start —
and stops it at shutdown: the listener task is cancelled and both Redis connections are closed.
Works with redis://, rediss:// and unix:// URLs (redis-py's `Redis.from_url`).

Emits to the other processes are sent by one task, every message waiting at that moment in one
pipelined round trip, in order: an event reaches this process's sockets at once and the handler
that emitted does not wait on Redis (a chat line emits three times: agents, supervisors, visitor).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio

log = logging.getLogger(__name__)

CLOSE_FLUSH_SECONDS = 5.0


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": 5})
        self._closed = False
        self._outbox: list[Any] = []
        self._sender: asyncio.Task[None] | None = None

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
        if self._sender is not None:
            # What was emitted before shutdown still reaches the other processes, unless Redis
            # does not answer: shutdown must not hang on it.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._sender), CLOSE_FLUSH_SECONDS)
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
        if self._sender is not None:
            self._sender.cancel()  # still stuck on a Redis that never answered
        self.connected = False

    async def _publish(self, data: Any) -> None:
        # After close() the parent would quietly open a new connection that nobody closes.
        if self._closed:
            return
        self._outbox.append(data)
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_outbox())

    async def _send_outbox(self) -> None:
        try:
            while self._outbox and not self._closed:
                batch, self._outbox = self._outbox, []
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[Any]) -> None:
        for attempt in (1, 2):  # a dropped connection is opened anew once, as the parent does
            try:
                if not self.connected:
                    self._redis_connect()
                async with self.redis.pipeline(transaction=False) as pipe:
                    for data in batch:
                        pipe.publish(self.channel, self.json.dumps(data))
                    await pipe.execute()
                return
            except Exception as exc:  # noqa: BLE001 - any Redis failure; logged, never raised into emit
                self.connected = False
                log.error("cannot publish %d socket.io messages to Redis (attempt %d of 2): %s", len(batch), attempt, exc)

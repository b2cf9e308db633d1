"""The socket.io server: created with the app (its routes must exist before the app starts),
connected to Redis in a cleanup context once Redis is up, and stopped in order at shutdown —
clients told and disconnected, background tasks ended, Redis connections closed — so that
`runner.cleanup()` neither waits for open WebSockets nor leaves tasks behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import engineio
import socketio
from aiohttp import web

from gateway.config import Config
from gateway.embedded_redis import EmbeddedRedis
from gateway.keys import CONFIG, DB, EVENTS, SOCKETS
from gateway.realtime import cobrowse
from gateway.realtime.agent import AgentNamespace
from gateway.realtime.forwarder import Forwarder
from gateway.realtime.manager import RedisManager
from gateway.realtime.supervisor import SupervisorNamespace
from gateway.realtime.visitor import VisitorNamespace

log = logging.getLogger(__name__)

SOCKET_PATH = "socket.io"


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engine.io's server, keeping hold of the background tasks it starts (socket.io's event
    handlers, the Redis listener, per-client ping timers) so they can be ended at shutdown."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.background_tasks: set[asyncio.Task[Any]] = set()

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = super().start_background_task(target, *args, **kwargs)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)
        return task


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    async def disconnect_everyone(self) -> None:
        sockets = list(self.eio.sockets.values())
        if not sockets:
            return
        # Each client is told "closing" (engine.io CLOSE packet) and the disconnect handlers run;
        # close(wait=False) does not wait for that packet to be sent: a long-polling client with
        # no request in flight, or one that just vanished, would never take it and the shutdown
        # would hang (engine.io's own disconnect() waits). During shutdown aiohttp no longer reads
        # from connections either, so a client's WebSocket close would never be seen: ending
        # engine.io's writer closes the WebSocket from our side (a pending long poll just returns).
        await asyncio.gather(*(socket.close(wait=False, reason=self.eio.reason.SERVER_DISCONNECT) for socket in sockets),
                             return_exceptions=True)
        for socket in sockets:
            socket.queue.put_nowait(None)
        self.eio.sockets = {}

    async def stop(self) -> None:
        await self.disconnect_everyone()
        await self.shutdown()  # engine.io's ping-timeout monitor
        tasks = list(self.eio.background_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def create_socket_server(config: Config) -> SocketServer:
    # The embedded redis-server's URL is known before it runs; the manager connects at start.
    redis_url = config.redis.url or EmbeddedRedis(config.data_dir).url
    return SocketServer(
        async_mode="aiohttp",
        client_manager=RedisManager(redis_url, config.realtime.channel),
        # Origins are checked per namespace: visitors against their tenant's allowed origins,
        # staff against the gateway's own. No credentialed CORS: the widget sends no cookies.
        cors_allowed_origins="*",
        cors_credentials=False,
        max_http_buffer_size=config.realtime.max_message_bytes,
        logger=False,
        engineio_logger=False,
    )


async def _on_shutdown(app: web.Application) -> None:
    # Runs before aiohttp waits for in-flight requests: open WebSockets and long polls are
    # requests too, and would hold the shutdown until its timeout.
    await app[SOCKETS].disconnect_everyone()


async def realtime_ctx(app: web.Application) -> AsyncIterator[None]:
    server = app[SOCKETS]
    manager: RedisManager = server.manager
    await manager.start(server)
    forwarder = Forwarder(server, app[DB])
    app[EVENTS].subscribe(forwarder.on_event)
    app[EVENTS].subscribe(cobrowse.ConversationWatch(app, server).on_event)
    yield
    forwarder.closed = True
    await server.stop()
    await manager.close()


def setup_realtime(app: web.Application) -> None:
    """Call after the Redis and database cleanup contexts are registered."""
    server = create_socket_server(app[CONFIG])
    for namespace in (AgentNamespace(app), SupervisorNamespace(app), VisitorNamespace(app)):
        server.register_namespace(namespace)
    server.attach(app, socketio_path=SOCKET_PATH)
    app[SOCKETS] = server
    app.on_shutdown.append(_on_shutdown)
    app.cleanup_ctx.append(realtime_ctx)

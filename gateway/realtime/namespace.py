"""What the three namespaces share: the application they serve, the connection gauge, a hook
before every client event (the visitor's rate limit), and a handler crash answered with an error
ack instead of a silent background-task traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from gateway.keys import METRICS
from gateway.realtime.payloads import Ack, error

log = logging.getLogger(__name__)

_LIFECYCLE = ("connect", "disconnect")


class GatewayNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, namespace: str, app: web.Application) -> None:
        super().__init__(namespace)
        self.app = app

    def connected(self) -> None:
        """Call at the very end of a successful on_connect."""
        self.app[METRICS].socket_connections.labels(self.namespace).inc()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.app[METRICS].socket_connections.labels(self.namespace).dec()

    async def before_event(self, sid: str, event: str) -> Ack | None:
        """Runs before every client event: an ack to answer instead, or None to go on."""
        return None

    def handler_for(self, event: str) -> Callable[[str, Any], Awaitable[Ack]] | None:
        """A handler for an event this namespace has no on_<event> for (one a channel adds)."""
        return None

    async def trigger_event(self, event: str, *args: Any) -> Any:
        sid = args[0]
        if not isinstance(event, str):
            return error("invalid", "the event name must be a string")
        if event in _LIFECYCLE:
            # The server runs these while the client is connecting or disconnecting; a connected
            # client sending an event *named* "connect" or "disconnect" must not reach them.
            if self.server.manager.is_connected(sid, self.namespace):
                return error("unknown_event", f"{event!r} is reserved")
            return await super().trigger_event(event, *args)
        if not self.server.manager.is_connected(sid, self.namespace):
            # Sent as the socket went away (a tab closing): its session is gone, nobody to answer.
            return error("disconnected", "this connection has ended")
        try:
            refusal = await self.before_event(sid, event)
            if refusal is not None:
                return refusal
            if len(args) > 2:
                return error("invalid", "send one payload object")
            if hasattr(self, f"on_{event}"):
                return await super().trigger_event(event, *args)
            handler = self.handler_for(event)
            if handler is None:
                return error("unknown_event", f"no such event {event[:64]!r}")
            return await handler(sid, args[1] if len(args) > 1 else None)
        except Exception:
            if not self.server.manager.is_connected(sid, self.namespace):
                # It went away while the handler ran (a page navigating on): its session went with it.
                log.debug("socket left while its event ran", exc_info=True, extra={"namespace": self.namespace, "event": event[:64]})
                return error("disconnected", "this connection has ended")
            log.exception("socket event handler failed", extra={"namespace": self.namespace, "event": event[:64]})
            return error("internal_error", "something went wrong on our side")

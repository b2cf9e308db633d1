"""Agent and visitor events about something one gateway process holds, sent to that process.

A call's media lives in the process that took the caller's offer (its media workers are that
process's children). With several gateway processes behind a load balancer the agent who answers
may be connected to another one, and a caller whose socket reconnected after a network blip may
be too. A channel says which object an event is about (Channel.held_object) and registers the
objects it holds (ChannelContext.hold); the registry then runs the event where the object is,
forwarding it over Redis pub/sub when that is elsewhere and waiting for the answer. The forwarding
process has checked the sender (an agent's session; a visitor's widget key, origin and rate
limit) and sends who it is; the holding process loads an agent's principal again by user id (so a
disabled account is refused there too).

Written by hand: python-socketio's Redis manager carries emits to rooms, not requests that await
an answer, and no small library does request/response over Redis pub/sub for asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)

# An object's holder is kept this long unless renewed (ChannelContext.hold is called again): a
# process that died stops being named after a while.
HOLD_SECONDS = 120
REPLY_TIMEOUT_SECONDS = 15.0
_PREFIX = "wecc:held:"

# (event, who sent it, payload) -> the ack, run in the holding process. `who` is
# {"kind": "agent", "user_id"} or {"kind": "visitor", "tenant_id", "visitor_id", "user_id", "ip"}.
Runner = Callable[[str, dict[str, Any], Any], Awaitable[dict[str, Any]]]


class Forwarding:
    def __init__(self, redis: Redis, run: Runner) -> None:
        self._redis = redis
        self._run = run
        self.process_id = uuid.uuid4().hex
        self._requests = f"wecc:forward:{self.process_id}"
        self._replies = f"wecc:forward-reply:{self.process_id}"
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._serving: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._requests, self._replies)
        self._listener = asyncio.create_task(self._listen(), name="forwarding")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for task in list(self._serving):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # Redis may be gone already
                await self._pubsub.aclose()
        for waiting in self._waiting.values():
            waiting.cancel()

    # ---- who holds what ----
    async def hold(self, key: str) -> None:
        await self._redis.set(_PREFIX + key, self.process_id, ex=HOLD_SECONDS)

    async def release(self, key: str) -> None:
        # Only our own claim: another process may have taken the key over meanwhile.
        if await self._redis.get(_PREFIX + key) == self.process_id:
            await self._redis.delete(_PREFIX + key)

    async def holder(self, key: str) -> str | None:
        return await self._redis.get(_PREFIX + key)

    # ---- requests ----
    async def forward(self, holder: str, event: str, who: dict[str, Any], data: Any) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        waiting = self._waiting[request_id] = asyncio.get_running_loop().create_future()
        try:
            message = {"id": request_id, "event": event, "who": who, "data": data, "reply_to": self._replies}
            if not await self._redis.publish(f"wecc:forward:{holder}", json.dumps(message)):
                return _gone()
            return await asyncio.wait_for(waiting, REPLY_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            return _gone()
        finally:
            self._waiting.pop(request_id, None)

    async def _listen(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                async for message in self._pubsub.listen():
                    self._received(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: try again (redis-py subscribes anew on reconnecting)
                log.warning("forwarding lost its Redis connection; retrying", exc_info=True)
                await asyncio.sleep(1)

    def _received(self, message: dict[str, Any]) -> None:
        try:
            body = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        if message["channel"] == self._replies:
            waiting = self._waiting.get(body.get("id"))
            if waiting is not None and not waiting.done():
                waiting.set_result(body.get("ack") or {})
        else:
            task = asyncio.create_task(self._serve(body))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _serve(self, request: dict[str, Any]) -> None:
        try:
            ack = await self._run(str(request["event"]), dict(request["who"]), request.get("data"))
        except Exception:
            log.exception("a forwarded event failed", extra={"event": str(request.get("event"))[:64]})
            ack = {"ok": False, "code": "internal_error", "message": "something went wrong on our side"}
        with contextlib.suppress(Exception):
            await self._redis.publish(str(request["reply_to"]), json.dumps({"id": request.get("id"), "ack": ack}))


def _gone() -> dict[str, Any]:
    return {"ok": False, "code": "unavailable", "message": "the gateway process carrying this did not answer; try again"}

"""/agent: the inbox's live connection. Authenticated by the login session cookie; the agent is in
`tenant:{id}` for every tenant they may read and in `agent:{user_id}`, and joins
`conversation:{id}` rooms on request after a tenant check.

Client events (each answers with an ack):
  join_conversation  {"conversation_id", "view"?: true} -> {"ok": true, "viewers"} | {"ok": false, "code": "not_found"}
                     joining is viewing (unless view is false): the conversation's agents get
                     conversation.viewers {conversation_id, viewers}
  leave_conversation {"conversation_id"}  -> {"ok": true}
  receipt            {"conversation_id", "message_id", "status": "delivered" | "read"} -> {"ok": true}
  presence           {"status": "available" | "away" | "busy" | "offline", "reason"?} -> {"ok": true, "status"}
  typing             {"conversation_id", "typing": bool} -> {"ok": true} (the customer sees it)
  transfer_task      {"task_id", "queue_id" | "agent_id", "note"?} -> {"ok": true, "task_id"}
  accept_task / reject_task {"task_id"}; wrapup_task / complete_task {"task_id", "wrapup_code"?, "note"?}
                     -> {"ok": true, "task_id"} | {"ok": false, "code": "not_offered" | "wrapup_code_required" | ...}
  cobrowse_request / _claim / _join / _pointer / _control / _action / _stop: co-browsing
  (gateway/realtime/cobrowse.py)
The routing service offers work with the `task.offered` event to `agent:{user_id}`. Other events
come from the enabled channels (Channel.agent_events), e.g. a call's answer and hold.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from socketio.exceptions import ConnectionRefusedError

from gateway.auth.principal import CONVERSATIONS_READ, Principal
from gateway.channel import AgentCall
from gateway.db import schema as t
from gateway.events.bus import ephemeral_event
from gateway.core import receipts, wrapup
from gateway.keys import CHANNELS, DB, EVENTS, REDIS, ROUTING
from gateway.realtime import agent_tabs, cobrowse
from gateway.realtime.handshake import is_own_origin, session_token, staff_principal
from gateway.realtime.namespace import GatewayNamespace
from gateway.realtime.payloads import (
    Ack, ConversationRef, FinishTask, JoinConversation, Presence, Receipt, TaskRef, Transfer, Typing, error, ok, parse,
)
from gateway.routing.engine import RoutingConflict
from gateway.realtime.rooms import agent_room, conversation_room, tenant_room
from gateway.realtime.viewers import Viewers, viewers_event

NAMESPACE = "/agent"


class AgentNamespace(GatewayNamespace):
    def __init__(self, app: web.Application) -> None:
        super().__init__(NAMESPACE, app)

    @property
    def _viewers(self) -> Viewers:
        return Viewers(self.app[REDIS])

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not is_own_origin(self.app, environ):
            raise ConnectionRefusedError("connect from the inbox page itself")
        token = session_token(environ)
        principal = await staff_principal(self.app, token)
        if principal is None or principal.user_id is None:
            raise ConnectionRefusedError("log in first: no valid wecc_session cookie")
        for tenant_id in principal.tenant_ids(CONVERSATIONS_READ):
            await self.enter_room(sid, tenant_room(tenant_id))
        await self.enter_room(sid, agent_room(principal.user_id))
        # The cookie stays in this process's memory only, to re-check the session on each request.
        await self.save_session(sid, {"token": token, "user_id": principal.user_id})
        await agent_tabs.opened(self.app, principal.user_id, sid)
        self.connected()

    async def _principal(self, sid: str) -> Principal | None:
        """Looked up afresh: a logout, a disabled account or a removed membership takes effect
        on the next request, not at the next reconnect."""
        session = await self.get_session(sid)
        principal = await staff_principal(self.app, session.get("token"))
        if principal is None or principal.user_id != session.get("user_id"):
            return None
        return principal

    async def _readable(self, sid: str, conversation_id: str) -> tuple[Principal, str] | Ack:
        """(the agent, the conversation's tenant) when this agent may read it, else the error ack
        — the same whether it does not exist or belongs to a tenant the agent can't read."""
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        async with self.app[DB].connect() as conn:
            tenant_id = (
                await conn.execute(sa.select(t.conversations.c.tenant_id).where(t.conversations.c.id == conversation_id))
            ).scalar_one_or_none()
        if tenant_id is None or not principal.can(tenant_id, CONVERSATIONS_READ):
            return error("not_found", "conversation not found")
        return principal, tenant_id

    async def on_join_conversation(self, sid: str, data: Any = None) -> Ack:
        ref = parse(JoinConversation, data)
        if isinstance(ref, dict):
            return ref
        readable = await self._readable(sid, ref.conversation_id)
        if isinstance(readable, dict):
            return readable
        principal, tenant_id = readable
        await self.enter_room(sid, conversation_room(ref.conversation_id))
        if not ref.view:
            await self._stop_viewing(sid, ref.conversation_id)
            return ok(viewers=await self._viewers.of(ref.conversation_id))
        assert principal.user_id is not None
        name = await self._name(principal.user_id)
        viewers = await self._viewers.join(ref.conversation_id, sid, principal.user_id, name)
        await self.app[EVENTS].publish(viewers_event(tenant_id, ref.conversation_id, viewers))
        return ok(viewers=viewers)

    async def _name(self, user_id: str) -> str:
        async with self.app[DB].connect() as conn:
            return (await conn.execute(sa.select(t.users.c.name).where(t.users.c.id == user_id))).scalar_one_or_none() or ""

    async def _stop_viewing(self, sid: str, conversation_id: str) -> None:
        viewers = await self._viewers.leave(conversation_id, sid)
        if viewers is None:
            return
        async with self.app[DB].connect() as conn:
            tenant_id = (await conn.execute(sa.select(t.conversations.c.tenant_id).where(
                t.conversations.c.id == conversation_id))).scalar_one_or_none()
        if tenant_id is not None:
            await self.app[EVENTS].publish(viewers_event(tenant_id, conversation_id, viewers))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        user_id = (await self.get_session(sid)).get("user_id")
        if user_id and await agent_tabs.closed(self.app, user_id, sid):
            self.server.start_background_task(agent_tabs.offline_if_still_gone, self.app, user_id)
        prefix = conversation_room("")
        for room in self.rooms(sid):
            if room.startswith(prefix):
                await self._stop_viewing(sid, room[len(prefix):])

    async def on_receipt(self, sid: str, data: Any = None) -> Ack:
        """{"conversation_id", "message_id", "status": "delivered" | "read"}: the agents have got or
        read the customer's messages up to message_id; the customer sees the ticks."""
        payload = parse(Receipt, data)
        if isinstance(payload, dict):
            return payload
        readable = await self._readable(sid, payload.conversation_id)
        if isinstance(readable, dict):
            return readable
        _, tenant_id = readable
        try:
            async with self.app[DB].begin() as conn:
                moved = await receipts.mark(conn, tenant_id, payload.conversation_id, "agent", payload.message_id, payload.status)
        except receipts.UnknownMessage:
            return error("not_found", "message not found in this conversation")
        if moved is not None:
            await self.app[EVENTS].publish(receipts.receipt_event(tenant_id, payload.conversation_id, "agent", payload.message_id, payload.status))
        return ok()

    # ---- co-browsing (gateway/realtime/cobrowse.py) ----
    async def on_cobrowse_request(self, sid: str, data: Any = None) -> Ack:
        readable = await self._readable(sid, _conversation_of(data))
        if isinstance(readable, dict):
            return readable
        return await cobrowse.request(self.app, *readable, data)

    async def on_cobrowse_claim(self, sid: str, data: Any = None) -> Ack:
        readable = await self._readable(sid, _conversation_of(data))
        if isinstance(readable, dict):
            return readable
        claimed = await cobrowse.claim(self.app, self.server, *readable, data)
        if claimed.get("ok"):
            await self.enter_room(sid, cobrowse.session_room(claimed["session_id"]))
        return claimed

    async def on_cobrowse_join(self, sid: str, data: Any = None) -> Ack:
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        return await cobrowse.join(self.app, principal, data, lambda room: self.enter_room(sid, room))

    async def on_cobrowse_pointer(self, sid: str, data: Any = None) -> Ack:
        # Many a second while the agent points: the room (entered through cobrowse_join's checks) is the pass.
        return await cobrowse.pointer(self.app, self.server, self._watching(sid), data)

    async def on_cobrowse_control(self, sid: str, data: Any = None) -> Ack:
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        return await cobrowse.control(self.app, self.server, principal, data)

    async def on_cobrowse_action(self, sid: str, data: Any = None) -> Ack:
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        return await cobrowse.action(self.app, self.server, principal, self._watching(sid), data)

    async def on_cobrowse_stop(self, sid: str, data: Any = None) -> Ack:
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        return await cobrowse.agent_stop(self.app, self.server, principal, data)

    def _watching(self, sid: str) -> set[str]:
        """The co-browsing sessions this socket joined."""
        prefix = cobrowse.session_room("")
        return {room[len(prefix):] for room in self.rooms(sid) if room.startswith(prefix)}

    async def on_typing(self, sid: str, data: Any = None) -> Ack:
        """{"conversation_id", "typing"}: the customer and colleagues on it see the agent typing."""
        typing = parse(Typing, data)
        if isinstance(typing, dict):
            return typing
        readable = await self._readable(sid, typing.conversation_id)
        if isinstance(readable, dict):
            return readable
        principal, tenant_id = readable
        await self.app[EVENTS].publish(ephemeral_event(
            "conversation.typing", tenant_id,
            {"conversation_id": typing.conversation_id, "author_type": "agent", "author_id": principal.user_id, "typing": typing.typing},
            conversation_id=typing.conversation_id, audience="public"))
        return ok()

    async def on_leave_conversation(self, sid: str, data: Any = None) -> Ack:
        ref = parse(ConversationRef, data)
        if isinstance(ref, dict):
            return ref
        await self.leave_room(sid, conversation_room(ref.conversation_id))
        await self._stop_viewing(sid, ref.conversation_id)
        return ok()

    async def on_presence(self, sid: str, data: Any = None) -> Ack:
        presence = parse(Presence, data)
        if isinstance(presence, dict):
            return presence
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        assert principal.user_id is not None
        await self.app[ROUTING].set_presence(principal.user_id, presence.status, presence.reason)
        return ok(status=presence.status)

    async def _task_step(self, sid: str, data: Any, step: str) -> Ack:
        ref = parse(FinishTask if step in ("wrapup", "complete") else TaskRef, data)
        if isinstance(ref, dict):
            return ref
        principal = await self._principal(sid)
        if principal is None or principal.user_id is None:
            return error("unauthenticated", "your session has ended; log in again")
        if isinstance(ref, FinishTask):
            refused = await self._sum_up(ref, principal.user_id, completing=step == "complete")
            if refused is not None:
                return refused
        # The engine checks the task is offered to / held by this very agent, which also keeps
        # every agent to the tenants they serve: nothing is ever offered across tenants.
        try:
            await getattr(self.app[ROUTING], step)(ref.task_id, principal.user_id)
        except RoutingConflict as exc:
            return error(exc.code, str(exc))
        return ok(task_id=ref.task_id)

    async def _sum_up(self, finish: FinishTask, user_id: str, *, completing: bool) -> Ack | None:
        """Keeps the agent's wrap-up code and note, and holds back completing work the tenant wants
        a code for. An error ack, or None to go on."""
        async with self.app[DB].begin() as conn:
            task = (await conn.execute(sa.select(t.tasks).where(
                t.tasks.c.id == finish.task_id, t.tasks.c.assigned_agent_id == user_id))).first()
            if task is None:
                return None  # not this agent's: the routing step answers why
            try:
                event = None
                if finish.wrapup_code is not None or finish.note:
                    event = await wrapup.record_code(conn, task, user_id, finish.wrapup_code, finish.note)
                if completing:
                    await wrapup.check_can_complete(conn, task)
            except wrapup.WrapupRefused as exc:
                return error(exc.code, str(exc))
        if event is not None:
            await self.app[EVENTS].publish(event)
        return None

    def handler_for(self, event: str) -> Callable[[str, Any], Awaitable[Ack]] | None:
        """Events the enabled channels answer (a call's signalling...), see Channel.agent_events."""
        registry = self.app[CHANNELS]
        if event not in registry.agent_handlers:
            return None

        async def run(sid: str, data: Any) -> Ack:
            principal = await self._principal(sid)
            if principal is None or principal.user_id is None:
                return error("unauthenticated", "your session has ended; log in again")
            return await registry.run_agent_event(event, AgentCall(principal.user_id, principal, sid), data)

        return run

    async def on_transfer_task(self, sid: str, data: Any = None) -> Ack:
        """{"task_id", "queue_id" | "agent_id", "note"?}: hand held work on, keeping its place."""
        transfer = parse(Transfer, data)
        if isinstance(transfer, dict):
            return transfer
        principal = await self._principal(sid)
        if principal is None or principal.user_id is None:
            return error("unauthenticated", "your session has ended; log in again")
        try:
            await self.app[ROUTING].transfer(transfer.task_id, principal.user_id, queue_id=transfer.queue_id,
                                             agent_id=transfer.agent_id, note=transfer.note)
        except RoutingConflict as exc:
            return error(exc.code, str(exc))
        return ok(task_id=transfer.task_id)

    async def on_accept_task(self, sid: str, data: Any = None) -> Ack:
        return await self._task_step(sid, data, "accept")

    async def on_reject_task(self, sid: str, data: Any = None) -> Ack:
        return await self._task_step(sid, data, "reject")

    async def on_wrapup_task(self, sid: str, data: Any = None) -> Ack:
        return await self._task_step(sid, data, "wrapup")

    async def on_complete_task(self, sid: str, data: Any = None) -> Ack:
        return await self._task_step(sid, data, "complete")


def _conversation_of(data: Any) -> str:
    conversation_id = data.get("conversation_id") if isinstance(data, dict) else None
    return conversation_id if isinstance(conversation_id, str) else ""

"""/agent: the inbox's live connection. Authenticated by the login session cookie; the agent is in
`tenant:{id}` for every tenant they may read and in `agent:{user_id}`, and joins
`conversation:{id}` rooms on request after a tenant check.

Client events (each answers with an ack):
  join_conversation  {"conversation_id"}  -> {"ok": true} | {"ok": false, "code": "not_found"}
  leave_conversation {"conversation_id"}  -> {"ok": true}
  presence           {"status": "available" | "away" | "offline"} -> {"ok": true, "status"}
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web
from socketio.exceptions import ConnectionRefusedError

from gateway.auth.principal import CONVERSATIONS_READ, Principal
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import DB, EVENTS
from gateway.realtime.handshake import is_own_origin, session_token, staff_principal
from gateway.realtime.namespace import GatewayNamespace
from gateway.realtime.payloads import Ack, ConversationRef, Presence, error, ok, parse
from gateway.realtime.rooms import agent_room, conversation_room, tenant_room

NAMESPACE = "/agent"


class AgentNamespace(GatewayNamespace):
    def __init__(self, app: web.Application) -> None:
        super().__init__(NAMESPACE, app)

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
        self.connected()

    async def _principal(self, sid: str) -> Principal | None:
        """Looked up afresh: a logout, a disabled account or a removed membership takes effect
        on the next request, not at the next reconnect."""
        session = await self.get_session(sid)
        principal = await staff_principal(self.app, session.get("token"))
        if principal is None or principal.user_id != session.get("user_id"):
            return None
        return principal

    async def on_join_conversation(self, sid: str, data: Any = None) -> Ack:
        ref = parse(ConversationRef, data)
        if isinstance(ref, dict):
            return ref
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        async with self.app[DB].connect() as conn:
            tenant_id = (
                await conn.execute(sa.select(t.conversations.c.tenant_id).where(t.conversations.c.id == ref.conversation_id))
            ).scalar_one_or_none()
        # The same answer whether it does not exist or belongs to a tenant the agent can't read.
        if tenant_id is None or not principal.can(tenant_id, CONVERSATIONS_READ):
            return error("not_found", "conversation not found")
        await self.enter_room(sid, conversation_room(ref.conversation_id))
        return ok()

    async def on_leave_conversation(self, sid: str, data: Any = None) -> Ack:
        ref = parse(ConversationRef, data)
        if isinstance(ref, dict):
            return ref
        await self.leave_room(sid, conversation_room(ref.conversation_id))
        return ok()

    async def on_presence(self, sid: str, data: Any = None) -> Ack:
        presence = parse(Presence, data)
        if isinstance(presence, dict):
            return presence
        principal = await self._principal(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        events = []
        async with self.app[DB].begin() as conn:
            for tenant_id in sorted(principal.tenants):
                events.append(await record_event(
                    conn, "agent.presence_changed", tenant_id, {"agent_id": principal.user_id, "status": presence.status},
                    actor=f"user:{principal.user_id}",
                ))
        await self.app[EVENTS].publish(*events)
        return ok(status=presence.status)

"""/supervisor: every event of the tenants the user supervises (`tenant:{id}` rooms), for the live
queue and agent views. Needs the `supervise` permission on at least one tenant.

Client events: queue_snapshot {"tenant_id"} -> {"ok": true, "queues", "agents", "agents_by_presence"}"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from socketio.exceptions import ConnectionRefusedError

from gateway.auth.principal import SUPERVISE
from gateway.keys import ROUTING
from gateway.realtime.handshake import is_own_origin, session_token, staff_principal
from gateway.realtime.namespace import GatewayNamespace
from gateway.realtime.payloads import Ack, TenantRef, error, ok, parse
from gateway.realtime.rooms import tenant_room

NAMESPACE = "/supervisor"


class SupervisorNamespace(GatewayNamespace):
    def __init__(self, app: web.Application) -> None:
        super().__init__(NAMESPACE, app)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not is_own_origin(self.app, environ):
            raise ConnectionRefusedError("connect from the inbox page itself")
        principal = await staff_principal(self.app, session_token(environ))
        if principal is None:
            raise ConnectionRefusedError("log in first: no valid wecc_session cookie")
        tenant_ids = principal.tenant_ids(SUPERVISE)
        if not tenant_ids:
            raise ConnectionRefusedError("only supervisors and tenant admins can open the supervisor views")
        for tenant_id in tenant_ids:
            await self.enter_room(sid, tenant_room(tenant_id))
        await self.save_session(sid, {"token": session_token(environ), "user_id": principal.user_id})
        self.connected()

    async def on_queue_snapshot(self, sid: str, data: Any = None) -> Ack:
        """{"tenant_id"} -> the live queue view: per queue waiting and longest wait, agents and
        what each holds, agents by presence. Later changes arrive as events."""
        ref = parse(TenantRef, data)
        if isinstance(ref, dict):
            return ref
        session = await self.get_session(sid)
        principal = await staff_principal(self.app, session.get("token"))
        if principal is None or principal.user_id != session.get("user_id"):
            return error("unauthenticated", "your session has ended; log in again")
        if ref.tenant_id not in principal.tenant_ids(SUPERVISE):
            return error("not_found", "tenant not found")
        return ok(**await self.app[ROUTING].snapshot(ref.tenant_id))

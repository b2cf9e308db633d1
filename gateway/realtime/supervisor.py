"""/supervisor: every event of the tenants the user supervises (`tenant:{id}` rooms), for the live
queue and agent views. Needs the `supervise` permission on at least one tenant, or to be one of
the center's operators: they supervise every business, one at a time (watch_tenant), rather than
hearing the whole center at once.

Client events: queue_snapshot {"tenant_id"} -> {"ok": true, "queues", "agents", "agents_by_presence"}
               watch_tenant {"tenant_id"} -> {"ok": true}   operators: that business's events now
                                                            (and no longer the one watched before)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web
from socketio.exceptions import ConnectionRefusedError

from gateway.auth.principal import SUPERVISE, Principal
from gateway.db import schema as t
from gateway.keys import DB, ROUTING
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
        tenant_ids = principal.tenant_ids(SUPERVISE)  # an operator's own memberships too
        if not tenant_ids and not principal.is_operator:
            raise ConnectionRefusedError("only supervisors and tenant admins can open the supervisor views")
        for tenant_id in tenant_ids:
            await self.enter_room(sid, tenant_room(tenant_id))
        await self.save_session(sid, {"token": session_token(environ), "user_id": principal.user_id})
        self.connected()

    async def _caller(self, sid: str) -> tuple[dict[str, Any], Principal | None]:
        """The socket's session, and who holds it now (None once their session has ended)."""
        session = await self.get_session(sid)
        principal = await staff_principal(self.app, session.get("token"))
        return session, principal if principal is not None and principal.user_id == session.get("user_id") else None

    async def on_queue_snapshot(self, sid: str, data: Any = None) -> Ack:
        """{"tenant_id"} -> the live queue view: per queue waiting and longest wait, agents and
        what each holds, agents by presence. Later changes arrive as events."""
        ref = parse(TenantRef, data)
        if isinstance(ref, dict):
            return ref
        _, principal = await self._caller(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        if not principal.is_operator and ref.tenant_id not in principal.tenant_ids(SUPERVISE):
            return error("not_found", "tenant not found")
        return ok(**await self.app[ROUTING].snapshot(ref.tenant_id))

    async def on_watch_tenant(self, sid: str, data: Any = None) -> Ack:
        ref = parse(TenantRef, data)
        if isinstance(ref, dict):
            return ref
        session, principal = await self._caller(sid)
        if principal is None:
            return error("unauthenticated", "your session has ended; log in again")
        if not principal.is_operator:
            return error("forbidden", "supervisors hear their businesses already; only operators pick one to watch")
        async with self.app[DB].connect() as conn:
            if (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.id == ref.tenant_id))).first() is None:
                return error("not_found", "tenant not found")
        if session.get("watching") and session["watching"] not in principal.tenant_ids(SUPERVISE):
            await self.leave_room(sid, tenant_room(session["watching"]))  # not one they hear anyway
        await self.enter_room(sid, tenant_room(ref.tenant_id))
        await self.save_session(sid, {**session, "watching": ref.tenant_id})
        return ok()

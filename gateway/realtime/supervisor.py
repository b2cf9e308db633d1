"""/supervisor: every event of the tenants the user supervises (`tenant:{id}` rooms), for the live
queue and agent views. Needs the `supervise` permission on at least one tenant."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from socketio.exceptions import ConnectionRefusedError

from gateway.auth.principal import SUPERVISE
from gateway.realtime.handshake import is_own_origin, session_token, staff_principal
from gateway.realtime.namespace import GatewayNamespace
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
        self.connected()

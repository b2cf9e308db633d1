"""/visitor: the widget's live connection. Anonymous and untrusted: it names its tenant by the
public widget key and itself by a random visitor id (`auth={"widget_key", "visitor_id"}`), is
accepted only from the tenant's allowed origins, and every event it sends is rate limited per
visitor and per IP address before any handler runs.

A visitor is in `visitor:{tenant_id}:{visitor_id}` and in `conversation:{id}` for the conversations
of the contact that owns that visitor identity; it only ever receives the public part of public
events (see gateway/realtime/visibility.py).

Client events: ping {} -> {"ok": true, "ts": <unix seconds>}; the rest come from the enabled
channels (Channel.visitor_events), e.g. the chat's start_chat and send_message.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from socketio.exceptions import ConnectionRefusedError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.contacts import find_contact
from gateway.db import schema as t
from gateway.channel import VisitorCall, visitor_identity
from gateway.keys import CHANNELS, CONFIG, DB, LIMITER
from gateway.realtime import cobrowse
from gateway.realtime.handshake import client_ip, normalise_origin, request_origin
from gateway.realtime.namespace import GatewayNamespace
from gateway.realtime.payloads import Ack, Empty, VisitorAuth, error, ok, parse
from gateway.realtime.rooms import conversation_room, visitor_room

NAMESPACE = "/visitor"
# Sent while the visitor types and as agents' lines arrive: counted apart from lines and forms.
SIGNAL_EVENTS = frozenset({"typing", "receipt"})
# A co-browsed page sends a batch at most every 50 ms or so while it changes (the widget batches).
COBROWSE_BATCHES_PER_MINUTE = 1_500
# Rooms joined at connect; older conversations still reach the visitor through the visitor room.
MAX_CONVERSATION_ROOMS = 50


def verified_user(credentials: VisitorAuth, widget_secret: str) -> str | None:
    """The host site's user id when its signature is right; refuses the connection when a user
    id comes unsigned or wrongly signed (it is never taken on trust, nor quietly dropped)."""
    if credentials.user_id is None and credentials.user_hash is None:
        return None
    if credentials.user_id is None or credentials.user_hash is None:
        raise ConnectionRefusedError("send user_id and user_hash together")
    expected = hmac.new(widget_secret.encode(), credentials.user_id.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, credentials.user_hash.lower()):
        raise ConnectionRefusedError("user_hash is not the HMAC-SHA256 of user_id with this site's widget secret")
    return credentials.user_id


class VisitorNamespace(GatewayNamespace):
    def __init__(self, app: web.Application) -> None:
        super().__init__(NAMESPACE, app)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        credentials = parse(VisitorAuth, auth if auth is not None else {})
        if isinstance(credentials, dict):
            raise ConnectionRefusedError(f"send auth {{widget_key, visitor_id}}: {credentials['message']}")
        async with self.app[DB].connect() as conn:
            tenant = (
                await conn.execute(
                    sa.select(t.tenants.c.id, t.tenants.c.allowed_origins, t.tenants.c.widget_secret).where(
                        t.tenants.c.widget_key == credentials.widget_key, t.tenants.c.status == "active"
                    )
                )
            ).first()
            if tenant is None:
                raise ConnectionRefusedError("unknown widget key")
            origin = request_origin(environ)
            # No Origin header: not a browser on another site (a server, a native app): allowed.
            if origin is not None and normalise_origin(origin) not in {o.lower() for o in tenant.allowed_origins}:
                raise ConnectionRefusedError("this site is not allowed to use this widget; add its origin to the tenant's allowed origins")
            user_id = verified_user(credentials, tenant.widget_secret)
            conversation_ids = await self._conversations(conn, tenant.id, credentials.visitor_id, user_id)
        await self.enter_room(sid, visitor_room(tenant.id, credentials.visitor_id))
        for conversation_id in conversation_ids:
            await self.enter_room(sid, conversation_room(conversation_id))
        await self.save_session(sid, {"tenant_id": tenant.id, "visitor_id": credentials.visitor_id, "user_id": user_id,
                                      "ip": client_ip(environ)})
        self.connected()

    async def _conversations(self, conn: AsyncConnection, tenant_id: str, visitor_id: str, user_id: str | None) -> list[str]:
        contact_id = await find_contact(conn, tenant_id, *visitor_identity(visitor_id, user_id))
        if contact_id is None:
            return []
        c = t.conversations
        rows = await conn.execute(
            sa.select(c.c.id).where(c.c.tenant_id == tenant_id, c.c.contact_id == contact_id)
            .order_by(c.c.created_at.desc()).limit(MAX_CONVERSATION_ROOMS)
        )
        return list(rows.scalars())

    async def before_event(self, sid: str, event: str) -> Ack | None:
        """The rate limit, for every event this namespace has or will have."""
        session = await self.get_session(sid)
        settings = self.app[CONFIG].realtime
        window = settings.visitor_window_seconds
        visitor = f"{session['tenant_id']}:{session['visitor_id']}"
        if event == "cobrowse_batch":  # a page streaming while it changes: a budget of its own, per visitor and IP
            budgets = [(f"sock-visitor-cobrowse:{visitor}", COBROWSE_BATCHES_PER_MINUTE, 60),
                       (f"sock-ip-cobrowse:{session['ip']}", COBROWSE_BATCHES_PER_MINUTE * 4, 60)]
        else:
            own_budget = ((f"sock-visitor-signals:{visitor}", settings.visitor_signals_per_window) if event in SIGNAL_EVENTS
                          else (f"sock-visitor:{visitor}", settings.visitor_events_per_window))
            budgets = [(*own_budget, window), (f"sock-ip:{session['ip']}", settings.visitor_events_per_ip_window, window)]
        decisions = await self.app[LIMITER].hit_all(budgets)
        for decision in decisions:
            if not decision.allowed:
                return error("rate_limited", f"too many events; try again in {decision.retry_after} s", retry_after=decision.retry_after)
        return None

    def handler_for(self, event: str) -> Callable[[str, Any], Awaitable[Ack]] | None:
        """Events the enabled channels answer (the chat's messages...), see Channel.visitor_events."""
        registry = self.app[CHANNELS]
        if event not in registry.visitor_handlers:
            return None

        async def run(sid: str, data: Any) -> Ack:
            session = await self.get_session(sid)

            async def join(conversation_id: str) -> None:
                await self.enter_room(sid, conversation_room(conversation_id))

            who = VisitorCall(session["tenant_id"], session["visitor_id"], session["user_id"], session["ip"], join)
            return await registry.run_visitor_event(event, who, data)

        return run

    # ---- co-browsing (gateway/realtime/cobrowse.py) ----
    async def on_cobrowse_consent(self, sid: str, data: Any = None) -> Ack:
        return await cobrowse.consent(self.app, await self.get_session(sid), data)

    async def on_cobrowse_code(self, sid: str, data: Any = None) -> Ack:
        return await cobrowse.offer_code(self.app, await self.get_session(sid), data)

    async def on_cobrowse_resume(self, sid: str, data: Any = None) -> Ack:
        return await cobrowse.resume(self.app, await self.get_session(sid), data)

    async def on_cobrowse_grant(self, sid: str, data: Any = None) -> Ack:
        return await cobrowse.grant(self.app, self.server, await self.get_session(sid), data)

    async def on_cobrowse_batch(self, sid: str, data: Any = None) -> Ack:
        session = await self.get_session(sid)
        answer = await cobrowse.batch(self.app, self.server, session, data)
        streaming = [data["session_id"], data["stream"]] if answer.get("ok") else None
        if streaming and session.get("cobrowse") != streaming:
            await self.save_session(sid, {**session, "cobrowse": streaming})  # this page streams: see on_disconnect
        return answer

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        streaming = (await self.get_session(sid)).get("cobrowse")
        await super().on_disconnect(sid, reason)
        if streaming:
            await cobrowse.page_away(self.app, self.server, *streaming)

    async def on_cobrowse_stop(self, sid: str, data: Any = None) -> Ack:
        return await cobrowse.visitor_stop(self.app, self.server, await self.get_session(sid), data)

    async def on_ping(self, sid: str, data: Any = None) -> Ack:
        payload = parse(Empty, data)
        if isinstance(payload, dict):
            return payload
        return ok(ts=time.time())

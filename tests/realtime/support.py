"""Socket clients as the inbox and the widget use them, and a small world to talk about: tenants,
agents, visitors' conversations and messages made through the core verbs (as channels do)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.core.contacts import identify_contact
from gateway.core.conversations import append_message, open_conversation
from gateway.keys import DB, EVENTS
from tests.helpers import Api

PASSWORD = "password-123"


@dataclass
class Listener:
    """One connected socket and every event it received, in order."""

    sio: socketio.AsyncClient
    namespace: str
    events: list[tuple[str, Any]] = field(default_factory=list)
    refusals: list[Any] = field(default_factory=list)

    def got(self, event: str, match: Callable[[Any], bool] = lambda _: True) -> list[Any]:
        return [data for name, data in self.events if name == event and match(data)]

    async def wait_for(self, event: str, match: Callable[[Any], bool] = lambda _: True, timeout: float = 5.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := self.got(event, match)):
            assert loop.time() < deadline, f"no {event} on {self.namespace} within {timeout} s; got {[n for n, _ in self.events]}"
            await asyncio.sleep(0.01)
        return found[0]

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=5)


class Sockets:
    """Opens socket.io connections to one running gateway and closes them at the end."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._clients: list[socketio.AsyncClient] = []

    def _listener(self, namespace: str) -> Listener:
        sio = socketio.AsyncClient(reconnection=False)
        self._clients.append(sio)
        listener = Listener(sio, namespace)
        sio.on("*", lambda event, data=None: listener.events.append((event, data)), namespace=namespace)
        sio.on("connect_error", lambda data=None: listener.refusals.append(data), namespace=namespace)
        return listener

    async def _open(self, listener: Listener, cookie: str | None, auth: Any, origin: str | None) -> Listener:
        headers = {}
        if cookie:
            headers["Cookie"] = f"wecc_session={cookie}"
        if origin:
            headers["Origin"] = origin
        await listener.sio.connect(
            self.base_url, headers=headers, auth=auth, namespaces=[listener.namespace], transports=["websocket"], wait_timeout=5
        )
        return listener

    async def connect(self, namespace: str, *, cookie: str | None = None, auth: Any = None, origin: str | None = None) -> Listener:
        return await self._open(self._listener(namespace), cookie, auth, origin)

    async def refusal(self, namespace: str, *, cookie: str | None = None, auth: Any = None, origin: str | None = None) -> str:
        """The server's reason for refusing the connection (fails if it is accepted)."""
        listener = self._listener(namespace)
        try:
            await self._open(listener, cookie, auth, origin)
        except socketio.exceptions.ConnectionError as exc:
            reasons = [r.get("message", r) if isinstance(r, dict) else r for r in listener.refusals]
            return " ".join(str(r) for r in reasons) or str(exc)
        raise AssertionError(f"{namespace} accepted a connection it should refuse")

    async def close(self) -> None:
        for sio in self._clients:
            if sio.connected:
                await sio.disconnect()


def session_cookie(api: Api) -> str:
    return api.cookies["wecc_session"].value


async def new_tenant(client: TestClient, operator: Api, slug: str, *, role: str = "agent",
                     allowed_origins: list[str] | None = None) -> tuple[dict[str, Any], Api]:
    """A tenant made by the center's operator, with one member of `role`, logged in."""
    tenant = await operator.post("/api/v1/tenants", 201, json={"slug": slug, "name": slug.title(), "allowed_origins": allowed_origins or []})
    member = await add_member(client, operator, tenant["id"], f"{role}@{slug}.example", role)
    return tenant, member


async def add_member(client: TestClient, operator: Api, tenant_id: str, email: str, role: str) -> Api:
    await operator.post(f"/api/v1/tenants/{tenant_id}/members", 201, json={"email": email, "password": PASSWORD, "role": role})
    return await Api.login(client, email, PASSWORD)


async def visitor_conversation(app: web.Application, tenant_id: str, visitor_id: str) -> str:
    """What the chat channel does when a visitor starts chatting."""
    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "visitor", visitor_id)
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
    await app[EVENTS].publish(*contact.events, opened)
    return conversation_id


async def post_message(app: web.Application, tenant_id: str, conversation_id: str, text: str, *,
                       kind: str = "message", author_type: str = "agent", author_id: str | None = None) -> dict[str, Any]:
    async with app[DB].begin() as conn:
        appended = await append_message(
            conn, tenant_id, conversation_id, kind=kind, author_type=author_type, author_id=author_id, body_text=text,  # type: ignore[arg-type]
            meta={"internal": "routing detail"},
        )
    await app[EVENTS].publish(*appended.events)
    return appended.message

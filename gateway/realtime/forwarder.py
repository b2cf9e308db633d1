"""Pushes domain events to socket.io rooms. The only code that emits to clients: channels and API
handlers record and publish events, and this listener on the event bus decides who hears them.

Socket event name = event type, payload = event data, routed as follows:
  /agent       agent:{aid}         task.offered, task.offer_timed_out, task.rejected, call.consult_offered,
                                   call.desk_phone_answered, agent.presence_changed (to the agent concerned)
  /agent       tenant:{tid}        conversation.*, contact.*, the other task.* events (not task.position)
  /agent       conversation:{cid}  message.* (internal notes included), conversation.typing/.viewers/.receipt,
                                   call.*, callback.*, cobrowse.*
  /supervisor  tenant:{tid}        every event but task.position
  /visitor     conversation:{cid} and visitor:{tid}:{vid} of the conversation's contact
                                   public events only, reduced to their visitor form

Why the visitor rooms as well: a conversation opened after the visitor connected (or on another
gateway process) has a room the visitor's socket has not joined, and one process cannot make a
socket on another process join a room it knows no sid for. The visitor room is joined at connect
and is keyed by what the conversation's contact is known by, so emitting to
[conversation room + the contact's visitor rooms] reaches the visitor wherever they are connected;
socket.io sends a client in several of those rooms the event once. The emit itself travels to the
other processes through the Redis manager.
"""

from __future__ import annotations

import logging
import time

import socketio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import schema as t
from gateway.events.bus import DomainEvent
from gateway.realtime import agent, supervisor, visitor
from gateway.realtime.rooms import agent_room, conversation_room, tenant_room, visitor_room
from gateway.realtime.visibility import visitor_payload
from gateway.widget.links import with_links

log = logging.getLogger(__name__)

VISITOR_CACHE_SECONDS = 5.0
VISITOR_CACHE_SIZE = 10_000
AGENT_TENANT_EVENTS = ("conversation.", "task.", "contact.")
# An offer rings for one agent only; its outcome is theirs too.
AGENT_PERSONAL_EVENTS = ("task.offered", "task.offer_timed_out", "task.rejected", "call.consult_offered",
                         "call.desk_phone_answered", "agent.presence_changed")
AGENT_CONVERSATION_EVENTS = ("message.", "conversation.typing", "conversation.viewers", "conversation.receipt", "call.",
                             "callback.", "cobrowse.")
# Not for every agent of the tenant: a waiting contact's place in line is for that visitor alone,
# one event per waiting task each time a queue moves (supervisors' views read the queues, which
# say as much: bench/wallboard.py saw 14 position events per new chat at 150 waiting); typing is
# for those on the conversation (so are who views it and how far the customer has read).
AGENT_SKIPPED_EVENTS = ("task.position", "conversation.typing", "conversation.viewers", "conversation.receipt")
SUPERVISOR_SKIPPED_EVENTS = ("task.position",)


class Forwarder:
    def __init__(self, server: socketio.AsyncServer, engine: AsyncEngine) -> None:
        self._server = server
        self._engine = engine
        self.closed = False
        self._visitors: dict[str, tuple[float, list[str]]] = {}  # conversation id -> (until, visitor ids)

    async def on_event(self, event: DomainEvent) -> None:
        if self.closed or event.tenant_id is None:
            return
        emit = self._server.emit
        if event.type in AGENT_PERSONAL_EVENTS:
            if event.data.get("agent_id"):
                await emit(event.type, event.data, to=agent_room(event.data["agent_id"]), namespace=agent.NAMESPACE)
        elif event.type.startswith(AGENT_TENANT_EVENTS) and event.type not in AGENT_SKIPPED_EVENTS:
            await emit(event.type, event.data, to=tenant_room(event.tenant_id), namespace=agent.NAMESPACE)
        if event.type.startswith(AGENT_CONVERSATION_EVENTS) and event.conversation_id:
            await emit(event.type, event.data, to=conversation_room(event.conversation_id), namespace=agent.NAMESPACE)
        if event.type not in SUPERVISOR_SKIPPED_EVENTS:
            await emit(event.type, event.data, to=tenant_room(event.tenant_id), namespace=supervisor.NAMESPACE)
        public = visitor_payload(event)
        if public is not None and event.conversation_id:
            if public.get("message", {}).get("attachments"):
                public = {**public, "message": with_links(public["message"], await self._widget_secret(event.tenant_id))}
            rooms = [conversation_room(event.conversation_id)]
            rooms += [visitor_room(event.tenant_id, v) for v in await self._visitor_ids(event.tenant_id, event.conversation_id)]
            await emit(event.type, public, to=rooms, namespace=visitor.NAMESPACE)

    async def _widget_secret(self, tenant_id: str) -> str:
        async with self._engine.connect() as conn:
            return (await conn.execute(sa.select(t.tenants.c.widget_secret).where(t.tenants.c.id == tenant_id))).scalar_one()

    async def _visitor_ids(self, tenant_id: str, conversation_id: str) -> list[str]:
        # Kept a few seconds: a chat's every line would otherwise cost a query. A browser that
        # joins the contact meanwhile is in the conversation's room already (it joined to speak).
        now = time.monotonic()
        cached = self._visitors.get(conversation_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        c, ci = t.conversations, t.contact_identities
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(ci.c.value)
                .join(c, sa.and_(c.c.contact_id == ci.c.contact_id, c.c.tenant_id == ci.c.tenant_id))
                .where(c.c.id == conversation_id, c.c.tenant_id == tenant_id, ci.c.kind == "visitor")
            )
            visitor_ids = list(rows.scalars())
        if len(self._visitors) >= VISITOR_CACHE_SIZE:
            self._visitors.pop(next(iter(self._visitors)))  # the oldest entry
        self._visitors[conversation_id] = (now + VISITOR_CACHE_SECONDS, visitor_ids)
        return visitor_ids

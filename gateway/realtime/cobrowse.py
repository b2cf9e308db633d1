"""The socket events of co-browsing (gateway/cobrowse.py has the sessions).

/agent (the conversation's assignee, or a supervisor of its tenant):
  cobrowse_request {conversation_id} -> {ok, session_id, state}   asks the visitor (cobrowse.requested
                   reaches their widget with the agent's first name); a live session is returned as is
  cobrowse_join    {session_id} -> {ok, state, batches}   into the session's room: cobrowse.batch
                   {session_id, snapshot, events | part} as the page changes; `batches` are those since
                   the page's latest full snapshot, to catch up with
  cobrowse_stop    {session_id} -> {ok}
/visitor (the conversation's web visitor):
  cobrowse_consent {session_id, accept} -> {ok}   cobrowse.started / cobrowse.declined
  cobrowse_batch   {session_id, snapshot?, events | part} -> {ok, resnapshot?}   relayed to the room;
                   resnapshot: true asks the widget for a new full snapshot (too much since the last)
  cobrowse_stop    {session_id} -> {ok}
Both sides hear cobrowse.stopped {session_id, by}. Batches are checked for shape and size, never read.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from gateway.auth.principal import SUPERVISE, Principal
from gateway.cobrowse import CobrowseSessions, Session
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import CONFIG, DB, EVENTS, REDIS
from gateway.realtime.payloads import Ack, CobrowseBatch, CobrowseConsent, CobrowseRef, ConversationRef, error, ok, parse

AGENT_NAMESPACE = "/agent"


def session_room(session_id: str) -> str:
    return f"cobrowse:{session_id}"


def sessions(app: web.Application) -> CobrowseSessions:
    return CobrowseSessions(app[REDIS])


async def may_watch(app: web.Application, principal: Principal, tenant_id: str, conversation_id: str) -> bool:
    """The conversation's assigned agent, or a supervisor of its tenant: nobody else sees the page."""
    if principal.can(tenant_id, SUPERVISE):
        return True
    async with app[DB].connect() as conn:
        assignee = (await conn.execute(sa.select(t.conversations.c.assignee_id).where(
            t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id))).scalar_one_or_none()
    return assignee is not None and assignee == principal.user_id


async def request(app: web.Application, principal: Principal, tenant_id: str, data: Any) -> Ack:
    ref = parse(ConversationRef, data)
    if isinstance(ref, dict):
        return ref
    if not await may_watch(app, principal, tenant_id, ref.conversation_id):
        return error("not_yours", "only the conversation's agent (or a supervisor) may co-browse")
    async with app[DB].connect() as conn:
        visitors = [f"{row.kind}:{row.value}" for row in (await conn.execute(
            sa.select(t.contact_identities.c.kind, t.contact_identities.c.value)
            .join(t.conversations, sa.and_(t.conversations.c.contact_id == t.contact_identities.c.contact_id,
                                           t.conversations.c.tenant_id == t.contact_identities.c.tenant_id))
            .where(t.conversations.c.id == ref.conversation_id, t.contact_identities.c.kind.in_(("visitor", "external"))))).all()]
        name = (await conn.execute(sa.select(t.users.c.name).where(t.users.c.id == principal.user_id))).scalar_one_or_none()
    if not visitors:
        return error("no_visitor", "this customer did not come through the web site's widget")
    assert principal.user_id is not None
    session, new = await sessions(app).open(tenant_id, ref.conversation_id, principal.user_id, visitors)
    if new:
        await _record(app, session, "cobrowse.requested", agent_id=principal.user_id, agent_name=name or "")
    return ok(session_id=session.id, state=session.state)


async def _watched(app: web.Application, principal: Principal, data: Any) -> Session | Ack:
    """The session the payload names, when this agent may watch it; else the error ack."""
    ref = parse(CobrowseRef, data)
    if isinstance(ref, dict):
        return ref
    found = await sessions(app).get(ref.session_id)
    if found is None or not await may_watch(app, principal, found.tenant_id, found.conversation_id):
        return error("not_found", "no such co-browsing session among yours")
    return found


async def join(app: web.Application, principal: Principal, data: Any) -> tuple[Session, Ack] | Ack:
    """The session this agent may watch and what to catch up with; the caller enters its room."""
    found = await _watched(app, principal, data)
    if isinstance(found, dict):
        return found
    batches = await sessions(app).since_snapshot(found) if found.state == "active" else []
    return found, ok(state=found.state, conversation_id=found.conversation_id, batches=batches)


async def agent_stop(app: web.Application, server: Any, principal: Principal, data: Any) -> Ack:
    found = await _watched(app, principal, data)
    if isinstance(found, dict):
        return found
    if await sessions(app).end(found):
        await _stopped(app, server, found, "agent", agent_id=principal.user_id)
    return ok()


def _browser(who: dict[str, Any]) -> str:
    return f"visitor:{who['visitor_id']}"


async def _visitors_session(app: web.Application, who: dict[str, Any], session_id: str) -> Session | None:
    """The session when it asks this visitor: by the widget's visitor id, or the site's signed-in user."""
    found = await sessions(app).get(session_id)
    known_as = {_browser(who)} | ({f"external:{who['user_id']}"} if who.get("user_id") else set())
    if found is None or found.tenant_id != who["tenant_id"] or not known_as & set(found.visitors):
        return None
    if found.visitor and found.visitor != _browser(who):
        return None  # consented in another of the contact's browsers: that one streams
    return found


async def consent(app: web.Application, who: dict[str, Any], data: Any) -> Ack:
    answer = parse(CobrowseConsent, data)
    if isinstance(answer, dict):
        return answer
    found = await _visitors_session(app, who, answer.session_id)
    if found is None:
        return error("not_found", "no such co-browsing request")
    if not await sessions(app).answer(found, _browser(who), answer.accept):
        return error("not_asked", "this request was answered or withdrawn already")
    await _record(app, found, "cobrowse.started" if answer.accept else "cobrowse.declined")
    return ok()


async def batch(app: web.Application, server: Any, who: dict[str, Any], data: Any) -> Ack:
    form = parse(CobrowseBatch, data, app[CONFIG].realtime.max_message_bytes)
    if isinstance(form, dict):
        return form
    if (form.events is None) == (form.part is None):
        return error("invalid", "send events or one part of them")
    found = await _visitors_session(app, who, form.session_id)
    if found is None or found.state != "active":
        return error("not_active", "this co-browsing session is not running")
    relayed = {"session_id": found.id, "snapshot": form.snapshot,
               **({"events": form.events} if form.events is not None else {"part": form.part.model_dump()})}  # type: ignore[union-attr]
    starts = form.snapshot and (form.part is None or form.part.index == 0)
    kept = await sessions(app).keep(found, json.dumps(relayed, separators=(",", ":")), starts)
    await server.emit("cobrowse.batch", relayed, to=session_room(found.id), namespace=AGENT_NAMESPACE)
    return ok(resnapshot=True) if not kept else ok()


async def visitor_stop(app: web.Application, server: Any, who: dict[str, Any], data: Any) -> Ack:
    ref = parse(CobrowseRef, data)
    if isinstance(ref, dict):
        return ref
    found = await _visitors_session(app, who, ref.session_id)
    if found is None:
        return error("not_found", "no such co-browsing session")
    if await sessions(app).end(found):
        await _stopped(app, server, found, "visitor")
    return ok()


async def _stopped(app: web.Application, server: Any, session: Session, by: str, **data: Any) -> None:
    """On record (the conversation's room hears it), and to everyone watching, wherever they are."""
    await _record(app, session, "cobrowse.stopped", by=by, **data)
    await server.emit("cobrowse.stopped", {"conversation_id": session.conversation_id, "session_id": session.id, "by": by},
                      to=session_room(session.id), namespace=AGENT_NAMESPACE)


async def _record(app: web.Application, session: Session, kind: str, **data: Any) -> None:
    async with app[DB].begin() as conn:
        event = await record_event(conn, kind, session.tenant_id,
                                   {"conversation_id": session.conversation_id, "session_id": session.id, **data},
                                   conversation_id=session.conversation_id)
    await app[EVENTS].publish(event)

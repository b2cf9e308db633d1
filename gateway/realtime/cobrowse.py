"""The socket events of co-browsing (gateway/cobrowse.py has the sessions).

/agent (the conversation's assignee, or a supervisor of its tenant):
  cobrowse_request {conversation_id} -> {ok, session_id, state}   asks the visitor (cobrowse.requested
                   reaches their widget with the agent's first name); a live session is returned as is
  cobrowse_claim   {conversation_id, code} -> {ok, session_id, state}   the code the visitor read out
                   (cobrowse_code): their page is shared on this conversation from now on
  cobrowse_join    {session_id} -> {ok, state, control, conversation_id, stream, batches, page_now}
                   into the session's room: cobrowse.batch {session_id, stream, seq, snapshot, sent,
                   events | part} as the page changes; `batches` are those since the page's latest
                   full snapshot, to catch up with; page_now: the page's clock now (ms), which the
                   replay keeps time by; stream: the page streaming now
  cobrowse_pointer {session_id, stream, node, x, y, highlight?, hide?} -> {ok}   the agent's pointer, drawn
                   on the visitor's page (in the session's room only; no record: it is too chatty)
  cobrowse_control {session_id, want} -> {ok, control}   asks the visitor for control, or gives it back
  cobrowse_action  {session_id, stream, kind, ...} -> {ok}   by the agent control was granted to:
                   click, input, scroll, navigate (the widget applies it if `stream` is its page)
  cobrowse_stop    {session_id} -> {ok}
/visitor (the web visitor: the conversation's, or one who gives a code):
  cobrowse_consent {session_id, accept} -> {ok}   cobrowse.started / cobrowse.declined
  cobrowse_code    {} -> {ok, session_id, code, expires_in}   the visitor starts it: a code to read out
  cobrowse_resume  {session_id} -> {ok, state, agent_name, control, code?}   after the page changed
                   (another page of the site): the widget records again, no new consent needed
  cobrowse_grant   {session_id, grant} -> {ok}   answers the agent's ask for control, or takes it back
  cobrowse_batch   {session_id, stream, snapshot?, sent, events | part} -> {ok, resnapshot?}   relayed to
                   the room; resnapshot: true asks the widget for a new full snapshot (too much since
                   the last). A snapshot from a new stream takes over; the old one's batches are then
                   refused ("superseded")
  cobrowse_stop    {session_id} -> {ok}
The visitor hears cobrowse.pointer, cobrowse.action and cobrowse.control {session_id, control, by,
agent_name} in their own room; agents hear the recorded steps through the conversation's room, and
cobrowse.control {session_id, control, by}, cobrowse.away {session_id} (the page went: closed, or
on to the site's next page) and cobrowse.stopped {session_id, by} in the session's. Batches are checked for shape and size, never read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from gateway.auth.principal import SUPERVISE, Principal
from gateway.cobrowse import CODE_SECONDS, CobrowseSessions, Refused, Session
from gateway.core.tenant_settings import read_settings
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import CONFIG, DB, EVENTS, LIMITER, REDIS
from gateway.realtime.payloads import (
    Ack, CobrowseAction, CobrowseBatch, CobrowseClaim, CobrowseConsent, CobrowseControl, CobrowseGrant, CobrowsePointer,
    CobrowseRef, ConversationRef, Empty, error, ok, parse,
)
from gateway.realtime.rooms import visitor_room
from gateway.realtime.visibility import first_name
from gateway.widget.settings import WidgetSettings

AGENT_NAMESPACE = "/agent"
VISITOR_NAMESPACE = "/visitor"
CLAIMS_PER_MINUTE = 10  # codes one agent may try
CLAIMS_PER_TENANT_MINUTE = 60  # and all of a tenant's agents together


def session_room(session_id: str) -> str:
    return f"cobrowse:{session_id}"


def sessions(app: web.Application) -> CobrowseSessions:
    return CobrowseSessions(app[REDIS])


async def _assignee(app: web.Application, tenant_id: str, conversation_id: str) -> str:
    async with app[DB].connect() as conn:
        return (await conn.execute(sa.select(t.conversations.c.assignee_id).where(
            t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id))).scalar_one_or_none() or ""


async def may_watch(app: web.Application, principal: Principal, tenant_id: str, conversation_id: str) -> bool:
    """The conversation's assigned agent, or a supervisor of its tenant: nobody else sees the page."""
    if principal.can(tenant_id, SUPERVISE):
        return True
    assignee = await _assignee(app, tenant_id, conversation_id)
    return bool(assignee) and assignee == principal.user_id


async def _tenant_settings(app: web.Application, tenant_id: str) -> WidgetSettings:
    async with app[DB].connect() as conn:
        return WidgetSettings.of(await read_settings(conn, tenant_id))


async def _names(app: web.Application, user_ids: list[str]) -> dict[str, str]:
    async with app[DB].connect() as conn:
        return dict((await conn.execute(sa.select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(user_ids)))).all())


async def _agent_name(app: web.Application, principal: Principal) -> str:
    assert principal.user_id is not None
    return (await _names(app, [principal.user_id])).get(principal.user_id, "")


# ---- the agent's side ----

async def request(app: web.Application, principal: Principal, tenant_id: str, data: Any) -> Ack:
    ref = parse(ConversationRef, data)
    if isinstance(ref, dict):
        return ref
    if not await may_watch(app, principal, tenant_id, ref.conversation_id):
        return error("not_yours", "only the conversation's agent (or a supervisor) may co-browse")
    if not (await _tenant_settings(app, tenant_id)).cobrowse.enabled:
        return error("disabled", "co-browsing is turned off for this business")
    async with app[DB].connect() as conn:
        visitors = [f"{row.kind}:{row.value}" for row in (await conn.execute(
            sa.select(t.contact_identities.c.kind, t.contact_identities.c.value)
            .join(t.conversations, sa.and_(t.conversations.c.contact_id == t.contact_identities.c.contact_id,
                                           t.conversations.c.tenant_id == t.contact_identities.c.tenant_id))
            .where(t.conversations.c.id == ref.conversation_id, t.contact_identities.c.kind.in_(("visitor", "external"))))).all()]
    if not visitors:
        return error("no_visitor", "this customer did not come through the web site's widget; ask them for a co-browsing code")
    assert principal.user_id is not None
    name = await _agent_name(app, principal)
    session, new = await sessions(app).open(tenant_id, ref.conversation_id, principal.user_id, name, visitors,
                                            await _assignee(app, tenant_id, ref.conversation_id))
    if new:
        await _record(app, session, "cobrowse.requested", agent_id=principal.user_id, agent_name=name)
    return ok(session_id=session.id, state=session.state)


async def claim(app: web.Application, server: Any, principal: Principal, tenant_id: str, data: Any) -> Ack:
    """The visitor's code, entered on a conversation (a phone call, usually): their page is shared there."""
    form = parse(CobrowseClaim, data)
    if isinstance(form, dict):
        return form
    if not await may_watch(app, principal, tenant_id, form.conversation_id):
        return error("not_yours", "only the conversation's agent (or a supervisor) may co-browse")
    if not (await _tenant_settings(app, tenant_id)).cobrowse.enabled:
        return error("disabled", "co-browsing is turned off for this business")
    # Codes are a million to one: tries are counted per agent and per tenant (a typo or two, never a search).
    for decision in await app[LIMITER].hit_all([(f"cobrowse-claim:{principal.user_id}", CLAIMS_PER_MINUTE, 60),
                                                (f"cobrowse-claim-tenant:{tenant_id}", CLAIMS_PER_TENANT_MINUTE, 60)]):
        if not decision.allowed:
            return error("rate_limited", f"too many codes tried; try again in {decision.retry_after} s",
                         retry_after=decision.retry_after)
    assert principal.user_id is not None
    name = await _agent_name(app, principal)
    store = sessions(app)
    asked = await store.of_conversation(form.conversation_id)
    try:
        session = await store.claim(tenant_id, form.code, form.conversation_id, principal.user_id, name,
                                    await _assignee(app, tenant_id, form.conversation_id))
    except Refused:
        return error("busy", "this conversation is co-browsing already; stop that first")
    if session is None:
        return error("bad_code", "no such code is waiting; ask the customer to read it again, or to get a new one")
    if asked is not None and asked.state == "asked" and await store.end(asked):
        await _stopped(app, server, asked, "agent", agent_id=principal.user_id)  # the code replaced the unanswered ask
    await _record(app, session, "cobrowse.started", by_code=True, agent_id=principal.user_id, agent_name=name)
    await _to_visitor(server, session, "cobrowse.started", agent_name=first_name(name))
    return ok(session_id=session.id, state=session.state)


async def _watched(app: web.Application, principal: Principal, data: Any, form: type = CobrowseRef) -> tuple[Session, Any] | Ack:
    """(the session the payload names, the payload) when this agent may watch it; else the error ack."""
    ref = parse(form, data)
    if isinstance(ref, dict):
        return ref
    found = await sessions(app).get(ref.session_id)
    if found is None or not found.conversation_id or not await may_watch(app, principal, found.tenant_id, found.conversation_id):
        return error("not_found", "no such co-browsing session among yours")
    return found, ref


async def join(app: web.Application, principal: Principal, data: Any, enter: Callable[[str], Awaitable[None]]) -> Ack:
    """Into the session's room (`enter`), when this agent may watch it; then what to catch up with.
    In that order, so no batch falls between the two: the inbox drops what it got twice by `seq`."""
    watched = await _watched(app, principal, data)
    if isinstance(watched, dict):
        return watched
    found, _ = watched
    await enter(session_room(found.id))
    batches = await sessions(app).since_snapshot(found) if found.state == "active" else []
    return ok(state=found.state, control=found.control, conversation_id=found.conversation_id, batches=batches,
              page_now=CobrowseSessions.page_now(found), stream=found.stream)


async def pointer(app: web.Application, server: Any, watching: set[str], data: Any) -> Ack:
    """`watching`: the sessions whose room the agent's socket is in (cobrowse_join let it in)."""
    form = parse(CobrowsePointer, data)
    if isinstance(form, dict):
        return form
    found = await sessions(app).get(form.session_id) if form.session_id in watching else None
    if found is None or found.state != "active":
        return error("not_active", "this co-browsing session is not running")
    await _to_visitor(server, found, "cobrowse.pointer", **form.model_dump(exclude={"session_id"}))
    return ok()


async def control(app: web.Application, server: Any, principal: Principal, data: Any) -> Ack:
    watched = await _watched(app, principal, data, CobrowseControl)
    if isinstance(watched, dict):
        return watched
    found, form = watched
    if form.want:
        if not (await _tenant_settings(app, found.tenant_id)).cobrowse.control:
            return error("disabled", "this business does not let agents take control of its pages")
        if found.control:
            return ok(control=found.control)  # asked or granted already
        assert principal.user_id is not None
        if not await sessions(app).set_control(found, ("",), "asked", principal.user_id):
            return error("not_active", "this co-browsing session is not running")
        await _record(app, found, "cobrowse.control_requested", agent_id=principal.user_id)
        await _control_changed(server, found, "asked", "agent")
        return ok(control="asked")
    if await sessions(app).set_control(found, ("asked", "granted"), ""):
        await _record(app, found, "cobrowse.control_ended", by="agent", agent_id=principal.user_id)
        await _control_changed(server, found, "", "agent")
    return ok(control="")


async def action(app: web.Application, server: Any, principal: Principal, watching: set[str], data: Any) -> Ack:
    watched = await _watched(app, principal, data, CobrowseAction)
    if isinstance(watched, dict):
        return watched
    found, form = watched
    if found.id not in watching or found.state != "active":
        return error("not_active", "join the co-browsing session first")
    if found.control != "granted" or found.controller != principal.user_id:
        return error("no_control", "the customer has not given you control of their page")
    await _to_visitor(server, found, "cobrowse.action", **form.model_dump(exclude={"session_id"}))
    return ok()


async def agent_stop(app: web.Application, server: Any, principal: Principal, data: Any) -> Ack:
    watched = await _watched(app, principal, data)
    if isinstance(watched, dict):
        return watched
    found, _ = watched
    if await sessions(app).end(found):
        await _stopped(app, server, found, "agent", agent_id=principal.user_id)
    return ok()


# ---- the visitor's side ----

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


async def offer_code(app: web.Application, who: dict[str, Any], data: Any) -> Ack:
    form = parse(Empty, data)
    if isinstance(form, dict):
        return form
    if not (await _tenant_settings(app, who["tenant_id"])).cobrowse.enabled:
        return error("disabled", "co-browsing is turned off for this site")
    session = await sessions(app).offer_code(who["tenant_id"], _browser(who))
    if session is None:
        return error("busy", "no code is free just now; try again in a minute")
    return ok(session_id=session.id, code=session.code, expires_in=CODE_SECONDS)


async def resume(app: web.Application, who: dict[str, Any], data: Any) -> Ack:
    """The page the visitor shares was left for another of the site's pages: carry on there."""
    ref = parse(CobrowseRef, data)
    if isinstance(ref, dict):
        return ref
    found = await _visitors_session(app, who, ref.session_id)
    if found is None or found.visitor != _browser(who) or found.state not in ("code", "active"):
        return error("not_active", "this co-browsing session is not running")
    return ok(state=found.state, agent_name=first_name(found.agent_name), control=found.control,
              **({"code": found.code} if found.state == "code" else {}))


async def grant(app: web.Application, server: Any, who: dict[str, Any], data: Any) -> Ack:
    form = parse(CobrowseGrant, data)
    if isinstance(form, dict):
        return form
    found = await _visitors_session(app, who, form.session_id)
    if found is None or found.visitor != _browser(who) or found.state != "active":
        return error("not_active", "this co-browsing session is not running")
    store = sessions(app)
    if form.grant:
        if not await store.set_control(found, ("asked",), "granted"):
            return error("not_asked", "the agent is not asking for control")
        await _record(app, found, "cobrowse.control_granted")
        await _control_changed(server, found, "granted", "visitor")
    elif await store.set_control(found, ("asked",), ""):
        await _record(app, found, "cobrowse.control_declined")
        await _control_changed(server, found, "", "visitor")
    elif await store.set_control(found, ("granted",), ""):
        await _record(app, found, "cobrowse.control_ended", by="visitor")
        await _control_changed(server, found, "", "visitor")
    return ok()


async def batch(app: web.Application, server: Any, who: dict[str, Any], data: Any) -> Ack:
    form = parse(CobrowseBatch, data, app[CONFIG].realtime.max_message_bytes)
    if isinstance(form, dict):
        return form
    if (form.events is None) == (form.part is None):
        return error("invalid", "send events or one part of them")
    found = await _visitors_session(app, who, form.session_id)
    if found is None:
        return error("not_active", "this co-browsing session is not running")
    starts = form.snapshot and (form.part is None or form.part.index == 0)
    # The page's clock, from small batches only: a big one's trip would make it look slow.
    clock = form.sent if form.part is None and not form.snapshot else 0
    try:
        seq = await sessions(app).accept(found, form.stream, starts, clock)
    except Refused as refused:
        message = ("another page of yours shares its view now" if refused.code == "superseded"
                   else "this co-browsing session is not running")
        return error(refused.code, message)
    relayed = {"session_id": found.id, "stream": form.stream, "seq": seq, "snapshot": form.snapshot, "sent": form.sent,
               **({"events": form.events} if form.events is not None else {"part": form.part.model_dump()})}  # type: ignore[union-attr]
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


async def page_away(app: web.Application, server: Any, session_id: str, stream: str) -> None:
    """The page that streamed went away (closed, or on its way to the site's next page): those
    watching are told, until its next batch shows it back. Not when another page took over."""
    found = await sessions(app).get(session_id)
    if found is not None and found.state == "active" and found.stream == stream:
        await server.emit("cobrowse.away", {"session_id": session_id}, to=session_room(session_id), namespace=AGENT_NAMESPACE)


# ---- the conversation changing hands, or closing ----

class ConversationWatch:
    """Follows the conversations' changes (conversation.updated, on the process that made them):
    when one with a live session closes, the session ends (by "closed"); when it changes hands, those
    watching are put out of the session's room and told `cobrowse.recheck` in the conversation's room,
    so each inbox asks to join again and only the new agent and supervisors get back in (the room
    itself is the watchers' pass)."""

    def __init__(self, app: web.Application, server: Any) -> None:
        self._app = app
        self._server = server

    async def on_event(self, event: Any) -> None:
        if event.type != "conversation.updated" or not event.conversation_id:
            return
        store = sessions(self._app)
        found = await store.of_conversation(event.conversation_id)
        if found is None or not found.live:
            return
        if event.data.get("status") == "closed":
            if await store.end(found):
                await _stopped(self._app, self._server, found, "closed")
            return
        assignee = event.data.get("assignee_id") or ""
        names = await _names(self._app, [assignee]) if assignee else {}
        control = await store.reassigned(found, assignee, names.get(assignee, ""))
        if control is None:
            return
        if control:  # the visitor let the previous agent act, not whoever comes next
            moved = await store.get(found.id) or found
            await _record(self._app, moved, "cobrowse.control_ended", by="transfer")
            await _control_changed(self._server, moved, "", "transfer")
        room = session_room(found.id)
        # Told in the room, then put out of it: each inbox asks to join again a moment later (once
        # the room is closed everywhere), and only the new agent and supervisors get back in.
        await self._server.emit("cobrowse.recheck", {"session_id": found.id}, to=room, namespace=AGENT_NAMESPACE)
        await self._server.close_room(room, namespace=AGENT_NAMESPACE)


# ---- both ----

async def _stopped(app: web.Application, server: Any, session: Session, by: str, **data: Any) -> None:
    """On record (the conversation's room hears it), and to everyone watching, wherever they are."""
    await _record(app, session, "cobrowse.stopped", by=by, **data)
    stopped = {"conversation_id": session.conversation_id, "session_id": session.id, "by": by}
    await server.emit("cobrowse.stopped", stopped, to=session_room(session.id), namespace=AGENT_NAMESPACE)
    if session.by_code:  # such a visitor need not be in the conversation's room
        await _to_visitor(server, session, "cobrowse.stopped", by=by)


async def _control_changed(server: Any, session: Session, control: str, by: str) -> None:
    """To those watching (whose clicks it allows) and to the visitor's widget (which asks, or says so)."""
    changed = {"session_id": session.id, "control": control, "by": by}
    await server.emit("cobrowse.control", changed, to=session_room(session.id), namespace=AGENT_NAMESPACE)
    await _to_visitor(server, session, "cobrowse.control", control=control, by=by, agent_name=first_name(session.agent_name))


async def _to_visitor(server: Any, session: Session, event: str, **data: Any) -> None:
    """To the browser that shares its page (each of its tabs; the one recording acts on it)."""
    visitor_id = session.visitor.removeprefix("visitor:")
    await server.emit(event, {"session_id": session.id, **data}, to=visitor_room(session.tenant_id, visitor_id),
                      namespace=VISITOR_NAMESPACE)


async def _record(app: web.Application, session: Session, kind: str, **data: Any) -> None:
    if not session.conversation_id:
        return  # a visitor's code no agent entered: no conversation to put it on
    async with app[DB].begin() as conn:
        event = await record_event(conn, kind, session.tenant_id,
                                   {"conversation_id": session.conversation_id, "session_id": session.id, **data},
                                   conversation_id=session.conversation_id)
    await app[EVENTS].publish(event)

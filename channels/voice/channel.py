"""The voice channel: a visitor clicks "Call us" in the widget (or a phone caller dials a tenant's
number through a SIP trunk: phone.py), the call waits in the same queue as all other work
(hearing hold audio), and the agent it is given answers it in the inbox; the gateway's media
layer bridges the caller's leg (WebRTC, or plain RTP for a phone) with the agent's and records
the call.

Visitor events (on /visitor, after the namespace's widget key, origin and rate checks):
  call_config {} -> {ok, ice_servers: [{urls, username?, credential?}]}   (also on /agent)
  call_start  {sdp} -> {ok, call_id, conversation_id, sdp}   the visitor's audio offer, answered;
              a conversation on the voice channel and a task in the queue. One call at a time.
  call_mute   {call_id, muted} -> {ok}
  call_hangup {call_id} -> {ok}          before an agent answered, the call counts as abandoned
  call_callback {call_id, number, window_from?, window_to?, topic?} -> {ok}   rather be called back:
              callback.requested {number (E.164), window_from, window_to, topic} is recorded, the
              call ends (its task cancelled, not abandoned) and a callback task takes its place in
              the queue (callbacks.py)
Agent events (on /agent, for the agent the call's task is assigned to):
  call_dial      {tenant_id, contact_id, number, sdp} -> {ok, call_id, conversation_id, sdp, recording}
                 click-to-call: one of the contact's phone numbers (in the tenant's callback
                 countries) is dialled through the trunk, in a new voice conversation whose task
                 is the agent's at once (routing counts it: no call is offered meanwhile); the
                 agent hears the customer once they answer (call.answered), and an unanswered,
                 busy or unreachable number ends the call (call.ended with the reason)
  call_answer    {call_id, sdp} -> {ok, sdp, conversation_id, recording}   after accept_task: the agent's leg;
                 for a callback's task (its call id in the conversation's attributes.call) the
                 gateway then dials the customer through the trunk: callback.dialling, then
                 callback.attempted {result}; the agent hears the customer once they answer
  call_hold      {call_id, on} -> {ok}   the customer hears hold audio, the agent silence
  call_mute      {call_id, muted} -> {ok}
  call_recording {call_id, paused} -> {ok}   nothing is recorded while paused
  call_hangup    {call_id} -> {ok}       the agent goes on to wrap-up
  call_transfer  {call_id, queue_id | agent_id, note?} -> {ok}   blind: the caller waits with hold
                 audio for the next agent, who answers with call_answer (so does one given the task
                 by the inbox's transfer_task); call.transferred {from_agent_id, to_agent_id, queue_id}
  call_consult   {call_id, agent_id} -> {ok}   a warm transfer: the caller is put on hold, the
                 colleague gets call.consult_offered {call_id, conversation_id, from_agent_name}
                 and joins with call_consult_answer {call_id, sdp} (or call_consult_decline);
                 the agent then call_consult_complete (the colleague takes the caller, their task
                 accepted for them) or call_consult_cancel (back to the caller, still on hold)
A call an agent picks up on their own desk phone (seats.py) is recorded as call.answered {device:
"phone"}, and call.desk_phone_answered {call_id, conversation_id} tells their inbox, whose call
bar then works the call (hold, transfer, hang up...) with the events above.
Supervisor events (on /agent, for staff who may supervise the call's tenant):
  call_monitor       {call_id, sdp, mode: listen|whisper|barge} -> {ok, sdp, conversation_id}
  call_monitor_mode  {call_id, mode} -> {ok};  call_monitor_leave {call_id} -> {ok}
  Listening is unseen by the agent: supervision.started/mode_changed/ended {supervisor_id, mode}
  reach supervisors only. A whisper is heard by the agent, never by the customer, never recorded.
Recorded on the conversation: call.started, call.answered, call.held, call.resumed,
call.recording_paused, call.recording_resumed, call.ended {reason, seconds, talk_seconds, quality:
{customer|agent: {rtt_seconds, jitter_seconds, packets_lost, ...}}}; the
recording (stereo: customer left, agent right) becomes a system message carrying the file.

A call lives in the gateway process that took the visitor's offer: its media runs in that
process's media workers. Agents' events about it are run there wherever the agent is connected
(the process holds the call: gateway/forwarding.py); the visitor's stay on their own socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import phonenumbers

from gateway.auth.principal import SUPERVISE
from gateway.channel import AgentCall, AgentHandler, Channel, ChannelContext, OutboundMessage, VisitorCall, VisitorHandler
from gateway.config import ChannelConfig
from gateway.core.conversations import AttachedFile
from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.db.schema import new_id
from gateway.events.bus import DomainEvent, ephemeral_event
from gateway.media.service import MediaError, MediaEvent
from gateway.realtime.payloads import Ack, Empty, error, ok, parse
from gateway.routing.engine import RoutingConflict

from channels.voice.callbacks import CallbackBook, result_of
from channels.voice.calls import Call, CallerLine
from channels.voice.phone import PhoneEntry
from channels.voice.sip.dialling import Outcome
from channels.voice.sip.settings import SipSettings
from channels.voice.payloads import (
    MAX_SIGNAL_BYTES, CallAnswer, CallCallback, CallConsult, CallDial, CallHold, CallMonitor, CallMonitorMode, CallMute,
    CallRecording, CallRef, CallStart, CallTransfer,
)

log = logging.getLogger(__name__)
CallPayload = TypeVar("CallPayload", CallHold, CallMute, CallRecording, CallRef, CallTransfer, CallConsult)

# How often a call's line quality is sampled: a side that vanishes takes its figures with it, so
# the call keeps the last ones taken.
QUALITY_SAMPLE_SECONDS = 5.0
# A waiting caller hears their place in line when they first learn it, then at this interval.
ANNOUNCE_SECONDS = 30.0
# Callback requests (count, seconds): per number, so nobody's phone is made to ring over and
# over by strangers; per visitor IP, so one page can't file requests for many numbers.
CALLBACK_LIMITS = {"number": (3, 3600), "ip": (10, 3600)}
# Calls an agent places (count, seconds): a stolen session can't run up a bill.
CALLS_OUT_LIMIT = (60, 3600)
# How long a stopping gateway waits for calls out being given up to settle (their CANCEL answered).
STOP_SECONDS = 3.0
# How often callbacks whose window closed unserved are looked for.
CALLBACK_SWEEP_SECONDS = 5.0


class VoiceChannel(Channel):
    name = "voice"
    uses_media = True

    def __init__(self, settings: ChannelConfig) -> None:
        extra = dict(settings.model_extra or {})
        sip = extra.pop("sip", None)
        if extra:
            raise ValueError(f"unknown settings {sorted(extra)}")
        self.settings = settings
        # Phone calls from SIP trunks, when configured: the same calls, reached another way.
        self._phones = PhoneEntry(self, SipSettings(**sip)) if sip is not None else None
        self._ctx: ChannelContext | None = None
        self._calls: dict[str, Call] = {}
        # Calls being set up (media open, conversation not yet stored): why one ended meanwhile, if it did.
        self._starting: dict[str, str | None] = {}
        self._callbacks: CallbackBook | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # calls out ringing, attempts settling
        self._sweeper: asyncio.Future[None] | None = None

    @property
    def ctx(self) -> ChannelContext:
        assert self._ctx is not None, "the voice channel is not started"
        return self._ctx

    @property
    def callbacks(self) -> CallbackBook:
        assert self._callbacks is not None, "the voice channel is not started"
        return self._callbacks

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        self._callbacks = CallbackBook(ctx)
        if self._phones is not None:
            await self._phones.start()
        self._sweeper = asyncio.ensure_future(self._expire_callbacks())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for call in list(self._calls.values()):
            await self._end(call, "the gateway stopped")  # a ringing call out is CANCELled; its attempt settles
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        if self._phones is not None:
            await self._phones.stop()

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, reply: OutboundMessage) -> None:
        """A line typed during a call reaches the visitor's widget live, as in a chat."""

    def widget_features(self) -> Mapping[str, bool]:
        return {"calls": True}

    def held_object(self, data: Any) -> str | None:
        call_id = data.get("call_id") if isinstance(data, dict) else None
        return call_id if isinstance(call_id, str) else None

    def holds(self, key: str) -> bool:
        return key in self._calls

    def visitor_events(self) -> Mapping[str, VisitorHandler]:
        return {"call_config": self.call_config, "call_start": self.call_start, "call_mute": self.visitor_mute,
                "call_hangup": self.visitor_hangup, "call_callback": self.call_callback}

    def agent_events(self) -> Mapping[str, AgentHandler]:
        return {"call_config": self.call_config, "call_answer": self.call_answer, "call_hold": self.call_hold,
                "call_mute": self.agent_mute, "call_recording": self.call_recording, "call_hangup": self.agent_hangup,
                "call_transfer": self.call_transfer, "call_consult": self.call_consult,
                "call_consult_answer": self.call_consult_answer, "call_consult_decline": self.call_consult_decline,
                "call_consult_cancel": self.call_consult_cancel, "call_consult_complete": self.call_consult_complete,
                "call_monitor": self.call_monitor, "call_monitor_mode": self.call_monitor_mode,
                "call_monitor_leave": self.call_monitor_leave, "call_dial": self.call_dial}

    async def call_config(self, who: VisitorCall | AgentCall, data: Any) -> Ack:
        """The STUN/TURN servers a browser needs before it makes its offer."""
        payload = parse(Empty, data)
        if isinstance(payload, dict):
            return payload
        return ok(ice_servers=self.ctx.ice_servers())

    # ---- the visitor ----
    async def call_start(self, who: VisitorCall, data: Any) -> Ack:
        offer = parse(CallStart, data, MAX_SIGNAL_BYTES)
        if isinstance(offer, dict):
            return offer
        if who.tenant_id not in await self.ctx.tenant_ids():
            return error("channel_disabled", "calls are not offered here")
        if any(c.visitor == (who.tenant_id, who.visitor_id) for c in self._calls.values()):
            return error("call_in_progress", "this visitor is on a call already; hang it up first")
        try:
            call, answer = await self.open_call(who.tenant_id, who.identity, "Call from the website", offer.sdp,
                                                visitor=(who.tenant_id, who.visitor_id), join=who.join)
        except MediaError as exc:
            return error("bad_offer", str(exc))
        return ok(call_id=call.id, conversation_id=call.conversation_id, sdp=answer)

    async def open_call(self, tenant_id: str, identity: tuple[str, str], subject: str, sdp: str, *,
                        visitor: tuple[str, str] | None = None, join: Callable[[str], Awaitable[None]] | None = None,
                        address: str | None = None, peer_ip: str | None = None, queue_id: str | None = None,
                        line: CallerLine | None = None, enqueue: bool = True,
                        callback_number: str | None = None) -> tuple[Call, str]:
        """A caller's call placed in the queue: their media leg opened (a browser's WebRTC offer,
        or with `address` a phone's plain RTP one), the conversation stored with the contact
        `identity`, the task queued (unless not `enqueue`: a phone caller choosing from the
        tenant's menu first, see `enqueue`), the recording started. Returns the call and the
        answer SDP; MediaError when the offer can't be answered (nothing is kept then)."""
        call_id = new_id()
        self._starting[call_id] = None
        try:
            answer = await self.ctx.media.open_leg(call_id, f"{call_id}.customer", "customer", sdp, address=address,
                                                   peer_ip=peer_ip)
            try:
                contact_id = await self.ctx.identify_contact(tenant_id, *identity)
                async with self.ctx.unit() as unit:
                    conversation_id = await unit.open_conversation(
                        tenant_id, contact_id, subject=subject, queue_id=queue_id, attributes={"call": {"id": call_id}})
                    if join is not None:  # in the room before the task is queued: the first place in line is told at once
                        await join(conversation_id)
                    await unit.record("call.started", tenant_id, {"conversation_id": conversation_id, "call_id": call_id},
                                      conversation_id=conversation_id)
                    task_id = await unit.enqueue_task(tenant_id, conversation_id, queue_id=queue_id) if enqueue else ""
            except BaseException:
                await self.ctx.media.end_call(call_id)  # nothing of the call is kept: its media goes too
                raise
            call = self._calls[call_id] = Call(call_id, tenant_id, conversation_id, task_id, visitor, line=line,
                                               callback_number=callback_number)
            call.watcher = asyncio.create_task(self._watch(call))
            await self.ctx.hold(call_id)  # an agent on another gateway process reaches the call here
            if await self._records(tenant_id):
                await self._start_recording(call)
            ended = self._starting.get(call_id)
            if ended is not None:  # the caller was gone before the call was stored
                await self._end(call, ended)
            return call, answer
        finally:
            self._starting.pop(call_id, None)

    def call_of(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def call_of_task(self, task_id: str) -> Call | None:
        return next((call for call in self._calls.values() if call.task_id == task_id), None)

    async def answered_on_phone(self, call: Call, agent_id: str, line: CallerLine) -> bool:
        """The agent took the call on their own SIP phone (seats.py), its task accepted for them;
        False when the call ended meanwhile."""
        if call.state == "ended":
            return False
        call.state, call.answered = "talking", time.monotonic()
        await self._on_desk_phone(call, agent_id, line)
        return True

    async def _on_desk_phone(self, call: Call, agent_id: str, line: CallerLine) -> None:
        call.agent_id, call.agent_device, call.agent_line = agent_id, "phone", line
        await self._record(call, "call.answered", agent_id=agent_id, device="phone")
        # The agent's inbox shows the call's controls (its own tab has no audio of it).
        await self.ctx.live(ephemeral_event("call.desk_phone_answered", call.tenant_id, {
            "agent_id": agent_id, "call_id": call.id, "conversation_id": call.conversation_id}))

    async def enqueue(self, call: Call, queue_id: str | None, required_skills: dict[str, int] | None = None) -> None:
        """A call opened without its task (a phone caller in the menu) joins the queue now;
        `required_skills` in place of the queue's (a menu option asked for one)."""
        if call.task_id or call.state == "ended":
            return
        async with self.ctx.unit() as unit:
            call.task_id = await unit.enqueue_task(call.tenant_id, call.conversation_id, queue_id=queue_id,
                                                   required_skills=required_skills)

    async def announce(self, call: Call, text: str) -> None:
        """Words for a waiting caller (a phone menu, a greeting), in place of the hold melody."""
        with contextlib.suppress(MediaError):
            await self.ctx.media.announce(call.id, text, beeps=0)

    async def end_call(self, call_id: str, reason: str) -> None:
        """Ends a call (a phone caller hung up, say), or one still being set up as soon as it is stored."""
        call = self._calls.get(call_id)
        if call is not None:
            await self._end(call, reason)
        elif call_id in self._starting:
            self._starting[call_id] = reason

    async def visitor_mute(self, who: VisitorCall, data: Any) -> Ack:
        form = parse(CallMute, data)
        if isinstance(form, dict):
            return form
        call = self._visitors_call(who, form.call_id)
        if call is None:
            return error("not_found", "no such call")
        await self.ctx.media.set_muted(call.id, call.customer_leg, form.muted)
        return ok()

    async def visitor_hangup(self, who: VisitorCall, data: Any) -> Ack:
        form = parse(CallRef, data)
        if isinstance(form, dict):
            return form
        call = self._visitors_call(who, form.call_id)
        if call is None:
            return error("not_found", "no such call")
        await self._end(call, "the customer hung up")
        return ok()

    async def call_callback(self, who: VisitorCall, data: Any) -> Ack:
        """The caller would rather be called back than wait: the request is recorded (the
        callback itself is dialled by the SIP channel) and the call ends, not as abandoned."""
        form = parse(CallCallback, data)
        if isinstance(form, dict):
            return form
        call = self._visitors_call(who, form.call_id)
        if call is None:
            return error("not_found", "no such call")
        if call.agent_id is not None:
            return error("not_waiting", "an agent has answered this call")
        region = (await self.call_settings(who.tenant_id)).get("default_region") or None
        try:
            number = normalise_identity("phone", form.number, region)
        except InvalidIdentity:
            return error("invalid_number", "write the number with its country code, e.g. +44 20 7946 0000")
        try:
            window = _window(form.window_from, form.window_to)
        except ValueError as exc:
            return error("invalid", str(exc))
        refused = await self.request_callback(call, number, ip=who.ip, topic=form.topic.strip(), **window)
        return refused or ok()

    async def request_callback(self, call: Call, number: str, *, ip: str | None = None, topic: str = "",
                               **window: str) -> Ack | None:
        """A waiting caller would rather be called back at `number` (E.164): the request is
        recorded and the call ends, not as abandoned; or the refusal (see callback_refused) and
        the call goes on."""
        refused = await self.callback_refused(call.tenant_id, number, ip)
        if refused is None:
            await self.record_callback(call, number, topic=topic, **window)
        return refused

    async def callback_refused(self, tenant_id: str, number: str, ip: str | None = None) -> Ack | None:
        """Why a callback to `number` can't be taken (the error ack), or None: a country the
        tenant doesn't call, or beyond CALLBACK_LIMITS per number and per IP (counted here)."""
        if not await self.may_call_back(tenant_id, number):
            return error("country_not_allowed", "we can't call back numbers in that country")
        budgets = [(f"callback-number:{tenant_id}:{number}", *CALLBACK_LIMITS["number"])]
        if ip:
            budgets.append((f"callback-ip:{ip}", *CALLBACK_LIMITS["ip"]))
        retry_after = await self.ctx.within_limits(budgets)
        if retry_after is not None:
            return error("rate_limited", f"too many callback requests; try again in {retry_after} s", retry_after=retry_after)
        return None

    async def record_callback(self, call: Call, number: str, *, topic: str = "", window_from: str | None = None,
                              window_to: str | None = None) -> None:
        """A callback request already checked (callback_refused): recorded with its task in the
        caller's place (callbacks.py), and the call ends."""
        settings = await self.call_settings(call.tenant_id)
        async with self.ctx.unit() as unit:
            await unit.record("callback.requested", call.tenant_id, {
                "conversation_id": call.conversation_id, "call_id": call.id, "number": number, "topic": topic,
                "window_from": window_from, "window_to": window_to}, conversation_id=call.conversation_id)
            await self.callbacks.request(
                unit, tenant_id=call.tenant_id, conversation_id=call.conversation_id, waiting_task_id=call.task_id or None,
                number=number, topic=topic, settings=settings,
                window_from=datetime.fromisoformat(window_from) if window_from else None,
                window_to=datetime.fromisoformat(window_to) if window_to else None)
        if call.task_id:  # out of the queue at once: the callback task now stands in its place
            with contextlib.suppress(RoutingConflict):
                await self.ctx.cancel_task(call.task_id, "cancelled")
        await self._end(call, "the caller asked to be called back", waited_for_callback=True)

    async def may_call_back(self, tenant_id: str, number: str) -> bool:
        """Whether the tenant calls back numbers of that country (call settings' callback_countries)."""
        countries = (await self.call_settings(tenant_id)).get("callback_countries") or []
        return not countries or phonenumbers.region_code_for_number(phonenumbers.parse(number)) in countries

    def _visitors_call(self, who: VisitorCall, call_id: str) -> Call | None:
        call = self._calls.get(call_id)
        return call if call is not None and call.visitor == (who.tenant_id, who.visitor_id) else None

    # ---- the agent ----
    async def call_answer(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallAnswer, data, MAX_SIGNAL_BYTES)
        if isinstance(form, dict):
            return form
        call = self._calls.get(form.call_id) or await self._callback_call(who, form.call_id)
        if isinstance(call, dict):
            return call
        holder = await self.ctx.task_holder(call.tenant_id, call.task_id) if call is not None else None
        if call is None or holder is None or holder[1] != who.user_id:
            return error("not_found", "no such call among your work")
        if holder[0] != "assigned":
            return error("not_accepted", "accept the call's task first")
        if call.agent_id == who.user_id:
            return error("already_answered", "this call has been answered")
        if call.agent_id is not None:  # handed on with the inbox's transfer_task: the caller leaves the last agent
            await self._agent_leaves(call, to=who.user_id)
        call.agent_id = who.user_id  # taken before the wait below: a second answer is refused
        try:
            answer = await self.ctx.media.open_leg(call.id, call.agent_leg, "agent", form.sdp)
        except MediaError as exc:
            call.agent_id = None
            if call.callback is not None and not call.dialled:  # nobody was dialled: the attempt failed
                self._spawn(self._callback_missed(call, "failed", None, "the agent's connection could not be set up"))
            return error("bad_offer", str(exc))
        if call.callback is not None and not call.dialled:
            await self._record(call, "call.answered", agent_id=who.user_id)
            await self._dial_callback(call)
        else:
            call.state, call.answered = "talking", time.monotonic()
            await self._record(call, "call.answered", agent_id=who.user_id)
        return ok(sdp=answer, conversation_id=call.conversation_id, recording=call.recording is not None)

    async def call_hold(self, who: AgentCall, data: Any) -> Ack:
        found = self._own_call(who, data, CallHold)
        if isinstance(found, dict):
            return found
        form, call = found
        if (call.state == "held") != form.on:
            await self.ctx.media.set_hold(call.id, form.on)
            call.state = "held" if form.on else "talking"
            await self._record(call, "call.held" if form.on else "call.resumed")
        return ok()

    async def agent_mute(self, who: AgentCall, data: Any) -> Ack:
        found = self._own_call(who, data, CallMute)
        if isinstance(found, dict):
            return found
        form, call = found
        await self.ctx.media.set_muted(call.id, call.agent_leg, form.muted)
        return ok()

    async def call_recording(self, who: AgentCall, data: Any) -> Ack:
        found = self._own_call(who, data, CallRecording)
        if isinstance(found, dict):
            return found
        form, call = found
        if call.recording is None:
            return error("not_recording", "this call is not recorded")
        await self.ctx.media.pause_recording(call.id, form.paused)
        await self._record(call, "call.recording_paused" if form.paused else "call.recording_resumed")
        return ok()

    async def call_transfer(self, who: AgentCall, data: Any) -> Ack:
        """A blind transfer: the task goes to the queue or colleague (keeping its place), the
        caller hears hold audio until the next agent answers, and this agent is off the call."""
        found = self._own_call(who, data, CallTransfer)
        if isinstance(found, dict):
            return found
        form, call = found
        try:
            await self.ctx.transfer_task(call.task_id, who.user_id, queue_id=form.queue_id, agent_id=form.agent_id, note=form.note)
        except RoutingConflict as exc:
            return error(exc.code, str(exc))
        await self._agent_leaves(call, to=form.agent_id, queue_id=form.queue_id)
        return ok()

    # ---- a warm transfer: consult a colleague first ----
    async def call_consult(self, who: AgentCall, data: Any) -> Ack:
        found = self._own_call(who, data, CallConsult)
        if isinstance(found, dict):
            return found
        form, call = found
        if call.consultant is not None:
            return error("consulting", "you are consulting a colleague already")
        if form.agent_id == who.user_id or not await self.ctx.is_member(call.tenant_id, form.agent_id):
            return error("not_found", "no such colleague in this tenant")
        if call.state != "held":
            await self.ctx.media.set_hold(call.id, True)
            call.state = "held"
        call.consultant, call.consult_answered = form.agent_id, False
        await self._record(call, "call.consult_started", agent_id=form.agent_id, by_agent_id=who.user_id)
        await self.ctx.live(ephemeral_event("call.consult_offered", call.tenant_id, {
            "agent_id": form.agent_id, "call_id": call.id, "conversation_id": call.conversation_id,
            "from_agent_id": who.user_id, "from_agent_name": await self.ctx.agent_name(who.user_id)}))
        return ok()

    async def call_consult_answer(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallAnswer, data, MAX_SIGNAL_BYTES)
        if isinstance(form, dict):
            return form
        call = self._calls.get(form.call_id)
        if call is None or call.consultant != who.user_id:
            return error("not_found", "nobody is consulting you on this call")
        if call.consult_answered:
            return error("already_answered", "you are on this consult already")
        call.consult_answered = True
        try:
            answer = await self.ctx.media.open_leg(call.id, call.agent_leg_of(who.user_id), "agent", form.sdp)
        except MediaError as exc:
            call.consult_answered = False
            return error("bad_offer", str(exc))
        await self._record(call, "call.consult_answered", agent_id=who.user_id)
        return ok(sdp=answer, conversation_id=call.conversation_id)

    async def call_consult_decline(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallRef, data)
        if isinstance(form, dict):
            return form
        call = self._calls.get(form.call_id)
        if call is None or call.consultant != who.user_id:
            return error("not_found", "nobody is consulting you on this call")
        await self._end_consult(call, "declined")
        return ok()

    async def call_consult_cancel(self, who: AgentCall, data: Any) -> Ack:
        """The agent goes back to the caller (still on hold: call_hold off resumes) without handing on."""
        form = parse(CallRef, data)
        if isinstance(form, dict):
            return form
        call = self._agents_call(who, form.call_id)
        if call is None or call.consultant is None:
            return error("not_found", "you are not consulting anyone on this call")
        await self._end_consult(call, "cancelled")
        return ok()

    async def call_consult_complete(self, who: AgentCall, data: Any) -> Ack:
        """The colleague takes the caller over: this agent leaves, the hold ends, and the task
        goes to the colleague (accepted for them, since they are on the call already)."""
        form = parse(CallRef, data)
        if isinstance(form, dict):
            return form
        call = self._agents_call(who, form.call_id)
        if call is None or call.consultant is None or not call.consult_answered:
            return error("not_found", "no colleague on this call to hand it to")
        colleague, leg = call.consultant, call.agent_leg
        call.agent_id = colleague  # before the transfer: routing may offer the task to them at once (_accept_for_colleague)
        try:
            await self.ctx.transfer_task(call.task_id, who.user_id, agent_id=colleague)
        except RoutingConflict as exc:
            call.agent_id = who.user_id
            return error(exc.code, str(exc))
        await self.ctx.media.close_leg(call.id, leg)
        if call.agent_line is not None:  # the first agent was on their own phone
            await call.agent_line.hang_up()
        call.agent_device, call.agent_line = "browser", None
        call.consultant, call.consult_answered, call.state = None, False, "talking"
        await self.ctx.media.set_hold(call.id, False)
        await self._record(call, "call.transferred", from_agent_id=who.user_id, to_agent_id=colleague, queue_id=None, warm=True)
        return ok()

    async def _end_consult(self, call: Call, outcome: str) -> None:
        colleague, answered = call.consultant, call.consult_answered
        call.consultant, call.consult_answered = None, False
        if colleague is not None and answered:
            await self.ctx.media.close_leg(call.id, call.agent_leg_of(colleague))
        await self._record(call, "call.consult_ended", agent_id=colleague, outcome=outcome)

    async def _agent_leaves(self, call: Call, *, to: str | None, queue_id: str | None = None) -> None:
        previous, leg, held, phone = call.agent_id, call.agent_leg, call.state == "held", call.agent_line
        call.agent_id, call.state, call.agent_device, call.agent_line = None, "waiting", "browser", None
        call.handed_on = True
        if held:  # the caller hears hold audio anyway until the next agent answers, who starts off hold
            await self.ctx.media.set_hold(call.id, False)
        await self.ctx.media.close_leg(call.id, leg)
        if phone is not None:
            await phone.hang_up()
        await self._record(call, "call.transferred", from_agent_id=previous, to_agent_id=to, queue_id=queue_id)

    async def agent_hangup(self, who: AgentCall, data: Any) -> Ack:
        found = self._own_call(who, data, CallRef)
        if isinstance(found, dict):
            return found
        form, call = found
        await self._end(call, "the agent hung up")
        return ok()

    def _own_call(self, who: AgentCall, data: Any, model: type[CallPayload]) -> tuple[CallPayload, Call] | Ack:
        """The checked payload and the call it names, when that call is this agent's; else the error ack."""
        form = parse(model, data)
        if isinstance(form, dict):
            return form
        call = self._agents_call(who, form.call_id)
        if call is None:
            return error("not_found", "no such call among your work")
        return form, call

    def _agents_call(self, who: AgentCall, call_id: str) -> Call | None:
        call = self._calls.get(call_id)
        return call if call is not None and call.agent_id == who.user_id else None

    # ---- calls the gateway places: click-to-call, callbacks ----
    async def call_dial(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallDial, data, MAX_SIGNAL_BYTES)
        if isinstance(form, dict):
            return form
        if not await self.ctx.is_member(form.tenant_id, who.user_id) or form.tenant_id not in await self.ctx.tenant_ids():
            return error("not_found", "no such tenant among yours")
        if self._phones is None or not self._phones.dials_out:
            return error("no_trunk", "calls can't be placed: no SIP trunk is set up for calls out")
        region = (await self.call_settings(form.tenant_id)).get("default_region") or None
        try:
            number = normalise_identity("phone", form.number, region)
        except InvalidIdentity:
            return error("invalid_number", "write the number with its country code, e.g. +44 20 7946 0000")
        if await self.ctx.find_contact(form.tenant_id, "phone", number) != form.contact_id:
            return error("not_found", "that number is not the contact's")
        if not await self.may_call_back(form.tenant_id, number):
            return error("country_not_allowed", "this tenant does not call numbers in that country")
        if any(call.agent_id == who.user_id or call.consultant == who.user_id for call in self._calls.values()):
            return error("on_a_call", "hang up your call first")
        retry_after = await self.ctx.within_limits([(f"calls-out:{who.user_id}", *CALLS_OUT_LIMIT)])
        if retry_after is not None:
            return error("rate_limited", f"too many calls placed; try again in {retry_after} s", retry_after=retry_after)
        call_id = new_id()
        async with self.ctx.unit() as unit:
            conversation_id = await unit.open_conversation(form.tenant_id, form.contact_id, subject=f"Call to {number}",
                                                           attributes={"call": {"id": call_id, "direction": "outbound"}})
            await unit.record("call.started", form.tenant_id, {"conversation_id": conversation_id, "call_id": call_id,
                                                               "direction": "outbound", "number": number, "agent_id": who.user_id},
                              conversation_id=conversation_id)
            task_id = await unit.agents_own_task(form.tenant_id, conversation_id, who.user_id)
        try:
            await self.ctx.assign_task(task_id, who.user_id)
        except RoutingConflict:
            async with self.ctx.unit() as unit:  # nothing was dialled: the conversation is closed again
                await unit.record("call.ended", form.tenant_id, {"conversation_id": conversation_id, "call_id": call_id,
                                                                 "reason": "not placed: the agent had no room for a call",
                                                                 "seconds": 0, "talk_seconds": 0},
                                  conversation_id=conversation_id)
                await unit.close_conversation(form.tenant_id, conversation_id)
            return error("busy", "you have no room for a call now (another call, or your capacity)")
        call = self._calls[call_id] = Call(call_id, form.tenant_id, conversation_id, task_id, None, agent_id=who.user_id,
                                           state="dialling")
        call.watcher = asyncio.create_task(self._watch(call))
        await self.ctx.hold(call_id)
        try:
            answer = await self.ctx.media.open_leg(call_id, call.agent_leg, "agent", form.sdp)
        except MediaError as exc:
            await self._end(call, "the agent's connection could not be set up")
            return error("bad_offer", str(exc))
        if await self._records(form.tenant_id):
            await self._start_recording(call)
        self._spawn(self._ring(call, number))
        return ok(call_id=call_id, conversation_id=conversation_id, sdp=answer, recording=call.recording is not None)

    async def _callback_call(self, who: AgentCall, call_id: str) -> Call | Ack | None:
        """The call of a callback whose task this agent accepted, opened for dialling; None when
        `call_id` is no such callback's."""
        if self._phones is None or not self._phones.dials_out:
            return None if await self.callbacks.pending(call_id) is None else error(
                "no_trunk", "callbacks can't be dialled: no SIP trunk is set up for calls out")
        return await self._claim_callback(call_id, who.user_id)

    async def _claim_callback(self, call_id: str, agent_id: str) -> Call | None:
        attempt = await self.callbacks.claim(call_id, agent_id)
        if attempt is None:
            return None
        call = self._calls[call_id] = Call(call_id, attempt.tenant_id, attempt.conversation_id, attempt.task_id, None,
                                           callback=attempt)
        call.watcher = asyncio.create_task(self._watch(call))
        await self.ctx.hold(call_id)
        await self._record(call, "call.started", direction="outbound", number=attempt.number)
        return call

    async def callback_on_phone(self, call_id: str, agent_id: str, line: CallerLine) -> bool:
        """The agent picked up a callback's offer on their desk phone (seats.py; its task accepted
        for them, the phone's leg of `call_id` answered): the customer is dialled. False when the
        callback is not theirs to dial (taken meanwhile)."""
        call = await self._claim_callback(call_id, agent_id)
        if call is None:
            return False
        await self._on_desk_phone(call, agent_id, line)
        await self._dial_callback(call)
        return True

    async def _dial_callback(self, call: Call) -> None:
        """The agent is on the line: the customer's phone rings (in the background)."""
        assert call.callback is not None
        call.state, call.dialled = "dialling", True
        if await self._records(call.tenant_id):
            await self._start_recording(call)
        self._spawn(self._ring(call, call.callback.number))

    async def _ring(self, call: Call, number: str) -> None:
        """The customer's phone rings for a call the gateway places; the agent hears them once
        they answer. Not reached: the call ends (a callback's attempt is settled first)."""
        assert self._phones is not None
        try:
            outcome = await self._phones.place(call, number)
        except Exception:
            log.exception("a call out failed", extra={"call_id": call.id})
            outcome = Outcome(500, "the gateway failed placing the call")
        if outcome.answered and call.state != "ended":
            call.answered = time.monotonic()
            if call.state == "dialling":  # else the agent holds it already: it stays held
                call.state = "talking"
            if call.callback is not None:
                await self.callbacks.answered(call.callback, outcome.status)
            else:
                await self._record(call, "call.answered", agent_id=call.agent_id, number=number)
            return
        result = "given_up" if outcome.answered else result_of(outcome.status)
        reason = f"the customer was not reached ({outcome.reason})"
        if call.callback is not None:
            await self._callback_missed(call, result, outcome.status, reason)
        else:
            await self._end(call, reason)

    async def _callback_missed(self, call: Call, result: str, sip_status: int | None, reason: str) -> None:
        assert call.callback is not None
        await self.callbacks.missed(call.callback, result, sip_status)  # type: ignore[arg-type]
        await self._end(call, reason)

    async def _expire_callbacks(self) -> None:
        """Callbacks whose window closed before any agent took them up leave the queue; attempts
        a stopped process left ringing count as failed (tried again, or the callback fails), and
        the agent who had taken them goes on to wrap-up."""
        while True:
            await asyncio.sleep(CALLBACK_SWEEP_SECONDS)
            try:
                for task_id in await self.callbacks.expired():
                    with contextlib.suppress(RoutingConflict):
                        await self.ctx.cancel_task(task_id, "cancelled")
                for attempt in await self.callbacks.abandoned_attempts():
                    if attempt.task_id in {call.task_id for call in self._calls.values()}:
                        continue  # still ringing here after all
                    await self.callbacks.missed(attempt, "failed", None)
                    with contextlib.suppress(RoutingConflict):
                        await self.ctx.end_live_work(attempt.task_id, attempt.agent_id)
            except Exception:
                log.exception("expired callbacks could not be settled")

    # ---- supervisors ----
    async def call_monitor(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallMonitor, data, MAX_SIGNAL_BYTES)
        if isinstance(form, dict):
            return form
        call = self._supervised_call(who, form.call_id)
        if call is None:
            return error("not_found", "no such live call in a tenant you supervise")
        if who.user_id in call.supervisors:
            return error("already_monitoring", "you are on this call already")
        call.supervisors[who.user_id] = form.mode  # taken before the wait below: a second join is refused
        try:
            answer = await self.ctx.media.open_leg(call.id, call.supervisor_leg(who.user_id), "supervisor", form.sdp, mode=form.mode)
        except MediaError as exc:
            del call.supervisors[who.user_id]
            return error("bad_offer", str(exc))
        await self._record_supervision(call, "supervision.started", who.user_id, form.mode)
        return ok(sdp=answer, conversation_id=call.conversation_id)

    async def call_monitor_mode(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallMonitorMode, data)
        if isinstance(form, dict):
            return form
        call = self._supervised_call(who, form.call_id)
        if call is None or who.user_id not in call.supervisors:
            return error("not_found", "you are not on this call")
        if call.supervisors[who.user_id] != form.mode:
            await self.ctx.media.set_mode(call.id, call.supervisor_leg(who.user_id), form.mode)
            call.supervisors[who.user_id] = form.mode
            await self._record_supervision(call, "supervision.mode_changed", who.user_id, form.mode)
        return ok()

    async def call_monitor_leave(self, who: AgentCall, data: Any) -> Ack:
        form = parse(CallRef, data)
        if isinstance(form, dict):
            return form
        call = self._supervised_call(who, form.call_id)
        if call is None or who.user_id not in call.supervisors:
            return error("not_found", "you are not on this call")
        await self.ctx.media.close_leg(call.id, call.supervisor_leg(who.user_id))
        await self._supervisor_left(call, who.user_id)
        return ok()

    def _supervised_call(self, who: AgentCall, call_id: str) -> Call | None:
        call = self._calls.get(call_id)
        return call if call is not None and who.principal.can(call.tenant_id, SUPERVISE) else None

    async def _supervisor_left(self, call: Call, user_id: str) -> None:
        mode = call.supervisors.pop(user_id, None)
        if mode is not None:
            await self._record_supervision(call, "supervision.ended", user_id, mode)

    async def _record_supervision(self, call: Call, event: str, user_id: str, mode: str) -> None:
        # Not call.*: those reach the agent's conversation room, and a supervisor listening in
        # stays unseen by the agent (supervisors see every event of their tenant).
        await self._record(call, event, supervisor_id=user_id, mode=mode)

    # ---- a waiting caller's place in line ----
    async def on_event(self, event: DomainEvent) -> None:
        if self._phones is not None:
            self._phones.seats.on_event(event)
        if event.type == "task.offered":
            await self._accept_for_colleague(event)
        if event.type != "task.position":
            return
        call = next((c for c in self._calls.values() if c.conversation_id == event.conversation_id), None)
        if call is None or call.agent_id is not None:
            return
        first = call.position is None
        call.position = (int(event.data.get("position") or 0), event.data.get("estimated_wait_seconds"))
        if first:
            await self._announce_position(call)

    async def _accept_for_colleague(self, event: DomainEvent) -> None:
        """A call handed on after a consult is offered to the colleague who already talks to the caller."""
        call = next((c for c in self._calls.values() if c.task_id == event.data.get("task_id")), None)
        if call is not None and event.data.get("agent_id") == call.agent_id:
            try:
                await self.ctx.accept_task(call.task_id, call.agent_id)
            except RoutingConflict:
                log.warning("a warm-transferred call's task could not be accepted for the colleague", extra={"call_id": call.id})

    async def _announce_position(self, call: Call) -> None:
        if call.position is None or call.state != "waiting":
            return
        position, wait = call.position
        text = f"You are number {position} in line."
        if wait:
            minutes = max(1, round(wait / 60))
            text += f" The expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."
        if call.callback_number:
            text += " To be called back instead, press 1."
        call.announced = time.monotonic()
        with contextlib.suppress(MediaError):
            await self.ctx.media.announce(call.id, text, beeps=position)

    # ---- the media layer ----
    async def on_media_event(self, event: MediaEvent) -> None:
        if event.kind == "dtmf":
            if self._phones is not None:
                self._phones.key_pressed(event.call_id, event.detail)
            return
        call = self._calls.get(event.call_id)
        if call is None:
            if event.call_id in self._starting and event.kind in ("failed", "closed", "worker_lost"):
                self._starting[event.call_id] = "the customer's connection ended while the call was set up"
            return
        if event.kind == "worker_lost":
            await self._end(call, "the call's media failed")
        elif event.kind in ("failed", "closed"):
            supervisor = next((user for user in call.supervisors if call.supervisor_leg(user) == event.leg_id), None)
            if supervisor is not None:  # a supervisor's browser went away: the call goes on
                await self._supervisor_left(call, supervisor)
                return
            if call.consultant is not None and event.leg_id == call.agent_leg_of(call.consultant):
                call.consult_answered = False  # its leg is gone already
                await self._end_consult(call, "the colleague's connection ended")
                return
            who = "customer" if event.leg_id == call.customer_leg else "agent"
            await self._end(call, f"the {who}'s connection {'failed' if event.kind == 'failed' else 'closed'}")

    # ---- the end of a call ----
    async def _end(self, call: Call, reason: str, *, waited_for_callback: bool = False) -> None:
        """Hang up both legs, keep the recording, and settle the task: one nobody answered was
        abandoned; an answered one goes on to the agent's wrap-up. Runs once per call."""
        if call.state == "ended":
            return
        call.state = "ended"
        if call.dialling is not None:
            call.dialling.cancel()  # the ringing phone: _ring records the attempt as given up
        seconds, talk_seconds = call.seconds()
        quality = await self._quality(call)
        recording = None
        if call.recording is not None:
            try:
                recording = await self.ctx.media.stop_recording(call.id)
            except MediaError:
                log.warning("a call's recording could not be finished", extra={"call_id": call.id}, exc_info=True)
        with contextlib.suppress(MediaError):
            await self.ctx.media.end_call(call.id)
        if call.line is not None:
            await call.line.hang_up()  # a phone caller's line (SIP BYE), unless they hung up first
        if call.agent_line is not None:
            await call.agent_line.hang_up()  # the agent's own phone's
        self._calls.pop(call.id, None)
        await self.ctx.release(call.id)
        try:
            if recording is not None and recording.seconds > 0:
                await self._keep_recording(call, Path(recording.path), recording.seconds)
            await self._record(call, "call.ended", reason=reason, seconds=seconds, talk_seconds=talk_seconds, quality=quality)
            if call.callback is not None and call.answered is not None:
                await self.callbacks.completed(call.callback, talk_seconds)
        finally:
            if call.recording is not None:
                Path(call.recording).unlink(missing_ok=True)
            await self._settle_task(call, waited_for_callback)

    async def _quality(self, call: Call) -> dict[str, dict[str, Any]]:
        """Each side's network figures (round trip, jitter, loss) by role, as the call ends or,
        for a side already gone, as last sampled: kept with the call for whoever looks into a
        bad line later."""
        if call.watcher is not None:
            call.watcher.cancel()
        with contextlib.suppress(MediaError):
            legs = await self.ctx.media.stats(call.id)
            call.quality.update({figures.get("role", leg_id): {k: v for k, v in figures.items() if k != "role"}
                                 for leg_id, figures in legs.items()})
        return call.quality

    async def _watch(self, call: Call) -> None:
        """While the call lasts: its line quality sampled, a waiting caller's place told again."""
        while True:
            await asyncio.sleep(min(QUALITY_SAMPLE_SECONDS, ANNOUNCE_SECONDS))
            await self.ctx.hold(call.id)
            if call.announced is not None and time.monotonic() - call.announced >= ANNOUNCE_SECONDS:
                await self._announce_position(call)
            with contextlib.suppress(MediaError):
                legs = await self.ctx.media.stats(call.id)
                call.quality.update({figures.get("role", leg_id): {k: v for k, v in figures.items() if k != "role"}
                                     for leg_id, figures in legs.items()})

    async def _settle_task(self, call: Call, waited_for_callback: bool) -> None:
        if not call.task_id:
            return  # ended in the phone menu, before joining the queue
        if call.callback is not None and not call.handed_on:  # the agent's work whether or not anyone was reached
            call.agent_id = call.agent_id or call.callback.agent_id
        try:
            if call.agent_id is None:  # a caller who asked to be called back did not give up
                await self.ctx.cancel_task(call.task_id, "cancelled" if waited_for_callback else "abandoned")
            else:
                await self.ctx.end_live_work(call.task_id, call.agent_id)
        except RoutingConflict:
            pass  # already moved on (the agent wrapped up first, the task timed out...)

    # ---- recording ----
    async def call_settings(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's call settings (PUT /tenants/{id}/calls/settings), shared by every channel with calls."""
        return (await self.ctx.tenant_settings(tenant_id)).get("calls") or {}

    async def _records(self, tenant_id: str) -> bool:
        """Calls are recorded unless the tenant switched it off."""
        return (await self.call_settings(tenant_id)).get("record", True) is not False

    async def _start_recording(self, call: Call) -> None:
        folder = self.ctx.data_dir / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{call.id}.ogg"
        try:
            await self.ctx.media.start_recording(call.id, str(path))
        except MediaError:
            log.warning("a call could not be recorded", extra={"call_id": call.id}, exc_info=True)
            return
        call.recording = str(path)

    async def _keep_recording(self, call: Call, path: Path, seconds: float) -> None:
        stored = await self.ctx.store_file_from(call.tenant_id, path)
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d-%H%M")
        minutes, rest = divmod(round(seconds), 60)
        async with self.ctx.unit() as unit:
            await unit.append(call.tenant_id, call.conversation_id, kind="system", author_type="system",
                              body_text=f"Call recording ({minutes}:{rest:02d})",
                              meta={"call": {"id": call.id, "recording_seconds": round(seconds, 1)}},
                              files=[AttachedFile(stored, f"call-{started}.ogg", "audio/ogg")])

    async def _record(self, call: Call, event: str, **data: Any) -> None:
        async with self.ctx.unit() as unit:
            await unit.record(event, call.tenant_id, {"conversation_id": call.conversation_id, "call_id": call.id, **data},
                              conversation_id=call.conversation_id)


_MAX_CALLBACK_DAYS = 14


def _window(start: str | None, end: str | None) -> dict[str, str | None]:
    """The caller's preferred window, checked: both ends with their UTC offset, in order, soon."""
    parsed: list[datetime | None] = []
    for name, value in (("window_from", start), ("window_to", end)):
        moment = None
        if value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{name} is not an ISO 8601 date-time") from None
            if moment.tzinfo is None:
                raise ValueError(f"{name} needs its UTC offset, e.g. 2026-11-24T15:00:00+01:00")
        parsed.append(moment)
    first, last = parsed
    now = datetime.now(timezone.utc)
    if first and last and last <= first:
        raise ValueError("window_to must come after window_from")
    latest = last or first
    if latest is not None and latest < now:
        raise ValueError("the window is over already")
    if first and first > now + timedelta(days=_MAX_CALLBACK_DAYS):
        raise ValueError(f"a callback can be at most {_MAX_CALLBACK_DAYS} days ahead")
    return {"window_from": first.isoformat() if first else None, "window_to": last.isoformat() if last else None}

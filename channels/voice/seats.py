"""Remote seats: an agent's own SIP phone rings with the calls offered to them.

When routing offers a call to an agent whose phone is registered (registrar.py), the gateway
rings that phone with the caller shown, for as long as the offer rings. Picking up takes the
call: the task is accepted for the agent and the phone's audio becomes the agent's side of the
call (a plain RTP leg in the call's mixer), so hold, transfer, recording and supervision work as
for the inbox. Declining on the phone rejects the offer; answering in the inbox instead, or the
offer ending any other way, stops the ringing (CANCEL). Hanging up the phone hangs up the call,
and the agent goes on to wrap-up.

A callback's offer rings the phone too: picking up accepts it and the gateway dials the customer,
whom the agent hears once they answer. Not here: a call rings a phone only from the gateway process
that holds the call, where its media is (one process takes SIP; web calls taken by another process
ring the inbox alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any


from gateway.core import sip_phones
from gateway.events.bus import DomainEvent
from gateway.media.service import MediaError
from gateway.routing.engine import RoutingConflict

from channels.voice.calls import Call, phone_leg
from channels.voice.sip.dialling import PlacedCall
from channels.voice.sip.registrar import phone_address

if TYPE_CHECKING:
    from channels.voice.channel import VoiceChannel
    from channels.voice.phone import PhoneEntry

log = logging.getLogger(__name__)

DEFAULT_RING_SECONDS = 20.0  # when the offer does not say how long it rings
# The offer has ended one way or another: the phone stops ringing.
_OFFER_ENDED = ("task.accepted", "task.rejected", "task.offer_timed_out", "task.requeued", "task.cancelled",
                "task.abandoned", "task.timed_out", "task.transferred")
_DECLINED = (486, 600, 603)  # the agent pressed "reject" on the phone


class RemoteSeats:
    def __init__(self, voice: VoiceChannel, entry: PhoneEntry) -> None:
        self._voice, self._entry = voice, entry
        self._ringing: dict[str, PlacedCall] = {}  # by task id
        self._preparing: set[str] = set()  # offers whose phone is about to ring (task ids)
        self._withdrawn: set[str] = set()  # of those, the ones that ended meanwhile
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, event: DomainEvent) -> None:
        task_id = event.data.get("task_id")
        if event.type == "task.offered" and event.data.get("channel") in ("voice", "callback"):
            task = asyncio.ensure_future(self._ring(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event.type in _OFFER_ENDED:
            if task_id in self._ringing:
                self._ringing[task_id].cancel()
            elif task_id in self._preparing:
                self._withdrawn.add(task_id)

    async def stop(self) -> None:
        for placed in self._ringing.values():
            placed.cancel()
        for task in list(self._tasks):
            task.cancel()

    async def _ring(self, event: DomainEvent) -> None:
        task_id = event.data["task_id"]
        self._preparing.add(task_id)
        try:
            await self._ring_phone(event, task_id)
        finally:
            self._preparing.discard(task_id)
            self._withdrawn.discard(task_id)

    async def _ring_phone(self, event: DomainEvent, task_id: str) -> None:
        agent_id = event.data.get("agent_id")
        if agent_id is None:
            return
        if event.data.get("channel") == "callback":  # no call yet: the one it will be, once taken
            call, call_id = None, await self._voice.callbacks.call_of_task(task_id)
            if call_id is None or not self._entry.dials_out:
                return
            caller_name = "Callback"
        else:
            call = self._voice.call_of_task(task_id)
            if call is None or call.agent_id is not None:
                return  # not a call of this process's, or someone is on it already
            call_id, caller_name = call.id, _shown_caller(call)
        phone = await self._phone_of(agent_id)
        address = phone_address(phone.source or "") if phone is not None else None
        if phone is None or address is None:
            return
        media, leg = self._voice.ctx.media, phone_leg(call_id, agent_id)
        try:
            offer = await media.offer_leg(call_id, leg, "agent", address=self._entry.local_address_towards(address[0]),
                                          peer_ip=address[0])
        except MediaError:
            log.warning("an agent's phone could not be rung: no audio for it", exc_info=True)
            return
        expires_ms = event.data.get("expires_ms")
        ring_seconds = max(1.0, expires_ms / 1000 - time.time()) if isinstance(expires_ms, (int, float)) else DEFAULT_RING_SECONDS
        if task_id in self._withdrawn:  # the offer ended while the phone's audio was set up
            await self._drop_leg(call_id, leg, call is None)
            return
        placed = self._ringing[task_id] = PlacedCall(
            self._entry.endpoint, address, target=phone.contact, caller=f"sip:customer@{self._entry.endpoint.advertised_host}",
            caller_name=caller_name, sdp=offer, credentials=None, ring_seconds=ring_seconds)
        try:
            outcome = await placed.run()
        finally:
            self._ringing.pop(task_id, None)
        if outcome.dialog is None:
            await self._drop_leg(call_id, leg, call is None)
            if outcome.status in _DECLINED:
                with contextlib.suppress(RoutingConflict):  # the offer ended meanwhile
                    await self._voice.ctx.reject_task(task_id, agent_id)
            return
        line = self._entry.seat_line(outcome.dialog, call_id)
        try:
            await self._voice.ctx.accept_task(task_id, agent_id)
            await media.answer_leg(call_id, leg, outcome.sdp)
            taken = (await self._voice.callback_on_phone(call_id, agent_id, line) if call is None
                     else await self._voice.answered_on_phone(call, agent_id, line))
        except (RoutingConflict, MediaError) as exc:  # taken meanwhile, gone, or the phone's audio is unusable
            log.info("an agent's phone picked up a call it could not have: %s", exc)
            taken = False
        if not taken:
            await line.hang_up()
            await self._drop_leg(call_id, leg, call is None)

    async def _drop_leg(self, call_id: str, leg: str, for_callback: bool) -> None:
        """The phone's leg, unused. For a callback its offer made the call's media, which goes too,
        unless the callback was taken meanwhile (in the inbox) and its call lives on here."""
        media = self._voice.ctx.media
        if for_callback and self._voice.call_of(call_id) is None:
            await media.end_call(call_id)
        else:
            await media.close_leg(call_id, leg)

    async def _phone_of(self, user_id: str) -> Any | None:
        async with self._voice.ctx.unit() as unit:
            row = await sip_phones.of_user(unit.conn, user_id)
        return row if sip_phones.is_registered(row) and row.contact else None


def _shown_caller(call: Call) -> str:
    if call.visitor is not None:
        return "Web call"
    return call.callback_number or "Phone call"

"""Phone calls from SIP trunks into the voice channel's queue.

A trunk (by its source address, `[channels.voice.sip]` trunks) sends an INVITE to one of the
numbers a tenant has (sip/numbers.py). The call is answered at once (ringing, then 200 OK) with a plain
RTP leg, so the caller hears the tenant's greeting, chooses from its key-press menu when it has one
(the key picks the queue), then hears hold audio and their place in line while they wait, as a
web caller does: from then on it is the voice channel's call (agents answer it in the inbox, hold,
transfer, record it). The caller ID identifies the contact.

- While waiting, pressing 1 asks to be called back at the caller's own number (callback.requested,
  as from the widget's form); the call then ends, not as abandoned.
- A re-INVITE from the phone (hold, resume) updates its RTP leg.
- An unknown number gets 404; an offer without a codec we speak 488 (with the reason).
- A CANCEL before the answer, or the caller's BYE while waiting, ends the call as abandoned; the
  caller's BYE after an agent answered ends it as a hang-up. Ending it on our side sends BYE.

Agents' own SIP phones register here (registrar.py) and ring with the calls offered to them
(seats.py). Calls out (a callback, `place`) go through the first trunk with `outbound` settings, showing the
tenant's first number as the caller ID; the trunk's registration is kept when it asks for one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any

from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.media.service import MediaError
from gateway.ops.channel_health import HealthItem

from channels.voice.calls import Call
from channels.voice.sip.dialling import Outcome, PlacedCall, Registration, credentials_of, trunk_address
from channels.voice.seats import RemoteSeats
from channels.voice.sip.endpoint import Address, Dialog, IncomingCall, SipEndpoint
from channels.voice.sip.registrar import Registrar
from channels.voice.sip.message import SipMessage, uri_of, user_of
from channels.voice.sip.health import CHECK_SECONDS, TrunkHealth
from channels.voice.sip.numbers import CalledNumber, PhoneNumbers
from channels.voice.sip.settings import SipSettings
from channels.voice.sip.trunks import TrunkPolicy

if TYPE_CHECKING:
    from channels.voice.channel import VoiceChannel

log = logging.getLogger(__name__)


class PhoneLine:
    """A phone's dialog (a caller's, or an agent's own phone's), as the voice channel's Call holds it."""

    def __init__(self, entry: PhoneEntry, dialog: Dialog) -> None:
        self._entry = entry
        self.dialog = dialog

    async def hang_up(self) -> None:
        self._entry.forget(self.dialog)
        await self._entry.endpoint.bye(self.dialog)  # nothing is sent when the other side hung up first


class PhoneEntry:
    def __init__(self, voice: VoiceChannel, settings: SipSettings) -> None:
        self._voice = voice
        self._settings = settings
        self._numbers: PhoneNumbers | None = None  # once started: the channel context is given then
        self._calls: dict[str, str] = {}  # SIP Call-ID -> the voice call's id
        self._seat_calls: dict[str, str] = {}  # an agent's phone's SIP Call-ID -> the voice call it took
        self._keys: dict[str, asyncio.Future[dict[str, Any]]] = {}  # by voice call id: a menu's choice to come
        self._menus: dict[str, dict[str, dict[str, Any]]] = {}  # by voice call id: its options by key
        self._tasks: set[asyncio.Task[None]] = set()
        self._setting_up = 0  # calls being placed in the queue, not yet in _calls
        advertised = settings.advertised_host or settings.host
        self.endpoint = SipEndpoint(settings.host, settings.port, advertised,
                                    trunks=TrunkPolicy(settings.trunks, realm=settings.advertised_host or "wecc"),
                                    on_invite=self._invited, on_bye=self._hung_up,
                                    on_cancel=self._cancelled, on_ack_timeout=self._unconfirmed,
                                    on_reinvite=self._reinvited, on_key=self._info_key, on_register=self._register)
        self.seats = RemoteSeats(voice, self)
        self._registrar: Registrar | None = None
        self._outbound = next((trunk.outbound for trunk in settings.trunks if trunk.outbound is not None), None)
        self.trunk_health = TrunkHealth(self.endpoint, settings.trunks, self._report_health)
        self.registrations = self.trunk_health.registrations
        self.registrations.update({trunk.name: Registration(self.endpoint, trunk.outbound, self.trunk_health.changed)
                                   for trunk in settings.trunks if trunk.outbound is not None and trunk.outbound.registration})

    async def start(self) -> None:
        self._registrar = Registrar(self._voice.ctx)
        self._numbers = PhoneNumbers(self._voice.ctx)
        await self._numbers.seed(self._settings.numbers)
        await self.endpoint.start()
        log.info("SIP listening", extra={"host": self._settings.host, "port": self.endpoint.port})
        for registration in self.registrations.values():
            registration.start()
        if self._settings.trunks:
            self.trunk_health.start()

    async def stop(self) -> None:
        await self.seats.stop()
        for task in list(self._tasks):
            task.cancel()
        await self.trunk_health.stop()
        for registration in self.registrations.values():
            await registration.stop()
        await self.endpoint.stop()

    async def _report_health(self, items: list[HealthItem]) -> None:
        await self._voice.ctx.report_health(items, valid_seconds=3 * CHECK_SECONDS)

    @property
    def dials_out(self) -> bool:
        return self._outbound is not None

    async def place(self, call: Call, number: str) -> Outcome:
        """Dials `number` (E.164) for the voice call `call` through the trunk and, once answered,
        bridges the customer's audio into it (the call's customer leg). While it rings,
        `call.dialling` can give it up."""
        trunk = self._outbound
        if trunk is None:
            return Outcome(503, "No trunk for calls out")
        try:
            destination = await trunk_address(trunk)
        except OSError as exc:
            return Outcome(503, f"The trunk can't be reached ({exc})")
        media = self._voice.ctx.media
        try:
            offer = await media.offer_leg(call.id, call.customer_leg, "customer",
                                          address=_local_address_towards(destination[0]), peer_ip=destination[0])
        except MediaError as exc:
            return Outcome(500, f"No audio for the call ({exc})")
        domain = trunk.domain or trunk.host
        placed = call.dialling = PlacedCall(
            self.endpoint, destination, target=f"sip:{number}@{domain}",
            caller=f"sip:{await self._caller_id(call.tenant_id) or 'anonymous'}@{domain}", sdp=offer,
            credentials=credentials_of(trunk), ring_seconds=trunk.ring_seconds)
        if call.state == "ended":
            placed.cancel()
        try:
            outcome = await placed.run()
        finally:
            call.dialling = None
        if outcome.dialog is None:
            return outcome
        self._calls[outcome.dialog.call_id] = call.id
        line = PhoneLine(self, outcome.dialog)
        if call.state == "ended":  # answered just as the agent gave up
            await line.hang_up()
            return Outcome(487, "Given up")
        try:
            await media.answer_leg(call.id, call.customer_leg, outcome.sdp)
        except MediaError as exc:
            await line.hang_up()
            return Outcome(488, f"The answer's audio can't be used ({exc})")
        if call.state == "ended":  # the agent gave up meanwhile
            await line.hang_up()
            return Outcome(487, "Given up")
        call.line = line
        return outcome

    async def _caller_id(self, tenant_id: str) -> str | None:
        """The number a tenant's calls out show: its first number."""
        assert self._numbers is not None
        return await self._numbers.first_of(tenant_id)

    def forget(self, dialog: Dialog) -> None:
        self._calls.pop(dialog.call_id, None)
        self._seat_calls.pop(dialog.call_id, None)

    def seat_line(self, dialog: Dialog, call_id: str) -> PhoneLine:
        """An agent's phone that picked up the call `call_id`: its BYE hangs the call up (seats.py)."""
        self._seat_calls[dialog.call_id] = call_id
        return PhoneLine(self, dialog)

    @staticmethod
    def local_address_towards(peer: str) -> str:
        return _local_address_towards(peer)

    async def _invited(self, incoming: IncomingCall) -> None:
        request = incoming.request
        number = await self._number_called(request.uri, request.get("to") or "")
        if number is None:
            incoming.reject(404, "Not Found")
            return
        if len(self._calls) + self._setting_up >= self._settings.max_calls:
            log.warning("a phone call was turned away: max_calls reached", extra={"max_calls": self._settings.max_calls})
            incoming.reject(503, "Service Unavailable", retry_after=30)
            return
        if not number.available:
            incoming.reject(480, "Temporarily Unavailable")
            return
        tenant_id = number.tenant_id
        if request.get("content-type") not in (None, "application/sdp") or not request.body:
            incoming.reject(488, "Not Acceptable Here (an SDP offer is needed)")
            return
        settings = await self._voice.call_settings(tenant_id)
        identity, shown = _caller(request.get("from") or "", request.call_id, settings.get("default_region") or None)
        menu = settings.get("menu") or []
        incoming.ringing()
        self._setting_up += 1
        try:
            call, answer = await self._voice.open_call(
                tenant_id, identity, f"Phone call from {shown}", request.body.decode("utf-8", "replace"),
                address=_local_address_towards(incoming.source[0]), peer_ip=incoming.source[0],
                queue_id=number.queue_id,
                line=PhoneLine(self, incoming.dialog), enqueue=not menu,
                callback_number=identity[1] if identity[0] == "phone" and await self._voice.may_call_back(
                    tenant_id, identity[1]) else None)
        except MediaError as exc:
            incoming.reject(488, f"Not Acceptable Here ({exc})"[:200])
            return
        except Exception:
            log.exception("a phone call could not be placed in the queue", extra={"sip_call_id": request.call_id[:100]})
            incoming.reject(500, "Server Internal Error")
            return
        finally:
            self._setting_up -= 1
        self._calls[request.call_id] = call.id
        if incoming.cancelled.is_set() or not incoming.answer(answer):
            await self._voice.end_call(call.id, "the customer hung up")
            return
        if menu:
            await self._menu(call, settings, number.queue_id)
        elif settings.get("greeting"):
            await self._voice.announce(call, settings["greeting"])

    async def _menu(self, call: Call, settings: dict[str, Any], default_queue: str | None) -> None:
        """The greeting and the options are spoken; the key pressed picks the queue the call
        joins and/or the skill its agent needs (no key, or the caller waits out the timeout: the
        number's queue)."""
        options = {option["key"]: option for option in settings["menu"]}
        spoken = " ".join([settings.get("greeting") or ""] + [f"For {o['label']}, press {o['key']}." for o in options.values()])
        chosen = self._keys[call.id] = asyncio.get_running_loop().create_future()
        self._menus[call.id] = options
        try:
            await self._voice.announce(call, spoken.strip())
            # The timeout runs from the end of the menu: about 12 characters are spoken a second.
            option = await asyncio.wait_for(chosen, settings.get("menu_timeout_seconds", 10) + len(spoken) / 12)
        except TimeoutError:
            option = {}
        except asyncio.CancelledError:
            return  # the caller hung up in the menu
        finally:
            self._keys.pop(call.id, None)
            self._menus.pop(call.id, None)
        skill = option.get("skill")
        await self._voice.enqueue(call, option.get("queue_id") or default_queue,
                                  required_skills={skill: int(option.get("skill_level") or 1)} if skill else None)

    def key_pressed(self, call_id: str, key: str) -> None:
        """A phone caller's key press (the media layer's dtmf event): a menu choice while the menu
        is open; once waiting in the queue, 1 asks to be called back."""
        chosen, options = self._keys.get(call_id), self._menus.get(call_id, {})
        if chosen is not None:
            if not chosen.done() and key in options:
                chosen.set_result(options[key])
            return
        call = self._voice.call_of(call_id)
        if key == "1" and call is not None and call.callback_number and call.task_id and call.agent_id is None:
            task = asyncio.ensure_future(self._call_back_instead(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _call_back_instead(self, call: Call) -> None:
        """The caller is told they will be called back, then the call ends (not as abandoned);
        or, when that can't be taken (limits), told so, and they wait on."""
        assert call.callback_number is not None
        if await self._voice.callback_refused(call.tenant_id, call.callback_number) is not None:
            await self._voice.announce(call, "Sorry, we can't take another callback for this number now. Please hold.")
            return
        said = f"Thank you. We will call you back at {' '.join(call.callback_number)}. Goodbye."
        await self._voice.announce(call, said)
        await asyncio.sleep(len(said) / 12)  # about 12 characters are spoken a second
        if call.state != "ended" and call.agent_id is None:
            await self._voice.record_callback(call, call.callback_number)

    async def _number_called(self, request_uri: str, to: str) -> CalledNumber | None:
        assert self._numbers is not None
        for candidate in (user_of(request_uri), user_of(uri_of(to))):
            try:
                number = normalise_identity("phone", candidate)
            except InvalidIdentity:
                continue
            if called := await self._numbers.called(number):
                return called
        return None

    async def _register(self, request: SipMessage, source: Address) -> tuple[int, str, list[tuple[str, str]]]:
        assert self._registrar is not None
        return await self._registrar.register(request, source)

    async def _reinvited(self, dialog: Dialog, request: SipMessage) -> str | tuple[int, str]:
        """The phone puts the call on hold, resumes it, or moves its audio: the RTP leg follows
        (the customer's, or the agent's when it is their own phone)."""
        seat = dialog.call_id in self._seat_calls
        call_id = self._seat_calls.get(dialog.call_id) if seat else self._calls.get(dialog.call_id)
        call = self._voice.call_of(call_id) if call_id else None
        if call is None:
            return 481, "Call/Transaction Does Not Exist"
        if not request.body:
            return 488, "Not Acceptable Here (an SDP offer is needed)"
        leg = call.agent_leg if seat else call.customer_leg
        try:
            return await self._voice.ctx.media.update_leg(call.id, leg, request.body.decode("utf-8", "replace"))
        except MediaError as exc:
            return 488, f"Not Acceptable Here ({exc})"[:200]

    def _info_key(self, dialog: Dialog, key: str) -> None:
        """A key press the phone sent as SIP INFO: as one heard in its audio."""
        call_id = self._calls.get(dialog.call_id)
        if call_id is not None:
            self.key_pressed(call_id, key)

    async def _hung_up(self, dialog: Dialog) -> None:
        if (seat_call := self._seat_calls.pop(dialog.call_id, None)) is not None:
            await self._voice.end_call(seat_call, "the agent hung up")
            return
        call_id = self._calls.pop(dialog.call_id, None)
        if call_id is not None:
            if (chosen := self._keys.get(call_id)) is not None:
                chosen.cancel()
            await self._voice.end_call(call_id, "the customer hung up")

    async def _cancelled(self, incoming: IncomingCall) -> None:
        await self._hung_up(incoming.dialog)  # when stored already; else _invited sees `cancelled`

    async def _unconfirmed(self, dialog: Dialog) -> None:
        call_id = self._calls.pop(dialog.call_id, None)
        if call_id is not None:
            await self._voice.end_call(call_id, "the caller's phone did not confirm the answer")


def _caller(from_header: str, sip_call_id: str, region: str | None) -> tuple[tuple[str, str], str]:
    """The contact's identity from the caller ID (normalised with the tenant's default country),
    and how to show it; a withheld number is a contact of its own per call."""
    try:
        number = normalise_identity("phone", user_of(uri_of(from_header)), region)
        return ("phone", number), number
    except InvalidIdentity:
        token = "".join(ch for ch in sip_call_id if ch.isalnum())[:40] or "unknown"
        return ("external", f"withheld-caller:{token}"), "a withheld number"


def _local_address_towards(peer: str) -> str:
    """This machine's address on the route to the trunk: where its RTP must be sent."""
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((peer, 9))  # no packet is sent: this only picks the route
        return probe.getsockname()[0]

"""A media worker process: the legs of the calls it was given, as aiortc peer connections on an
event loop of its own, mixed per call (mixer.py), recorded (recorder.py), driven by the commands
the gateway's MediaService sends over the wire (wire.py), and reporting each leg's connection
("connected", "failed", "closed") back the same way.

A leg that has not connected `connect_timeout_seconds` after its answer fails and is closed, so a
peer that vanished during setup does not hold ports and a mixer slot for ever. A worker whose
gateway goes away (the socket ends) closes everything and exits."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from gateway.media import wire
from gateway.media.hold import render_melody
from gateway.media.prompts import render_prompt
from gateway.media.mixer import MODES, ROLES, CallMixer, Mode, Role
from gateway.media.nat import announce_public_ip
from gateway.media.opus import is_opus
from gateway.media import rtp_sdp
from gateway.media.receiving import decode_on_loop
from gateway.media.recorder import RecordingFailed, RecordingThread, StereoRecorder
from gateway.media.rtp import RtpLeg, RtpPortsExhausted

log = logging.getLogger(__name__)

_CLOSE_TIMEOUT = 5.0  # closing a peer connection sends a DTLS close; don't wait on a dead peer for ever


class CommandError(Exception):
    """A command that cannot be done; its message is for people (the gateway shows it)."""


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs of the [media] config, as plain data (it crosses into the process)."""

    stun_servers: list[str]
    turn_servers: list[dict[str, str]]  # url, username, credential
    public_ip: str
    connect_timeout_seconds: float
    rtp_ports: tuple[int, int]  # plain RTP legs' UDP ports (rtp.py)
    rtp_timeout_seconds: float  # a connected plain RTP leg silent this long has failed

    def rtc_configuration(self) -> RTCConfiguration:
        # Always a list, even empty: with None, aiortc would ask a public STUN server of its choosing.
        servers = [RTCIceServer(urls=url) for url in self.stun_servers]
        servers += [RTCIceServer(urls=t["url"], username=t["username"] or None, credential=t["credential"] or None)
                    for t in self.turn_servers]
        return RTCConfiguration(iceServers=servers)


@dataclass(eq=False)
class Leg:
    """A WebRTC leg (pc) or a plain RTP one (rtp): exactly one of them."""

    leg_id: str
    role: Role
    pc: RTCPeerConnection | None = None
    rtp: RtpLeg | None = None
    rtp_address: tuple[str, int] | None = None  # what its answers announce
    connected: bool = False
    closing: bool = False  # closed by a command, not by the peer: no event for it
    watchdog: asyncio.Task[None] | None = None


@dataclass(eq=False)
class Call:
    call_id: str
    mixer: CallMixer
    legs: dict[str, Leg] = field(default_factory=dict)
    recorder: StereoRecorder | None = None


class MediaWorker:
    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._calls: dict[str, Call] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hold_melody = render_melody()  # once, for all the worker's calls
        self._recordings: RecordingThread | None = None  # started with the first recording

    def _recording_thread(self) -> RecordingThread:
        if self._recordings is None:
            self._recordings = RecordingThread()
        return self._recordings

    async def serve(self, socket_path: str) -> None:
        reader, self._writer = await asyncio.open_unix_connection(socket_path, limit=wire.LINE_LIMIT)
        try:
            while (message := await wire.receive(reader)) is not None:
                if message.get("op") == "shutdown":
                    await self._close_all()
                    await wire.send(self._writer, {"id": message["id"], "result": None})
                    return
                self._spawn(self._answer(message))
        finally:
            await self._close_all()
            self._writer.close()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: dict[str, Any]) -> None:
        handler = getattr(self, f"_op_{message.get('op')}", None)
        try:
            if handler is None:
                raise CommandError(f"unknown command {message.get('op')!r}")
            reply = {"id": message["id"], "result": await handler(**message.get("args", {}))}
        except CommandError as exc:
            reply = {"id": message["id"], "error": str(exc)}
        except Exception as exc:
            log.exception("media command failed", extra={"op": message.get("op")})
            reply = {"id": message["id"], "error": f"the media worker failed ({type(exc).__name__})"}
        await self._send(reply)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        try:
            await wire.send(self._writer, message)
        except ConnectionError:
            pass  # the gateway has gone; serve() ends on its own

    def _event(self, call_id: str, leg_id: str | None, kind: str, detail: str = "") -> None:
        self._spawn(self._send({"event": {"call_id": call_id, "leg_id": leg_id, "kind": kind, "detail": detail}}))

    def _call(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            raise CommandError("the call has no media")
        return call

    # Commands: each `_op_NAME(**args)` answers the request of that name.

    async def _op_offer_leg(self, call_id: str, leg_id: str, role: Role, address: str, peer_ip: str | None = None) -> str:
        """A plain RTP leg for a call we place (a callback): our offer, to go in the INVITE. Until
        its answer (answer_leg) it sends nothing and waits without a time limit: the phone rings."""
        mode = check_role(role, None)
        call = self._calls.get(call_id)
        if call is not None and leg_id in call.legs:
            raise CommandError("the leg is already open")
        if call is None:
            call = self._calls[call_id] = Call(call_id, CallMixer(call_id, self._hold_melody))
        await self._open_rtp_leg(call, leg_id, role, mode, rtp_sdp.UNANSWERED, address, peer_ip, watch=False)
        leg = call.legs[leg_id]
        assert leg.rtp_address is not None
        return rtp_sdp.offer(*leg.rtp_address)

    async def _op_answer_leg(self, call_id: str, leg_id: str, answer_sdp: str) -> None:
        """The callee's answer to a leg's offer: audio flows, and the leg is connected with its first packet."""
        leg = self._call(call_id).legs.get(leg_id)
        if leg is None or leg.rtp is None:
            raise CommandError("the call has no such plain RTP leg")
        try:
            terms = rtp_sdp.negotiate(answer_sdp)
        except rtp_sdp.SdpError as exc:
            raise CommandError(str(exc)) from None
        leg.rtp.update(terms)
        if leg.watchdog is None and not leg.connected:
            leg.watchdog = asyncio.create_task(self._fail_unless_connected(self._call(call_id), leg))

    async def _op_open_leg(self, call_id: str, leg_id: str, role: Role, offer_sdp: str, mode: Mode | None = None,
                           address: str | None = None, peer_ip: str | None = None) -> str:
        """A WebRTC leg, or with `address` (the local address the SIP peer reaches) a plain RTP one;
        `peer_ip`: where the peer's signalling comes from, whose audio is let in too."""
        mode = check_role(role, mode)
        call = self._calls.get(call_id)
        if call is not None and leg_id in call.legs:
            raise CommandError("the leg is already open")
        if role == "supervisor" and (call is None or not any(leg.role == "customer" for leg in call.legs.values())):
            raise CommandError(NO_CUSTOMER)
        if not offer_sdp.lstrip().startswith("v=0"):
            raise CommandError("the offer is not valid SDP")
        if address is not None:
            try:
                terms = rtp_sdp.negotiate(offer_sdp)
            except rtp_sdp.SdpError as exc:
                raise CommandError(str(exc)) from None
        if call is None:
            call = self._calls[call_id] = Call(call_id, CallMixer(call_id, self._hold_melody))
        if address is not None:
            return await self._open_rtp_leg(call, leg_id, role, mode, terms, address, peer_ip)
        pc = RTCPeerConnection(self._settings.rtc_configuration())
        leg = call.legs[leg_id] = Leg(leg_id, role, pc=pc)
        mixer_leg = call.mixer.add_leg(leg_id, role, mode)

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if track.kind != "audio":
                return
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            if not decode_on_loop(receiver, mixer_leg.inbound):
                call.mixer.listen(leg_id, track)

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            await self._connection_changed(call, leg)

        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as exc:
                raise CommandError(f"the offer is not valid SDP ({exc})") from None
            transceivers = pc.getTransceivers()
            if not any(t.kind == "audio" for t in transceivers):
                raise CommandError("the offer has no audio")
            for transceiver in transceivers:
                if transceiver.kind != "audio":
                    transceiver.direction = "inactive"  # video is not taken; nothing to buffer
            pc.addTrack(mixer_leg.outbound)
            if _negotiated_opus(transceivers):
                mixer_leg.outbound.encode_opus()
            await pc.setLocalDescription(await pc.createAnswer())  # gathers the candidates
        except BaseException:
            await self._close_leg(call, leg)
            if not call.legs and call.recorder is None and self._calls.get(call_id) is call:
                del self._calls[call_id]  # nothing left of it; the service forgets it by the same rule
                call.mixer.close()
            raise
        leg.watchdog = asyncio.create_task(self._fail_unless_connected(call, leg))
        return announce_public_ip(pc.localDescription.sdp, self._settings.public_ip)

    async def _open_rtp_leg(self, call: Call, leg_id: str, role: Role, mode: Mode | None,
                            terms: rtp_sdp.Negotiated, address: str, peer_ip: str | None, watch: bool = True) -> str:
        leg = call.legs[leg_id] = Leg(leg_id, role)
        mixer_leg = call.mixer.add_leg(leg_id, role, mode)
        try:
            leg.rtp, port = await RtpLeg.open(
                address, self._settings.rtp_ports, terms, mixer_leg.inbound, mixer_leg.outbound,
                on_first_packet=lambda: self._rtp_connected(call, leg),
                on_dtmf=lambda key: self._event(call.call_id, leg_id, "dtmf", key), signalling_ip=peer_ip)
        except (OSError, RtpPortsExhausted) as exc:
            await self._close_leg(call, leg)
            if not call.legs and call.recorder is None and self._calls.get(call.call_id) is call:
                del self._calls[call.call_id]
                call.mixer.close()
            raise CommandError(f"no RTP port could be opened: {exc}") from None
        if watch:
            leg.watchdog = asyncio.create_task(self._fail_unless_connected(call, leg))
        leg.rtp_address = (self._settings.public_ip or address, port)
        return rtp_sdp.answer(terms, *leg.rtp_address)

    async def _op_update_leg(self, call_id: str, leg_id: str, offer_sdp: str) -> str:
        leg = self._call(call_id).legs.get(leg_id)
        if leg is None or leg.rtp is None or leg.rtp_address is None:
            raise CommandError("the call has no such plain RTP leg")
        try:
            terms = rtp_sdp.negotiate(offer_sdp, codecs=(leg.rtp.terms.codec,))  # the codec stays
        except rtp_sdp.SdpError as exc:
            raise CommandError(str(exc)) from None
        leg.rtp.update(terms)
        return rtp_sdp.answer(terms, *leg.rtp_address)

    def _rtp_connected(self, call: Call, leg: Leg) -> None:
        """A plain RTP leg is connected when the peer's audio first arrives."""
        if leg.closing or leg.connected:
            return
        leg.connected = True
        call.mixer.set_connected(leg.leg_id, True)
        if leg.watchdog:
            leg.watchdog.cancel()
        leg.watchdog = asyncio.create_task(self._fail_when_audio_stops(call, leg))
        self._event(call.call_id, leg.leg_id, "connected")

    async def _fail_when_audio_stops(self, call: Call, leg: Leg) -> None:
        """A phone or trunk that vanished without a BYE (crashed, lost its network) stops sending:
        after `rtp_timeout_seconds` of silence on the wire, unless it holds the call, the leg fails."""
        assert leg.rtp is not None
        loop, timeout = asyncio.get_running_loop(), self._settings.rtp_timeout_seconds
        quiet_since = loop.time()
        while not leg.closing:
            await asyncio.sleep(min(1.0, timeout / 4))
            if not leg.rtp.expects_audio:
                quiet_since = loop.time()  # on hold: it may well send nothing
                continue
            if loop.time() - max(leg.rtp.last_packet_at, quiet_since) > timeout:
                self._event(call.call_id, leg.leg_id, "failed", f"no audio from the phone for {timeout:g} s")
                await self._close_leg(call, leg)
                return

    async def _op_close_leg(self, call_id: str, leg_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None and (leg := call.legs.get(leg_id)) is not None:
            await self._close_leg(call, leg)

    async def _op_end_call(self, call_id: str) -> None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            await self._end(call)

    async def _op_set_hold(self, call_id: str, on: bool) -> None:
        self._call(call_id).mixer.on_hold = on

    async def _op_announce(self, call_id: str, text: str, beeps: int) -> None:
        prompt = await asyncio.to_thread(render_prompt, text, beeps=beeps)
        self._call(call_id).mixer.announce(prompt)

    async def _op_set_muted(self, call_id: str, leg_id: str, muted: bool) -> None:
        call = self._call(call_id)
        if leg_id not in call.legs:
            raise CommandError("the call has no such leg")
        call.mixer.set_muted(leg_id, muted)

    async def _op_set_mode(self, call_id: str, leg_id: str, mode: Mode) -> None:
        call = self._call(call_id)
        leg = call.legs.get(leg_id)
        if leg is None:
            raise CommandError("the call has no such leg")
        if leg.role != "supervisor":
            raise CommandError(f"only a supervisor's leg has a mode, not the {leg.role}'s")
        call.mixer.set_mode(leg_id, check_mode(mode))

    async def _op_start_recording(self, call_id: str, path: str) -> None:
        call = self._call(call_id)
        if call.recorder is not None:
            raise CommandError("the call is already being recorded")
        try:
            recorder = await StereoRecorder.open(path, self._recording_thread())
        except RecordingFailed as exc:
            raise CommandError(str(exc)) from None
        if call.call_id not in self._calls:  # ended while the file was being created
            await recorder.stop()
            raise CommandError("the call has no media")
        call.recorder = recorder
        call.mixer.recording = recorder.write

    async def _op_pause_recording(self, call_id: str, paused: bool) -> None:
        recorder = self._call(call_id).recorder
        if recorder is None:
            raise CommandError("the call is not being recorded")
        recorder.paused = paused

    async def _op_stop_recording(self, call_id: str) -> dict[str, Any]:
        call = self._call(call_id)
        recorder, call.recorder = call.recorder, None
        if recorder is None:
            raise CommandError("the call is not being recorded")
        call.mixer.recording = None
        try:
            result = await recorder.stop()
        except RecordingFailed as exc:
            raise CommandError(str(exc)) from None
        return {"path": result.path, "seconds": result.seconds, "bytes": result.bytes}

    async def _op_stats(self, call_id: str) -> dict[str, dict[str, Any]]:
        call = self._call(call_id)
        legs = list(call.legs.values())
        reports = await asyncio.gather(*(_leg_stats(leg) for leg in legs), return_exceptions=True)
        return {leg.leg_id: report for leg, report in zip(legs, reports) if isinstance(report, dict)}

    # Legs' lives.

    async def _connection_changed(self, call: Call, leg: Leg) -> None:
        assert leg.pc is not None
        state = leg.pc.connectionState
        if leg.closing:
            return
        if state == "connected" and not leg.connected:
            leg.connected = True
            call.mixer.set_connected(leg.leg_id, True)
            if leg.watchdog:
                leg.watchdog.cancel()
            self._event(call.call_id, leg.leg_id, "connected")
        elif state == "failed":
            self._event(call.call_id, leg.leg_id, "failed", "the media connection failed")
            await self._close_leg(call, leg)
        elif state == "closed":  # the peer ended it (DTLS close)
            self._event(call.call_id, leg.leg_id, "closed", "the peer closed the media connection")
            await self._close_leg(call, leg)

    async def _fail_unless_connected(self, call: Call, leg: Leg) -> None:
        timeout = self._settings.connect_timeout_seconds
        await asyncio.sleep(timeout)
        if not leg.connected and not leg.closing:
            self._event(call.call_id, leg.leg_id, "failed", f"no media connection within {timeout:g} s")
            await self._close_leg(call, leg)

    async def _close_leg(self, call: Call, leg: Leg) -> None:
        if leg.closing:
            return
        leg.closing = True
        if leg.watchdog and leg.watchdog is not asyncio.current_task():
            leg.watchdog.cancel()
        call.legs.pop(leg.leg_id, None)
        call.mixer.remove_leg(leg.leg_id)
        if leg.rtp is not None:
            leg.rtp.close()
        if leg.pc is None:
            return
        try:
            await asyncio.wait_for(leg.pc.close(), _CLOSE_TIMEOUT)
        except Exception:
            log.warning("a peer connection did not close cleanly", exc_info=True)

    async def _end(self, call: Call) -> None:
        await asyncio.gather(*(self._close_leg(call, leg) for leg in list(call.legs.values())))
        call.mixer.close()
        if call.recorder is not None:
            recorder, call.recorder = call.recorder, None
            try:
                await recorder.stop()  # the file is finalised, so what was recorded is kept
            except RecordingFailed:
                log.exception("a recording could not be finished", extra={"call_id": call.call_id})

    async def _close_all(self) -> None:
        calls, self._calls = list(self._calls.values()), {}
        await asyncio.gather(*(self._end(call) for call in calls))


NO_CUSTOMER = "a supervisor can only join a call that has a customer"


def check_role(role: str, mode: str | None) -> Mode | None:
    """The leg's mode (a supervisor's, listen unless given; None for the others), or why not."""
    if role not in ROLES:
        raise CommandError(f"a leg's role is customer, agent or supervisor, not {role!r}")
    if role != "supervisor":
        if mode is not None:
            raise CommandError(f"only a supervisor's leg has a mode, not the {role}'s")
        return None
    return check_mode("listen" if mode is None else mode)


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise CommandError(f"a supervisor's mode is listen, whisper or barge, not {mode!r}")
    return mode  # type: ignore[return-value]


def _negotiated_opus(transceivers: list[RTCRtpTransceiver]) -> bool:
    """Whether the leg's audio goes out as Opus: the first codec both sides have, which aiortc
    settles in setRemoteDescription (the private `_codecs`, as aiortc itself reads it)."""
    audio = next(t for t in transceivers if t.kind == "audio")
    return bool(audio._codecs) and is_opus(audio._codecs[0].mimeType)


async def _leg_stats(leg: Leg) -> dict[str, Any]:
    """Best effort: what aiortc measures of the leg's RTP (RTCP reports may not have come yet)."""
    if leg.rtp is not None:
        return {"role": leg.role, "connected": leg.connected, "packets_received": leg.rtp.packets_received,
                "packets_sent": leg.rtp.packets_sent, "packets_refused": leg.rtp.packets_dropped}
    assert leg.pc is not None
    report = await leg.pc.getStats()
    stats: dict[str, Any] = {"role": leg.role, "connected": leg.connected}
    clock_rate = next((codec.clockRate for t in leg.pc.getTransceivers() for codec in getattr(t, "_codecs", [])), None)
    for entry in report.values():
        if entry.type == "inbound-rtp":
            stats["packets_received"] = entry.packetsReceived
            stats["packets_lost"] = entry.packetsLost
            if clock_rate:
                stats["jitter_seconds"] = entry.jitter / clock_rate
        elif entry.type == "remote-inbound-rtp":
            stats["rtt_seconds"] = entry.roundTripTime
            stats["remote_packets_lost"] = entry.packetsLost
            stats["remote_fraction_lost"] = entry.fractionLost
        elif entry.type == "outbound-rtp":
            stats["packets_sent"] = entry.packetsSent
    return stats


def run_worker(socket_path: str, settings: WorkerSettings) -> None:
    """The worker process's entry point."""
    # Ctrl-C reaches the whole process group; the gateway stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(MediaWorker(settings).serve(socket_path))

"""A plain RTP leg: a phone call's audio from a SIP trunk or phone, G.711 over UDP, bridged into
the call's mixer like a WebRTC leg.

SIP peers speak plain RTP (no ICE, no DTLS-SRTP), so aiortc's peer connection can't carry them;
aiortc's RtpPacket does the packet format. Every 20 ms the mixer's frame for the leg is taken
down to 8 kHz and sent as one G.711 packet; received packets are decoded and handed to the leg's
InboundAudio (which resamples to 48 kHz and absorbs jitter). RFC 4733 telephone-events are read
and each key press reported once.

- Ports come from a configured range (trunks' firewalls are opened for a range), even numbers as
  RFC 3550 asks; RTCP is not sent (the port above is left free for a peer that sends it).
- Symmetric RTP (RFC 4961): audio goes back to the address and port it comes from once it comes,
  so a phone behind NAT is reached. Packets are taken only from the address the SDP gave or the
  one the call's signalling came from (a PBX behind NAT writes its private address in the SDP);
  a stranger can't inject audio into a call.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import av
import numpy as np
from aiortc.rtp import RtpPacket

from gateway.media import g711
from gateway.media.audio import SAMPLE_RATE
from gateway.media.mixer import InboundAudio, MixedAudioTrack
from gateway.media.rtp_sdp import Negotiated

log = logging.getLogger(__name__)

_SAMPLES = 160  # 20 ms at 8 kHz
_DTMF_KEYS = "0123456789*#ABCD"


class RtpPortsExhausted(Exception):
    pass


class RtpLeg(asyncio.DatagramProtocol):
    def __init__(self, terms: Negotiated, inbound: InboundAudio, outbound: MixedAudioTrack,
                 on_first_packet: Callable[[], None], on_dtmf: Callable[[str], None],
                 signalling_ip: str | None = None) -> None:
        self.terms = terms
        self._signalling_ip = signalling_ip
        self._inbound = inbound
        self._outbound = outbound
        self._on_first_packet = on_first_packet
        self._on_dtmf = on_dtmf
        self._transport: asyncio.DatagramTransport | None = None
        self._remote = (terms.remote_address, terms.remote_port)
        self._latched = False
        self._ssrc = random.getrandbits(32)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self._to_8k = av.AudioResampler(format="s16", layout="mono", rate=g711.SAMPLE_RATE)
        self._pending = np.zeros(0, dtype=np.int16)
        self._sender: asyncio.Task[None] | None = None
        self._last_dtmf_timestamp: int | None = None
        self.packets_received = 0
        self.last_packet_at = 0.0  # loop time of the last packet from the peer
        self.packets_sent = 0
        self.packets_dropped = 0  # from a stranger's address, or not RTP

    @classmethod
    async def open(cls, host: str, ports: tuple[int, int], terms: Negotiated, inbound: InboundAudio,
                   outbound: MixedAudioTrack, on_first_packet: Callable[[], None],
                   on_dtmf: Callable[[str], None], signalling_ip: str | None = None) -> tuple[RtpLeg, int]:
        """The leg, listening on a free even port of `ports` on `host`."""
        loop = asyncio.get_running_loop()
        low, high = ports
        candidates = list(range(low + low % 2, high + 1, 2))
        random.shuffle(candidates)
        for port in candidates[:64]:
            leg = cls(terms, inbound, outbound, on_first_packet, on_dtmf, signalling_ip)
            try:
                await loop.create_datagram_endpoint(lambda leg=leg: leg, local_addr=(host, port))  # type: ignore[misc]
            except OSError:
                continue
            leg._sender = asyncio.create_task(leg._send_loop(), name=f"rtp out {port}")
            return leg, port
        raise RtpPortsExhausted(f"no free RTP port in {low}-{high}")

    def update(self, terms: Negotiated) -> None:
        """A re-INVITE's new terms (hold, a new address)."""
        if (terms.remote_address, terms.remote_port) != (self.terms.remote_address, self.terms.remote_port):
            self._remote, self._latched = (terms.remote_address, terms.remote_port), False
        self.terms = terms

    @property
    def expects_audio(self) -> bool:
        """Whether the peer should be sending (it does not while it holds the call: sendonly from
        our side, or inactive)."""
        return self.terms.direction in ("sendrecv", "recvonly") and not self.terms.held_by_peer

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self._transport is not None:
            self._transport.close()

    # Receiving.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        if addr[0] not in (self.terms.remote_address, self._signalling_ip) or len(data) < 12 or data[0] >> 6 != 2:
            self.packets_dropped += 1
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            self.packets_dropped += 1
            return
        if not self._latched:
            self._remote, self._latched = (addr[0], addr[1]), True
        self.packets_received += 1
        self.last_packet_at = asyncio.get_running_loop().time()
        if self.packets_received == 1:
            self._on_first_packet()
        if packet.payload_type == self.terms.payload_type:
            self._receive_audio(packet.payload)
        elif packet.payload_type == self.terms.dtmf_payload_type:
            self._receive_dtmf(packet)

    def _receive_audio(self, payload: bytes) -> None:
        samples = g711.decode(self.terms.codec, payload)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = g711.SAMPLE_RATE
        self._inbound.push_frame(frame)

    def _receive_dtmf(self, packet: RtpPacket) -> None:
        """RFC 4733: an event is sent as several packets sharing one timestamp (and its end three
        times); a new timestamp is a new key press."""
        if len(packet.payload) < 4 or packet.timestamp == self._last_dtmf_timestamp:
            return
        event = packet.payload[0]
        if event < len(_DTMF_KEYS):
            self._last_dtmf_timestamp = packet.timestamp
            self._on_dtmf(_DTMF_KEYS[event])

    # Sending.

    async def _send_loop(self) -> None:
        while True:
            samples = await self._outbound.next_samples()
            self._pending = np.concatenate([self._pending, self._downsample(samples)])
            while len(self._pending) >= _SAMPLES:
                chunk, self._pending = self._pending[:_SAMPLES], self._pending[_SAMPLES:]
                self._send(chunk)

    def _downsample(self, samples: np.ndarray) -> np.ndarray:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        converted = [f.to_ndarray().reshape(-1) for f in self._to_8k.resample(frame)]
        return np.concatenate(converted) if converted else np.zeros(0, dtype=np.int16)

    def _send(self, chunk: np.ndarray) -> None:
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + _SAMPLES) & 0xFFFFFFFF
        if self._transport is None or self.terms.direction in ("recvonly", "inactive") or self.terms.remote_port == 0:
            return  # the timestamps go on, so the stream resumes where it would be
        packet = RtpPacket(payload_type=self.terms.payload_type, sequence_number=self._sequence,
                           timestamp=self._timestamp, ssrc=self._ssrc, payload=g711.encode(self.terms.codec, chunk))
        self._transport.sendto(packet.serialize(), self._remote)
        self.packets_sent += 1


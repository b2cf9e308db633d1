"""A plain RTP endpoint standing in for a SIP phone's media in the media layer's own tests: sends
a G.711 tone (and RFC 4733 key presses) in real time, keeps what it hears at 48 kHz. (The SIP
channel's tests use a real phone, baresip.)"""

from __future__ import annotations

import asyncio
import random
import re
import struct

import av
import numpy as np
from aiortc.rtp import RtpPacket

from gateway.media import g711
from tests.media.support import PATIENCE_SECONDS, RATE

_DTMF_KEYS = "0123456789*#ABCD"


class RtpPeer(asyncio.DatagramProtocol):
    def __init__(self, frequency: float, payload_types: tuple[int, ...] = (0, 8), dtmf_payload_type: int = 101) -> None:
        self.frequency = frequency
        self.payload_types = payload_types
        self.dtmf_payload_type = dtmf_payload_type
        self.codec = "PCMU"
        self.port = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._remote: tuple[str, int] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._heard: list[np.ndarray] = []
        self._to_48k = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self.sending = True
        self.heard = self  # what support.until_heard listens to, as on a ClientPeer

    async def bind(self, host: str = "127.0.0.1") -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, 0))
        assert self._transport is not None
        self.port = self._transport.get_extra_info("sockname")[1]

    def offer(self, direction: str = "sendrecv") -> str:
        names = {0: "PCMU", 8: "PCMA"}
        lines = ["v=0", "o=phone 1 1 IN IP4 127.0.0.1", "s=call", "c=IN IP4 127.0.0.1", "t=0 0",
                 f"m=audio {self.port} RTP/AVP {' '.join(map(str, self.payload_types))} {self.dtmf_payload_type}"]
        lines += [f"a=rtpmap:{pt} {names[pt]}/8000" for pt in self.payload_types]
        lines += [f"a=rtpmap:{self.dtmf_payload_type} telephone-event/8000", f"a={direction}"]
        return "\r\n".join(lines) + "\r\n"

    def accept(self, answer: str) -> None:
        port = int(re.search(r"^m=audio (\d+) RTP/AVP (\d+)", answer, re.M)[1])  # type: ignore[index]
        payload_type = int(re.search(r"^m=audio \d+ RTP/AVP (\d+)", answer, re.M)[1])  # type: ignore[index]
        self.codec = {0: "PCMU", 8: "PCMA"}[payload_type]
        self._remote = ("127.0.0.1", port)
        self._sender = asyncio.create_task(self._send_tone())

    async def _send_tone(self) -> None:
        loop = asyncio.get_running_loop()
        start, sent = loop.time(), 0
        while True:
            t = (sent * 160 + np.arange(160)) / 8000
            samples = (np.sin(2 * np.pi * self.frequency * t) * 0.3 * 32767).astype(np.int16)
            self._timestamp = (self._timestamp + 160) & 0xFFFFFFFF
            if self.sending:
                self.send(RtpPacket(payload_type={"PCMU": 0, "PCMA": 8}[self.codec], timestamp=self._timestamp,
                                    payload=g711.encode(self.codec, samples)))
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * 0.02 - loop.time()))

    def send(self, packet: RtpPacket) -> None:
        assert self._transport is not None and self._remote is not None
        self._sequence = (self._sequence + 1) & 0xFFFF
        packet.sequence_number, packet.ssrc = self._sequence, 0x1234
        self._transport.sendto(packet.serialize(), self._remote)

    async def press(self, key: str) -> None:
        """One key press as a phone sends it: three packets, then the end three times, one timestamp."""
        timestamp = self._timestamp
        for duration, end in ((160, False), (320, False), (480, False), (640, True), (640, True), (640, True)):
            payload = struct.pack("!BBH", _DTMF_KEYS.index(key), (0x80 if end else 0) | 10, duration)
            self.send(RtpPacket(payload_type=self.dtmf_payload_type, timestamp=timestamp, payload=payload,
                                marker=duration == 160))
            await asyncio.sleep(0.02)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        packet = RtpPacket.parse(data)
        samples = g711.decode(self.codec, packet.payload)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 8000
        for converted in self._to_48k.resample(frame):
            self._heard.append(converted.to_ndarray().reshape(-1))

    async def gets_nothing_for(self, seconds: float) -> bool:
        """Whether no audio at all arrives in that time (not even silence)."""
        self._heard = []
        await asyncio.sleep(seconds)
        return not self._heard

    async def listen(self, seconds: float) -> np.ndarray:
        self._heard = []
        async with asyncio.timeout(PATIENCE_SECONDS):
            while sum(len(chunk) for chunk in self._heard) < seconds * RATE:
                await asyncio.sleep(0.02)
        return np.concatenate(self._heard)

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self._transport is not None:
            self._transport.close()

"""Real aiortc peers for the media tests: a client that sends a tone and keeps what it hears, and
the FFT measures that tell what was heard."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from aioice.ice import get_host_addresses
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from gateway.media import MediaEvent

RATE = 48_000
FRAME = 960
# Guards only: each wait ends as soon as what it waits for has happened.
PATIENCE_SECONDS = 15.0


def has_media_address() -> bool:
    """aioice offers no loopback candidates, so two peers on one machine need another address."""
    return bool(get_host_addresses(use_ipv4=True, use_ipv6=False))


class ToneTrack(MediaStreamTrack):
    """A sine tone in real time, 20 ms frames; `frequency` may be changed while it plays."""

    kind = "audio"

    def __init__(self, frequency: float, level: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self._level = level
        self._phase = 0.0
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._sent / RATE - time.monotonic()))
        step = 2 * np.pi * self.frequency / RATE
        phases = self._phase + step * np.arange(FRAME)
        self._phase = float((phases[-1] + step) % (2 * np.pi))
        samples = (np.sin(phases) * self._level * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame


class AudioCapture:
    """What a peer hears, as 48 kHz mono; `listen(seconds)` gives the next that much."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._arrived = asyncio.Event()
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self._task: asyncio.Task[None] | None = None
        self._listening = False

    def attach(self, track: MediaStreamTrack) -> None:
        self._task = asyncio.create_task(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                for converted in self._resampler.resample(frame):
                    if self._listening:
                        self._chunks.append(converted.to_ndarray().reshape(-1))
                self._arrived.set()
        except MediaStreamError:
            pass

    async def listen(self, seconds: float) -> np.ndarray:
        self._chunks, self._listening = [], True
        try:
            async with asyncio.timeout(PATIENCE_SECONDS):
                while sum(len(c) for c in self._chunks) < seconds * RATE:
                    self._arrived.clear()
                    await self._arrived.wait()
        finally:
            self._listening = False
        return np.concatenate(self._chunks)

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


class ClientPeer:
    """A caller or an agent: an aiortc peer that offers audio, sends a tone, keeps what it hears."""

    def __init__(self, frequency: float, codec: str | None = None) -> None:
        """`codec` ("audio/PCMU"): offer only that one, as a phone gateway without Opus would."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tone = ToneTrack(frequency)
        self.heard = AudioCapture()
        sender = self.pc.addTrack(self.tone)
        if codec is not None:
            transceiver = next(t for t in self.pc.getTransceivers() if t.sender is sender)
            transceiver.setCodecPreferences(
                [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType == codec])
        self.pc.on("track", self.heard.attach)

    async def received(self) -> tuple[int, int]:
        """(packets, bytes) that reached this peer's transport so far: SRTP and a little RTCP."""
        report = await self.pc.getStats()
        entry = next(e for e in report.values() if e.type == "transport")
        return entry.packetsReceived, entry.bytesReceived

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def close(self) -> None:
        self.heard.stop()
        await self.pc.close()


# What was heard.

def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def peak_frequency(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    spectrum[0] = 0
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def energy_near(samples: np.ndarray, frequency: float, rate: int = RATE, width: float = 30.0) -> float:
    """The share of the sound's energy within `width` Hz of `frequency` (0..1)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    total = spectrum[freqs > 20].sum()
    return float(spectrum[np.abs(freqs - frequency) <= width].sum() / total) if total else 0.0


def is_tone(samples: np.ndarray, frequency: float) -> bool:
    return rms(samples) > 500 and abs(peak_frequency(samples) - frequency) < 15


def is_silent(samples: np.ndarray) -> bool:
    return rms(samples) < 30


def is_hold_audio(audio: np.ndarray) -> bool:
    # The hold melody: audible, low-pitched, no trace of the test agents' 1 kHz, and its 196 Hz
    # drone under every note (what tells it from another low sound, e.g. Chromium's fake microphone).
    return (rms(audio) > 100 and 150 < peak_frequency(audio) < 700 and energy_near(audio, 1000.0) < 0.01
            and energy_near(audio, 196.0, width=8) > 0.02)


async def until_heard(peer: ClientPeer, check: Callable[[np.ndarray], bool], seconds: float = 0.3) -> np.ndarray:
    """Listens in `seconds` windows until one passes `check` (audio needs a moment to change
    path); fails after PATIENCE_SECONDS."""
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            audio = await peer.heard.listen(seconds)
            if check(audio):
                return audio


def decode(path: Path) -> tuple[np.ndarray, np.ndarray, str, int]:
    """(left, right, codec, rate) of an audio file (a recording), decoded with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        codec, rate = stream.codec_context.name, stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="s16p", layout="stereo", rate=RATE)
        planes = [frame.to_ndarray() for packet_frame in container.decode(stream)
                  for frame in resampler.resample(packet_frame)]
    audio = np.concatenate(planes, axis=1)
    return audio[0], audio[1], codec, rate


def windows(samples: np.ndarray, seconds: float = 0.1) -> list[np.ndarray]:
    size = int(seconds * RATE)
    return [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]


class EventLog:
    """MediaService's on_event: keeps the events, lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[MediaEvent] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: MediaEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, kind: str, call_id: str, leg_id: str | None = None) -> MediaEvent:
        async with asyncio.timeout(PATIENCE_SECONDS):
            while True:
                for event in self.events:
                    if event.kind == kind and event.call_id == call_id and (leg_id is None or event.leg_id == leg_id):
                        return event
                self._changed.clear()
                await self._changed.wait()


async def connect(service, call_id: str, leg_id: str, role: str, peer: ClientPeer, events: EventLog, **options) -> None:
    answer = await service.open_leg(call_id, leg_id, role, await peer.offer(), **options)
    await peer.accept(answer)
    await events.wait_for("connected", call_id, leg_id)


"""One call's audio: every 20 ms (one clock per call) each leg gets the mix of the other parties.

- Each leg's received audio is converted to 48 kHz mono s16 and kept in a small bounded buffer
  (the oldest audio is dropped when it is full), so a leg whose peer sends too fast, or a clock
  that drifts, costs at most the buffer's length in delay, never memory.
- Three roles. Customers and agents hear each other. A supervisor hears the customers and the
  agents, and is heard according to their mode (changeable during the call):
  listen — by no one; whisper — by the agents (and other supervisors), never by the customers;
  barge — by everyone, a three-way call.
- A customer with no connected agent, or on hold, hears hold audio (a supervisor is not an agent:
  joining never takes the customer off hold audio). On hold, agents and supervisors hear the same
  thing: the agent side only (the other agents, and supervisors who whisper or barge), never the
  customer; a listening supervisor still hears the agents.
- A muted leg's voice reaches no one, nor the recording, whatever its role.
- The recording is the conversation the customer is part of, as the parties hear it: the
  customers' voices on the left; on the right the agents' and those of the supervisors the
  customer can hear (barge). A whisper is coaching the customer never hears, so it is recorded on
  neither side: not on the left (it is not the customer's voice), and not on the right either,
  where it would pass for the agent's words in playback, transcripts and quality scoring, and
  would hand internal coaching to a customer who asks for their recording. Nothing is recorded
  while the call is on hold, for the same reason.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from gateway.media.audio import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE, downmix, mix, silence
from gateway.media.hold import HoldAudio
from gateway.media.opus import OpusVoiceEncoder

log = logging.getLogger(__name__)

Role = Literal["customer", "agent", "supervisor"]
Mode = Literal["listen", "whisper", "barge"]  # a supervisor's
ROLES: tuple[Role, ...] = ("customer", "agent", "supervisor")
MODES: tuple[Mode, ...] = ("listen", "whisper", "barge")

# Received audio kept per leg: absorbs network jitter; beyond it the oldest is dropped.
_INBOUND_LIMIT = 10 * FRAME_SAMPLES  # 200 ms
# Playout starts (again, after running dry) once this much has arrived, so that packets arriving
# a little late don't each cause a gap.
_INBOUND_START = 2 * FRAME_SAMPLES  # 40 ms
# Mixed frames waiting for a leg's sender; a sender that falls behind hears the newest.
_OUTBOUND_LIMIT = 5
# A clock that falls this far behind (a stalled loop) skips ahead rather than bursting to catch up.
_MAX_LAG_SECONDS = 0.2
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class InboundAudio:
    """A leg's received audio, converted and bounded; the mixer takes 20 ms at a time."""

    def __init__(self) -> None:
        self._samples = np.zeros(0, dtype=np.int16)
        self._playing = False
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self.dropped_samples = 0

    def push_frame(self, frame: av.AudioFrame) -> None:
        if frame.sample_rate == SAMPLE_RATE and frame.format.name == "s16":
            # What aiortc's Opus decoder gives: already 48 kHz s16, so only the channels may need
            # folding, which numpy does in a few µs without the resampler's per-frame setup.
            samples = frame.to_ndarray().reshape(-1)
            if frame.layout.name == "stereo":
                samples = downmix(samples)
            if frame.layout.name in ("mono", "stereo"):
                self.push(samples)
                return
        for converted in self._resampler.resample(frame):
            self.push(converted.to_ndarray().reshape(-1))

    def push(self, samples: np.ndarray) -> None:
        joined = np.concatenate([self._samples, samples])
        excess = len(joined) - _INBOUND_LIMIT
        if excess > 0:
            self.dropped_samples += excess
            joined = joined[excess:]
        self._samples = joined

    def take_frame(self) -> np.ndarray:
        if not self._playing:
            if len(self._samples) < _INBOUND_START:
                return silence()
            self._playing = True
        frame, self._samples = self._samples[:FRAME_SAMPLES], self._samples[FRAME_SAMPLES:]
        if len(frame) < FRAME_SAMPLES:  # ran dry: wait for a little to arrive again
            self._playing = False
            frame = np.pad(frame, (0, FRAME_SAMPLES - len(frame)))
        return frame


class MixedAudioTrack(MediaStreamTrack):
    """What one leg hears: frames the call's clock puts in, at real-time pace, taken by the leg's
    RTP sender — as Opus packets once `encode_opus()` is called (see opus.py), else as frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames: collections.deque[np.ndarray] = collections.deque(maxlen=_OUTBOUND_LIMIT)
        self._ready = asyncio.Event()
        self._pts = 0
        self._encoder: OpusVoiceEncoder | None = None
        self._packets: collections.deque[av.Packet] = collections.deque()

    def encode_opus(self) -> None:
        """Before the sender starts: the leg negotiated Opus."""
        self._encoder = OpusVoiceEncoder()

    def put(self, samples: np.ndarray) -> None:
        self._frames.append(samples)
        self._ready.set()

    async def recv(self) -> av.AudioFrame | av.Packet:
        while not self._packets:
            samples = await self.next_samples()
            if self._encoder is None:
                return self._frame(samples)
            self._packets.extend(self._encoder.encode(samples))
        return self._packets.popleft()

    async def next_samples(self) -> np.ndarray:
        """The next 20 ms, raw: for a leg that encodes them itself (rtp.py)."""
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def _frame(self, samples: np.ndarray) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        self._pts += len(samples)
        return frame

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # wakes a waiting recv(), which then ends


@dataclass(eq=False)
class MixerLeg:
    leg_id: str
    role: Role
    mode: Mode | None = None  # supervisors only
    outbound: MixedAudioTrack = field(default_factory=MixedAudioTrack)
    inbound: InboundAudio = field(default_factory=InboundAudio)
    connected: bool = False
    muted: bool = False
    reader: asyncio.Task[None] | None = None


StereoSink = Callable[[np.ndarray, np.ndarray], None]


class CallMixer:
    def __init__(self, call_id: str, hold_melody: np.ndarray) -> None:
        self.call_id = call_id
        self.on_hold = False
        # Gets (customers, agents) every 20 ms while set: the recorder.
        self.recording: StereoSink | None = None
        self._legs: dict[str, MixerLeg] = {}
        self._hold = HoldAudio(hold_melody)
        self._clock: asyncio.Task[None] | None = None

    def add_leg(self, leg_id: str, role: Role, mode: Mode | None = None) -> MixerLeg:
        leg = self._legs[leg_id] = MixerLeg(leg_id, role, mode)
        if self._clock is None:
            self._clock = asyncio.create_task(self._run_clock(), name=f"media clock {self.call_id}")
        return leg

    def listen(self, leg_id: str, track: MediaStreamTrack) -> None:
        """Feeds what the leg's peer sends (a received track) into the mix."""
        leg = self._legs[leg_id]
        if leg.reader is None:
            leg.reader = asyncio.create_task(self._read(leg, track), name=f"media in {leg_id}")

    def set_connected(self, leg_id: str, connected: bool) -> None:
        if leg := self._legs.get(leg_id):
            leg.connected = connected

    def set_muted(self, leg_id: str, muted: bool) -> None:
        self._legs[leg_id].muted = muted

    def set_mode(self, leg_id: str, mode: Mode) -> None:
        self._legs[leg_id].mode = mode

    def remove_leg(self, leg_id: str) -> None:
        leg = self._legs.pop(leg_id, None)
        if leg is None:
            return
        leg.outbound.stop()
        if leg.reader:
            leg.reader.cancel()

    def has_legs(self) -> bool:
        return bool(self._legs)

    def close(self) -> None:
        for leg_id in list(self._legs):
            self.remove_leg(leg_id)
        if self._clock:
            self._clock.cancel()

    async def _read(self, leg: MixerLeg, track: MediaStreamTrack) -> None:
        try:
            while True:
                leg.inbound.push_frame(await track.recv())
        except MediaStreamError:
            pass  # the peer's track ended

    async def _run_clock(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += FRAME_SECONDS
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -_MAX_LAG_SECONDS:
                deadline = loop.time()
            try:
                self.tick()
            except Exception:  # one bad tick must not silence the call for good
                log.exception("mixing failed", extra={"call_id": self.call_id})

    def announce(self, prompt: np.ndarray) -> None:
        """A prompt for the caller, heard in place of the hold melody (so only while they hear it)."""
        self._hold.interject(prompt)

    def tick(self) -> None:
        """One 20 ms step: every leg's next frame mixed and handed to the others and the recorder."""
        voices: dict[str, np.ndarray] = {}
        for leg in self._legs.values():
            frame = leg.inbound.take_frame()  # taken even when muted, so the buffer stays current
            if leg.connected and not leg.muted:
                voices[leg.leg_id] = frame
        agent_connected = any(leg.connected for leg in self._legs.values() if leg.role == "agent")
        hold_frame = self._hold.next_frame() if self.on_hold or not agent_connected else None
        for leg in self._legs.values():
            if leg.role == "customer" and hold_frame is not None:
                leg.outbound.put(hold_frame)
                continue
            leg.outbound.put(mix([voice for leg_id, voice in voices.items()
                                  if leg_id != leg.leg_id and self._hears(leg, self._legs[leg_id])]))
        if self.recording is not None:
            self.recording(*self._recorded(voices, customer_on_hold_audio=hold_frame is not None))

    def _hears(self, listener: MixerLeg, speaker: MixerLeg) -> bool:
        """Whether `listener` (not a customer on hold audio) hears `speaker`'s voice."""
        if speaker.role == "customer":
            return not self.on_hold  # on hold, only the agent side talks
        if speaker.role == "supervisor":
            if speaker.mode == "barge":
                return True
            return speaker.mode == "whisper" and listener.role != "customer"
        return True  # an agent

    def _recorded(self, voices: dict[str, np.ndarray], customer_on_hold_audio: bool) -> tuple[np.ndarray, np.ndarray]:
        if self.on_hold:
            return silence(), silence()
        left: list[np.ndarray] = []
        right: list[np.ndarray] = []
        for leg_id, voice in voices.items():
            leg = self._legs[leg_id]
            if leg.role == "customer":
                left.append(voice)
            elif leg.role == "agent":
                right.append(voice)
            elif leg.mode == "barge" and not customer_on_hold_audio:
                right.append(voice)  # only what the customer can hear of a supervisor: never a whisper
        return mix(left), mix(right)

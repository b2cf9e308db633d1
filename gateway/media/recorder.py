"""A call's recording: an Ogg Opus file, 48 kHz stereo, the customer on the left and the agent on
the right (with a supervisor who barges in; never one who listens or whispers: see mixer.py), so
that either side can be listened to (or transcribed) alone.

Encoding runs in a thread of its own, behind a bounded queue, so the event loop that carries the
call's audio never waits for the encoder or the disk; if the thread falls behind by more than the
queue holds, the oldest audio is dropped (and counted) rather than the call stalling.

Paused, nothing is written — not silence: the file holds only what was meant to be recorded, and
its length says how much that was. Frames are written with continuous timestamps, so a resumed
recording simply continues. The pause takes effect on the loop, before the queue, so audio from
a paused interval never reaches the thread, let alone the file."""

from __future__ import annotations

import asyncio
import fractions
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from gateway.media.audio import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)

_QUEUE_FRAMES = 250  # 5 s of audio waiting for the encoder
_BITRATE = 64_000  # stereo speech, comfortably transparent
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_STOP = None


class RecordingFailed(Exception):
    pass


@dataclass(frozen=True)
class RecordingResult:
    path: str
    seconds: float
    bytes: int
    dropped_seconds: float


class StereoRecorder:
    """`await StereoRecorder.open(path)`; `write(left, right)` from the loop every 20 ms;
    `pause(...)`; `await stop()` finalises the file."""

    def __init__(self, path: str, container: av.container.OutputContainer, stream: av.AudioStream) -> None:
        self.path = path
        self.paused = False
        self._container = container
        self._stream = stream
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._written_samples = 0  # only the thread touches it until stop() joins it
        self._dropped_frames = 0
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._encode, name=f"recorder {Path(path).name}", daemon=True)
        self._thread.start()

    @classmethod
    async def open(cls, path: str) -> StereoRecorder:
        try:
            container, stream = await asyncio.to_thread(_open_file, path)
        except (OSError, av.FFmpegError) as exc:
            raise RecordingFailed(f"the recording file cannot be created: {exc}") from None
        return cls(path, container, stream)

    def write(self, left: np.ndarray, right: np.ndarray) -> None:
        if self.paused:
            return
        interleaved = np.empty(2 * FRAME_SAMPLES, dtype=np.int16)
        interleaved[0::2], interleaved[1::2] = left, right
        while True:
            try:
                self._queue.put_nowait(interleaved)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._dropped_frames += 1
                except queue.Empty:
                    pass

    async def stop(self) -> RecordingResult:
        self.paused = True  # nothing more from the loop
        await asyncio.to_thread(self._finish)
        if self._failure is not None:
            raise RecordingFailed(f"the recording could not be written: {self._failure}")
        return RecordingResult(
            path=self.path,
            seconds=self._written_samples / SAMPLE_RATE,
            bytes=Path(self.path).stat().st_size,
            dropped_seconds=self._dropped_frames * FRAME_SAMPLES / SAMPLE_RATE,
        )

    def _finish(self) -> None:
        self._queue.put(_STOP)  # blocks only this helper thread, and only until the encoder catches up
        self._thread.join()

    def _encode(self) -> None:
        try:
            while (samples := self._queue.get()) is not _STOP:
                if self._failure is not None:
                    continue  # keep draining, so the loop never blocks on a full queue
                try:
                    self._encode_frame(samples)
                except Exception as exc:  # a full disk: reported by stop()
                    log.exception("recording failed", extra={"path": self.path})
                    self._failure = exc
            if self._failure is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        except Exception as exc:
            self._failure = self._failure or exc
        finally:
            try:
                self._container.close()
            except Exception as exc:
                self._failure = self._failure or exc

    def _encode_frame(self, samples: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._written_samples
        frame.time_base = _TIME_BASE
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._written_samples += FRAME_SAMPLES


def _open_file(path: str) -> tuple[av.container.OutputContainer, av.AudioStream]:
    container = av.open(path, mode="w", format="ogg")
    try:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "stereo"
        stream.bit_rate = _BITRATE
        # The file is created now, not at the first packet, so a bad path fails the start.
        container.start_encoding()
    except BaseException:
        container.close()
        raise
    return container, stream

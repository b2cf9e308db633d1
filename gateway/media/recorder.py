"""A call's recording: an Ogg Opus file, 48 kHz stereo, the customer on the left and the agent on
the right (with a supervisor who barges in; never one who listens or whispers: see mixer.py), so
that either side can be listened to (or transcribed) alone.

Encoding and writing run in one thread per worker process (`RecordingThread`), shared by all the
calls it records, so the event loop that carries the calls' audio never waits for an encoder or
the disk. Frames go to it in batches of 200 ms: a thread per call woken every 20 ms cost more, in
thread switches and GIL hand-overs, than the encoding itself. The queue is bounded; when the
thread falls that far behind (a stalled disk), a batch is dropped (and counted) rather than the
calls stalling or the worker's memory growing.

Paused, nothing is written — not silence: the file holds only what was meant to be recorded, and
its length says how much that was. Frames are written with continuous timestamps, so a resumed
recording simply continues. The pause takes effect on the loop, before the queue, so audio from
a paused interval never reaches the thread, let alone the file."""

from __future__ import annotations

import asyncio
import concurrent.futures
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

_BATCH_FRAMES = 10  # 200 ms handed to the thread at a time
_QUEUE_BATCHES = 500  # ~100 s of one call's audio (19 MB) waiting for the thread, shared by all calls
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


class RecordingThread:
    """The worker's one encoding thread: takes (recorder, batch of frames | _STOP) in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[StereoRecorder, list[np.ndarray] | None]] = queue.Queue(maxsize=_QUEUE_BATCHES)
        self._thread = threading.Thread(target=self._run, name="recordings", daemon=True)
        self._thread.start()

    def offer(self, recorder: StereoRecorder, batch: list[np.ndarray]) -> bool:
        """From the loop: False when the thread is too far behind to take it."""
        try:
            self._queue.put_nowait((recorder, batch))
            return True
        except queue.Full:
            return False

    def finish(self, recorder: StereoRecorder) -> None:
        """From a helper thread: blocks until there is room, so the end of a file is never dropped."""
        self._queue.put((recorder, _STOP))

    def _run(self) -> None:
        while True:
            recorder, batch = self._queue.get()
            if batch is _STOP:
                recorder._finalise()
            else:
                recorder._encode_batch(batch)


class StereoRecorder:
    """`await StereoRecorder.open(path, thread)`; `write(left, right)` from the loop every 20 ms;
    `paused`; `await stop()` finalises the file."""

    def __init__(self, path: str, thread: RecordingThread,
                 container: av.container.OutputContainer, stream: av.AudioStream) -> None:
        self.path = path
        self.paused = False
        self._thread = thread
        self._container = container
        self._stream = stream
        self._batch: list[np.ndarray] = []
        self._written_samples = 0  # only the thread touches it until stop() has waited for it
        self._dropped_frames = 0
        self._failure: BaseException | None = None
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()

    @classmethod
    async def open(cls, path: str, thread: RecordingThread) -> StereoRecorder:
        try:
            container, stream = await asyncio.to_thread(_open_file, path)
        except (OSError, av.FFmpegError) as exc:
            raise RecordingFailed(f"the recording file cannot be created: {exc}") from None
        return cls(path, thread, container, stream)

    def write(self, left: np.ndarray, right: np.ndarray) -> None:
        if self.paused:
            return
        interleaved = np.empty(2 * FRAME_SAMPLES, dtype=np.int16)
        interleaved[0::2], interleaved[1::2] = left, right
        self._batch.append(interleaved)
        if len(self._batch) >= _BATCH_FRAMES:
            self._hand_over()

    def _hand_over(self) -> None:
        batch, self._batch = self._batch, []
        if batch and not self._thread.offer(self, batch):
            self._dropped_frames += len(batch)

    async def stop(self) -> RecordingResult:
        self.paused = True  # nothing more from the loop
        self._hand_over()  # what was recorded before the stop is kept
        await asyncio.to_thread(self._thread.finish, self)
        await asyncio.wrap_future(self._finished)
        if self._failure is not None:
            raise RecordingFailed(f"the recording could not be written: {self._failure}")
        return RecordingResult(
            path=self.path,
            seconds=self._written_samples / SAMPLE_RATE,
            bytes=Path(self.path).stat().st_size,
            dropped_seconds=self._dropped_frames * FRAME_SAMPLES / SAMPLE_RATE,
        )

    # In the recording thread.

    def _encode_batch(self, batch: list[np.ndarray]) -> None:
        if self._failure is not None:
            return  # a full disk: reported by stop()
        try:
            for samples in batch:
                self._encode_frame(samples)
        except Exception as exc:
            log.exception("recording failed", extra={"path": self.path})
            self._failure = exc

    def _finalise(self) -> None:
        try:
            if self._failure is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        except Exception as exc:
            self._failure = exc
        finally:
            try:
                self._container.close()
            except Exception as exc:
                self._failure = self._failure or exc
            self._finished.set_result(None)

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

"""A leg's received audio decoded on the worker's event loop, straight into the mixer's buffer.

aiortc gives every receiver a decoder thread of its own, fed through a `queue.Queue`, and hands
each decoded 20 ms frame back to the loop with `run_coroutine_threadsafe` (a Task per frame), to
be read from the track by yet another task. For audio that costs far more than the decoding (an
Opus frame decodes in ~20 µs): two thread wake-ups, a GIL hand-over each way and three loop
callbacks, fifty times a second per leg, and a thread per leg competing for the GIL. Here the
receiver's decoder queue is replaced, before aiortc starts the thread, by an object whose `put`
decodes at once and pushes into the leg's `InboundAudio`; the thread aiortc then starts finds
nothing to do and ends at once.

aiortc offers no hook for this, so it relies on one private attribute of `RTCRtpReceiver`
(the decoder queue). aiortc is pinned below 2; if the attribute is ever missing or the thread
already started, `decode_on_loop` says so and the caller reads the track as before
(tests/media/test_receiving.py fails loudly if that fallback is taken with the pinned aiortc).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import av
from aiortc import RTCRtpReceiver
from aiortc.codecs import get_decoder

log = logging.getLogger(__name__)

_QUEUE = "_RTCRtpReceiver__decoder_queue"
_THREAD = "_RTCRtpReceiver__decoder_thread"


class FrameSink(Protocol):
    """Where decoded frames go: the mixer's InboundAudio (or a benchmark's counter)."""

    def push_frame(self, frame: av.AudioFrame) -> None: ...


class _DecodeOnLoop:
    """Stands in for the receiver's decoder queue."""

    def __init__(self, inbound: FrameSink) -> None:
        self._inbound = inbound
        self._decoder: Any = None
        self._codec_name: str | None = None

    def put(self, item: Any) -> None:
        if item is None:  # aiortc stopping its (already ended) thread
            return
        codec, encoded_frame = item
        if codec.name != self._codec_name:
            self._decoder, self._codec_name = get_decoder(codec), codec.name
        try:
            frames = self._decoder.decode(encoded_frame)
        except av.FFmpegError as exc:  # one bad packet; the decoder's state is kept, as aiortc does
            log.warning("a received audio frame could not be decoded: %s", exc)
            return
        for frame in frames:
            self._inbound.push_frame(frame)

    def get(self) -> None:
        return None  # what aiortc's decoder thread reads first: the end, so it exits at once


def decode_on_loop(receiver: RTCRtpReceiver, inbound: FrameSink) -> bool:
    """Before the receiver starts (it starts once both descriptions are set): whether from now on
    its audio is decoded on the loop into `inbound`."""
    if not hasattr(receiver, _QUEUE) or getattr(receiver, _THREAD, True) is not None:
        log.warning("aiortc's receiver is not as expected: received audio is decoded its own way")
        return False
    setattr(receiver, _QUEUE, _DecodeOnLoop(inbound))
    return True

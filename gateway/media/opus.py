"""What a WebRTC leg hears, encoded to Opus by the media layer itself rather than by aiortc.

A track that gives aiortc raw frames pays, per 20 ms frame and on the event loop, for a pure-Python
audio-level computation over every sample (RFC 6465, for a header extension nobody here reads)
and a hop to an executor thread and back for the encoding; aiortc's encoder then upmixes the mono
mix to stereo and encodes that at 96 kbit/s. Those cost more than the encoding itself (~60 µs for
a mono frame). A track that hands aiortc ready `av.Packet`s skips all of it: aiortc only packs
them into RTP. So a leg that negotiated Opus gets packets from here; any other codec (G.711 from
a gateway that offers no Opus) still gets frames, which aiortc encodes its usual way.
"""

from __future__ import annotations

import fractions

import av
import numpy as np

from gateway.media.audio import SAMPLE_RATE

# Mono speech: what browsers send themselves (~32 kbit/s); comfortably above the quality a
# phone call has.
_BITRATE = 32_000
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class OpusVoiceEncoder:
    """One leg's outbound Opus stream: 20 ms of 48 kHz mono s16 in, one packet out, timestamps
    continuous (the RTP timestamps aiortc derives from them must be)."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.bit_rate = _BITRATE
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = SAMPLE_RATE
        self._codec.time_base = _TIME_BASE
        self._codec.options = {"application": "voip"}
        self._pts = 0
        self._first_packet_pts: int | None = None

    def encode(self, samples: np.ndarray) -> list[av.Packet]:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        self._pts += len(samples)
        packets = self._codec.encode(frame)
        for packet in packets:
            # libopus starts at minus its look-ahead; RTP timestamps start where they like.
            if self._first_packet_pts is None:
                self._first_packet_pts = packet.pts
            packet.pts -= self._first_packet_pts
            packet.time_base = _TIME_BASE  # aiortc converts pts with it
        return packets


def is_opus(mime_type: str) -> bool:
    return mime_type.lower() == "audio/opus"

"""The one audio format inside the media layer: 48 kHz, mono, signed 16-bit, in 20 ms frames.
Everything that comes in is converted to it; the mixer, hold audio and recorder work only in it."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 48_000
FRAME_SECONDS = 0.020
FRAME_SAMPLES = 960  # SAMPLE_RATE * FRAME_SECONDS


def silence() -> np.ndarray:
    return np.zeros(FRAME_SAMPLES, dtype=np.int16)


def mix(voices: list[np.ndarray]) -> np.ndarray:
    """Voices heard together: summed, clipped rather than wrapped round. One voice (the common
    case, two parties talking) is passed on as it is."""
    if not voices:
        return silence()
    if len(voices) == 1:
        return voices[0]
    total = np.sum(voices, axis=0, dtype=np.int32)
    return np.clip(total, -32768, 32767, out=total).astype(np.int16)


def downmix(interleaved: np.ndarray) -> np.ndarray:
    """Interleaved stereo s16 to mono: the mean of the two channels."""
    pairs = interleaved.reshape(-1, 2).astype(np.int32)
    return ((pairs[:, 0] + pairs[:, 1]) >> 1).astype(np.int16)

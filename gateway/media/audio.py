"""The one audio format inside the media layer: 48 kHz, mono, signed 16-bit, in 20 ms frames.
Everything that comes in is converted to it; the mixer, hold audio and recorder work only in it."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 48_000
FRAME_SECONDS = 0.020
FRAME_SAMPLES = 960  # SAMPLE_RATE * FRAME_SECONDS


def silence() -> np.ndarray:
    return np.zeros(FRAME_SAMPLES, dtype=np.int16)


def to_int16(mixed: np.ndarray) -> np.ndarray:
    """A sum of voices (int32) back to samples, clipped rather than wrapped round."""
    return np.clip(mixed, -32768, 32767).astype(np.int16)

"""Hold audio: a gentle repeating melody of soft sine tones, generated in code (no file to ship or
license), rendered once per worker process and played from a cursor per call.

Its notes stay between 196 and 660 Hz, well away from the 1 kHz and above where speech is most
intelligible, at about -26 dBFS so that it never startles. A spoken prompt (prompts.py: the
caller's place in line) interrupts it and the melody goes on after."""

from __future__ import annotations

import numpy as np

from gateway.media.audio import FRAME_SAMPLES, SAMPLE_RATE

# (frequency in Hz, beats); one beat is 0.3 s. G major, a slow arpeggio that returns home.
_MELODY = (
    (392.0, 2), (493.9, 2), (587.3, 2), (493.9, 2),
    (440.0, 2), (523.3, 2), (659.3, 2), (523.3, 2),
    (392.0, 2), (493.9, 2), (587.3, 2), (440.0, 2),
    (392.0, 6), (0.0, 2),
)
_BEAT_SECONDS = 0.3
_LEVEL = 0.05  # peak amplitude of the melody, as a fraction of full scale (~ -26 dBFS)
_DRONE_HZ = 196.0  # a quiet G below: never silent between notes


def render_melody() -> np.ndarray:
    """One loop of the melody as int16 samples, a whole number of frames long."""
    pieces = []
    for frequency, beats in _MELODY:
        n = int(beats * _BEAT_SECONDS * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        # Soft attack and release: a raised-cosine envelope, so notes don't click.
        ramp = min(n // 4, int(0.08 * SAMPLE_RATE))
        envelope = np.ones(n)
        envelope[:ramp] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        envelope[-ramp:] = envelope[:ramp][::-1]
        pieces.append(np.sin(2 * np.pi * frequency * t) * envelope if frequency else np.zeros(n))
    melody = np.concatenate(pieces)
    melody = melody[: len(melody) - len(melody) % FRAME_SAMPLES]
    # The drone is tuned to a whole number of cycles per loop, so the loop's seam does not click.
    cycles = round(_DRONE_HZ * len(melody) / SAMPLE_RATE)
    drone = 0.3 * np.sin(2 * np.pi * cycles * np.arange(len(melody)) / len(melody))
    return (np.clip(melody + drone, -1, 1) * _LEVEL * 32767).astype(np.int16)


class HoldAudio:
    """One call's place in the hold loop; `next_frame()` gives the next 20 ms. The melody is
    rendered once per worker (render_melody) and shared by its calls (~700 kB)."""

    def __init__(self, melody: np.ndarray, prompt: np.ndarray | None = None) -> None:
        loop = melody
        if prompt is not None:  # 48 kHz mono int16, played at the start of every loop
            loop = np.concatenate([prompt.astype(np.int16), loop])
            loop = np.pad(loop, (0, -len(loop) % FRAME_SAMPLES))
        self._loop = loop
        self._position = 0
        self._interjection: np.ndarray | None = None  # a prompt playing now, the melody paused
        self._interjection_at = 0

    def interject(self, prompt: np.ndarray) -> None:
        """Play `prompt` (48 kHz mono int16, whole frames) now; the melody resumes after it."""
        self._interjection, self._interjection_at = prompt, 0

    def next_frame(self) -> np.ndarray:
        if self._interjection is not None:
            frame = self._interjection[self._interjection_at : self._interjection_at + FRAME_SAMPLES]
            self._interjection_at += FRAME_SAMPLES
            if self._interjection_at >= len(self._interjection):
                self._interjection = None
            return frame
        frame = self._loop[self._position : self._position + FRAME_SAMPLES]
        self._position = (self._position + FRAME_SAMPLES) % len(self._loop)
        return frame

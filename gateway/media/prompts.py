"""Spoken prompts for callers who wait ("you are number 3 in line..."), rendered with espeak-ng
(Debian's package; `make run` installs it) and played into their hold audio. Where espeak-ng is
missing a prompt falls back to beeps — one per place in line, at most nine — so a caller still
hears that their place moved."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import wave

import numpy as np

from gateway.media.audio import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)

_LEVEL = 0.35  # peak, as a share of full scale: clearly above the hold melody (~0.05)
_MAX_TEXT = 300
_RENDER_TIMEOUT_SECONDS = 10
_BEEP_HZ, _BEEP_SECONDS, _GAP_SECONDS, _MAX_BEEPS = 880.0, 0.15, 0.25, 9


def render_prompt(text: str, *, beeps: int, voice: str = "en") -> np.ndarray:
    """The prompt as 48 kHz mono int16, a whole number of frames: spoken when espeak-ng is
    here, else `beeps` beeps. Blocking (a subprocess): run it off the event loop."""
    speech = _speak(text[:_MAX_TEXT], voice) if shutil.which("espeak-ng") else None
    return _frames(speech if speech is not None else _beeps(beeps))


def _speak(text: str, voice: str) -> np.ndarray | None:
    try:
        done = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", "150", "--", text],
                              capture_output=True, timeout=_RENDER_TIMEOUT_SECONDS, check=True)
        with wave.open(io.BytesIO(done.stdout)) as sound:
            rate, width = sound.getframerate(), sound.getsampwidth()
            raw = sound.readframes(sound.getnframes())
    except (OSError, subprocess.SubprocessError, wave.Error, EOFError):
        log.warning("espeak-ng could not render a prompt; beeps instead", exc_info=True)
        return None
    if width != 2 or not raw:
        return None
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float64) / 32768
    # Linear resampling is enough for a voice prompt (espeak-ng speaks at 22.05 kHz).
    length = int(len(samples) * SAMPLE_RATE / rate)
    resampled = np.interp(np.arange(length) * rate / SAMPLE_RATE, np.arange(len(samples)), samples)
    peak = float(np.max(np.abs(resampled))) or 1.0
    return resampled / peak * _LEVEL


def _beeps(count: int) -> np.ndarray:
    tone = np.sin(2 * np.pi * _BEEP_HZ * np.arange(int(_BEEP_SECONDS * SAMPLE_RATE)) / SAMPLE_RATE) * _LEVEL
    gap = np.zeros(int(_GAP_SECONDS * SAMPLE_RATE))
    return np.concatenate([gap] + [np.concatenate([tone, gap]) for _ in range(max(1, min(count, _MAX_BEEPS)))])


def _frames(samples: np.ndarray) -> np.ndarray:
    padded = np.pad(samples, (0, -len(samples) % FRAME_SAMPLES))
    return (np.clip(padded, -1, 1) * 32767).astype(np.int16)

"""A waiting caller is told their place in line: spoken by espeak-ng into the hold audio, or as
beeps — one per place — where espeak-ng is missing."""

from __future__ import annotations


import numpy as np
import pytest

from gateway.media import prompts
from gateway.media.audio import SAMPLE_RATE
from tests.media.support import connect, energy_near, until_heard


def share_above(samples: np.ndarray, frequency: float) -> float:
    """The share of the sound's energy above `frequency`: speech has plenty, the hold melody
    (notes up to 660 Hz) next to none."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    total = spectrum[freqs > 20].sum()
    return float(spectrum[freqs > frequency].sum() / total) if total else 0.0


def test_a_prompt_is_spoken_with_espeak_ng():
    spoken = prompts.render_prompt("You are number 3 in line.", beeps=3)
    assert len(spoken) / SAMPLE_RATE > 1.0 and len(spoken) % 960 == 0
    assert share_above(spoken, 800) > 0.2  # a voice, not a tone
    assert energy_near(spoken, 880.0) < 0.2


def test_without_espeak_ng_a_prompt_is_one_beep_per_place_in_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(prompts.shutil, "which", lambda name: None)
    three = prompts.render_prompt("You are number 3 in line.", beeps=3)
    assert energy_near(three, 880.0) > 0.8
    frames = three.astype(np.float64).reshape(-1, 960)
    loud = np.sqrt((frames ** 2).mean(axis=1)) > 1000  # 20 ms at a time: is a beep sounding?
    beeps = int(np.count_nonzero(np.diff(np.concatenate([[0], loud.astype(np.int8)])) == 1))
    assert beeps == 3 and len(prompts.render_prompt("x", beeps=40)) > len(three)  # capped, but more


async def test_a_waiting_caller_hears_the_prompt_over_the_hold_audio_then_the_melody_again(media, peers) -> None:
    service, events = media
    customer = peers(440.0)
    await connect(service, "prompt-call", "prompt-call.customer", "customer", customer, events)
    await until_heard(customer, lambda audio: share_above(audio, 800) < 0.05)  # the melody only
    await service.announce("prompt-call", "You are number 2 in line.", beeps=2)
    await until_heard(customer, lambda audio: share_above(audio, 800) > 0.2)  # the prompt
    await until_heard(customer, lambda audio: share_above(audio, 800) < 0.05, seconds=0.5)  # the melody goes on

"""A call's recording: Ogg Opus, the customer on the left, the agent on the right, nothing of
what was said while it was paused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.media import MediaError
from tests.media.support import RATE, connect, decode, energy_near, is_tone, peak_frequency, rms, until_heard, windows

CUSTOMER_HZ = 440.0
AGENT_HZ = 1000.0
PRIVATE_HZ = 700.0  # what the customer "says" while the recording is paused


async def test_the_recording_is_stereo_and_holds_nothing_from_a_pause(media, peers, tmp_path: Path) -> None:
    service, events = media
    customer, agent = peers(CUSTOMER_HZ), peers(AGENT_HZ)
    await connect(service, "rec-1", "c", "customer", customer, events)
    await connect(service, "rec-1", "a", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))
    path = tmp_path / "call.ogg"

    started = time.monotonic()
    await service.start_recording("rec-1", str(path))
    await agent.heard.listen(0.6)

    paused = time.monotonic()
    await service.pause_recording("rec-1", True)
    customer.tone.frequency = PRIVATE_HZ
    await until_heard(agent, lambda audio: is_tone(audio, PRIVATE_HZ))  # it did go through the call
    customer.tone.frequency = CUSTOMER_HZ
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ) and energy_near(audio, PRIVATE_HZ) < 0.001)
    await service.pause_recording("rec-1", False)
    resumed = time.monotonic()

    await agent.heard.listen(0.6)
    info = await service.stop_recording("rec-1")
    stopped = time.monotonic()

    assert info.path == str(path) and info.bytes == path.stat().st_size > 0
    left, right, codec, rate = decode(path)
    assert (codec, rate) == ("opus", RATE)
    assert abs(len(left) / RATE - info.seconds) < 0.1
    # The paused interval is not in the file, not even as silence.
    assert info.seconds < (stopped - started) - (resumed - paused) + 0.2
    assert info.seconds >= 1.0

    audible = [(l, r) for l, r in zip(windows(left), windows(right)) if rms(l) > 500 and rms(r) > 500]
    assert len(audible) >= 0.8 * len(windows(left))
    for l, r in audible:
        assert abs(peak_frequency(l) - CUSTOMER_HZ) < 15
        assert abs(peak_frequency(r) - AGENT_HZ) < 15
    assert all(energy_near(l, PRIVATE_HZ) < 0.01 for l in windows(left))


async def test_recording_commands_say_what_is_wrong(media, peers, tmp_path: Path) -> None:
    service, events = media
    customer = peers(CUSTOMER_HZ)
    await connect(service, "rec-2", "c", "customer", customer, events)

    with pytest.raises(MediaError, match="not being recorded"):
        await service.stop_recording("rec-2")
    with pytest.raises(MediaError, match="cannot be created"):
        await service.start_recording("rec-2", str(tmp_path / "no-such-dir" / "call.ogg"))
    with pytest.raises(MediaError, match="no media"):
        await service.start_recording("no-such-call", str(tmp_path / "call.ogg"))

    await service.start_recording("rec-2", str(tmp_path / "call.ogg"))
    with pytest.raises(MediaError, match="already being recorded"):
        await service.start_recording("rec-2", str(tmp_path / "other.ogg"))
    # Ending the call finishes the file: what was recorded is kept.
    await customer.heard.listen(0.2)
    await service.end_call("rec-2")
    left, _, codec, _ = decode(tmp_path / "call.ogg")
    assert codec == "opus" and len(left) > 0

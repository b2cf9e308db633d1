"""Received audio decoded on the loop (receiving.py), with the aiortc this project pins: a real
peer's tone arrives in the leg's buffer, and aiortc's per-receiver decoder thread is gone."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from gateway.media.mixer import InboundAudio
from gateway.media.receiving import decode_on_loop
from tests.media.conftest import NO_ADDRESS
from tests.media.support import PATIENCE_SECONDS, ClientPeer, has_media_address, is_tone


async def test_a_peers_audio_is_decoded_on_the_loop_into_the_legs_buffer() -> None:
    assert has_media_address(), NO_ADDRESS
    caller = ClientPeer(440.0)
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    inbound = InboundAudio()
    installed: list[bool] = []

    @answerer.on("track")
    def _on_track(track) -> None:
        receiver = next(t.receiver for t in answerer.getTransceivers() if t.receiver.track is track)
        installed.append(decode_on_loop(receiver, inbound))

    try:
        await answerer.setRemoteDescription(RTCSessionDescription(sdp=await caller.offer(), type="offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        await caller.accept(answerer.localDescription.sdp)
        assert installed == [True], "aiortc's receiver changed: received audio would go through its decoder thread"

        heard: list[np.ndarray] = []
        async with asyncio.timeout(PATIENCE_SECONDS):
            while sum(len(chunk) for chunk in heard) < 48_000 // 2:
                await asyncio.sleep(0.02)
                heard.append(inbound.take_frame())
        audio = np.concatenate(heard)
        assert is_tone(audio[-24_000:], 440.0)
        assert not any(t.name == "audio-decoder" and t.is_alive() for t in threading.enumerate())
    finally:
        await caller.close()
        await answerer.close()

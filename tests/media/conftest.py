"""A MediaService with real worker processes, and real aiortc peers to call it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from gateway.config import MediaConfig
from gateway.media import MediaService
from tests.media.support import ClientPeer, EventLog, has_media_address

NO_ADDRESS = ("the media tests need a non-loopback IPv4 address: aioice offers no loopback candidates, "
              "so two peers on this machine cannot connect")


@asynccontextmanager
async def running_service(**settings) -> AsyncIterator[tuple[MediaService, EventLog]]:
    assert has_media_address(), NO_ADDRESS
    events = EventLog()
    service = MediaService(MediaConfig(**{"workers": 1, "connect_timeout_seconds": 10.0, **settings}), events)
    await service.start()
    try:
        yield service, events
    finally:
        await service.stop()


@pytest.fixture
async def media() -> AsyncIterator[tuple[MediaService, EventLog]]:
    async with running_service() as running:
        yield running


@pytest.fixture
async def peers() -> AsyncIterator[Callable[..., ClientPeer]]:
    made: list[ClientPeer] = []

    def make(frequency: float, codec: str | None = None) -> ClientPeer:
        made.append(ClientPeer(frequency, codec))
        return made[-1]

    yield make
    for peer in made:
        await peer.close()

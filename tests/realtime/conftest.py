from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.conftest import make_config
from tests.realtime.support import Sockets

VISITOR_EVENTS_PER_WINDOW = 5


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(
        tmp_path / "data",
        realtime={"channel": f"wecc-test:{uuid.uuid4().hex}", "visitor_events_per_window": VISITOR_EVENTS_PER_WINDOW},
    )


@pytest.fixture
async def sockets(client: TestClient) -> AsyncIterator[Sockets]:
    """socket.io clients of the gateway behind `client`, on its real TCP port."""
    opened = Sockets(str(client.server.make_url("")).rstrip("/"))
    yield opened
    await opened.close()

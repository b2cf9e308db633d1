from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gateway.config import Config
from tests.conftest import make_config

VISITOR_EVENTS_PER_WINDOW = 5
VISITOR_SIGNALS_PER_WINDOW = 8


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(
        tmp_path / "data",
        realtime={"channel": f"wecc-test:{uuid.uuid4().hex}", "visitor_events_per_window": VISITOR_EVENTS_PER_WINDOW,
                  "visitor_signals_per_window": VISITOR_SIGNALS_PER_WINDOW},
    )



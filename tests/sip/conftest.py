"""A gateway taking phone calls from a SIP trunk on 127.0.0.1 for the demo tenant's number."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gateway.config import Config
from tests.conftest import make_config
from tests.sip.baresip import free_port_pair

SUPPORT_LINE = "+4930123456"


@pytest.fixture
def sip_port() -> int:
    return free_port_pair()


@pytest.fixture
def sip_settings() -> dict:
    """What a test module adds to [channels.voice.sip]."""
    return {}


def sip_config(tmp_path: Path, sip_port: int, sip_settings: dict, **sections: dict) -> Config:
    sip = {"listen": f"127.0.0.1:{sip_port}", "trunks": [{"name": "test trunk", "addresses": ["127.0.0.1"]}],
           "numbers": [{"number": SUPPORT_LINE, "tenant": "demo"}], **sip_settings}
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                       channels={"chat": {"enabled": True}, "voice": {"enabled": True, "sip": sip}},
                       media={"workers": 1, "connect_timeout_seconds": 5}, **sections)


@pytest.fixture
def config(tmp_path: Path, sip_port: int, sip_settings: dict) -> Config:
    return sip_config(tmp_path, sip_port, sip_settings)

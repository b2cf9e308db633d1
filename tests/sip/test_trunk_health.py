"""The operator's view of the center's links: each SIP trunk's health as the gateway checks it (a
real phone, baresip, standing for the carrier's proxy that answers OPTIONS), and every business's
mailboxes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config import Config

from channels.voice.sip.health import TrunkHealth
from channels.voice.sip.settings import TrunkSettings
from tests.helpers import Api
from tests.media.support import PATIENCE_SECONDS
from tests.sip.baresip import Baresip
from tests.sip.conftest import sip_config


@pytest.fixture
async def carrier_proxy(tmp_path: Path) -> AsyncIterator[Baresip]:
    phone = Baresip(tmp_path / "proxy", 440.0, user="proxy")
    await phone.start()
    yield phone
    await phone.stop()


@pytest.fixture
def config(tmp_path: Path, sip_port: int, sip_settings: dict) -> Config:
    # The mailbox below points at a closed local port.
    return sip_config(tmp_path, sip_port, sip_settings, mail={"tenant_servers_may_be_private": True})


@pytest.fixture
def sip_settings(carrier_proxy: Baresip) -> dict:
    return {"trunks": [{"name": "carrier", "addresses": ["127.0.0.1"], "outbound": {"proxy": f"127.0.0.1:{carrier_proxy.sip_port}"}},
                       {"name": "old pbx", "addresses": ["127.0.0.2"]}]}


async def test_the_operator_sees_each_trunk_checked_and_every_business_mailbox(operator: Api, agent: Api) -> None:
    tid = agent.tenant_id()
    await operator.post(f"/api/v1/tenants/{tid}/mailboxes", expect=201, json={
        "name": "support", "address": "support@demo.example", "imap_host": "127.0.0.1", "imap_port": 9,
        "imap_username": "support", "imap_password": "secret imap password"})

    async with asyncio.timeout(PATIENCE_SECONDS):
        while len((health := await operator.get("/api/v1/channels/health"))["links"]) < 2:
            await asyncio.sleep(0.1)
    links = {link["name"]: link for link in health["links"]}
    assert (links["carrier"]["channel"], links["carrier"]["kind"], links["carrier"]["state"]) == ("voice", "sip_trunk", "ok")
    assert re.fullmatch(r"127\.0\.0\.1:\d+ answered \d{3} in \d+ ms", links["carrier"]["detail"])  # any answer: it is there
    assert links["old pbx"]["state"] == "unchecked"
    assert "voice" in health["channels"]
    [mailbox] = health["mailboxes"]
    assert (mailbox["tenant"], mailbox["address"]) == ("Demo Company", "support@demo.example")
    assert "secret imap password" not in str(health)

    await agent.get("/api/v1/channels/health", expect=403)  # a business's people see their own mailboxes only


class _SilentEndpoint:
    """A proxy that never answers (a real one takes the 32 s transaction time to give up)."""

    advertised_host = "127.0.0.1"

    async def request(self, *args, **kwargs):
        return None


async def test_a_trunk_that_does_not_answer_is_failing_and_says_so() -> None:
    trunk = TrunkSettings(name="carrier", addresses=["192.0.2.1"], outbound={"proxy": "192.0.2.1:5060"})
    health = TrunkHealth(_SilentEndpoint(), [trunk], report=lambda items: asyncio.sleep(0))  # type: ignore[arg-type]
    checked = await health.check(trunk)
    assert (checked["state"], checked["detail"]) == ("failing", "192.0.2.1:5060 did not answer OPTIONS")

"""The gateway as a client of its carrier, against SIPp playing the carrier: a call out (a
callback) answers the carrier's digest challenge and goes through, and the gateway keeps itself
registered with the carrier's registrar, authenticating there too."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.keys import CHANNELS
from tests.helpers import Api
from tests.media.support import PATIENCE_SECONDS, ClientPeer
from tests.realtime.support import Sockets, session_cookie
from tests.sip.baresip import Baresip, free_port_pair
from tests.sip.test_callbacks import answer_the_offer, settled, the_callback
from tests.sip.test_phone_calls import CALLER_NUMBER, ask_for_a_callback
from tests.sip.test_sipp import DATA, SIPP

TRUNK_USER, TRUNK_PASSWORD = "wecc-trunk", "s3cret-pass"


class Carrier:
    """SIPp running a carrier's side of a scenario, in the background, on ports of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port_pair()
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, scenario: str) -> None:
        assert shutil.which(SIPP), "SIPp is missing: `make test` installs it (Debian package sip-tester)"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            SIPP, "-sf", str(DATA / scenario), "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(free_port_pair()),
            "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error", "-trace_err", "-trace_msg",
            cwd=self.directory, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)

    async def finished(self) -> tuple[int, str]:
        """SIPp's exit code once its scenario is over, and what it said."""
        assert self._process is not None
        async with asyncio.timeout(PATIENCE_SECONDS * 2):
            output, _ = await self._process.communicate()
        return self._process.returncode or 0, output.decode(errors="replace") + "".join(
            p.read_text(errors="replace")[-4000:] for p in self.directory.glob("*_errors.log"))

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            with contextlib.suppress(ProcessLookupError):
                await self._process.wait()


@pytest.fixture
async def carrier(tmp_path: Path) -> AsyncIterator[Carrier]:
    made = Carrier(tmp_path / "carrier")
    yield made
    await made.stop()


@pytest.fixture
async def caller(tmp_path: Path) -> AsyncIterator[Baresip]:
    phone = Baresip(tmp_path / "phone", 440.0, user=CALLER_NUMBER)
    await phone.start()
    yield phone
    await phone.stop()


def trunk(carrier: Carrier, **outbound: object) -> dict:
    return {"trunks": [{"name": "carrier", "addresses": ["127.0.0.1"], "outbound": {
        "proxy": f"127.0.0.1:{carrier.port}", "username": TRUNK_USER, "password": TRUNK_PASSWORD,
        "qualify": False, **outbound}}]}  # SIPp's scenario expects its INVITE or REGISTER, not an OPTIONS ping


@pytest.fixture
def sip_settings(carrier: Carrier, request: pytest.FixtureRequest) -> dict:
    return trunk(carrier, **getattr(request, "param", {}))


async def test_a_callback_answers_the_carriers_digest_challenge_and_is_put_through(
        client: TestClient, agent: Api, sockets: Sockets, caller: Baresip, carrier: Carrier, sip_port: int):
    await carrier.start("carrier_auth.xml")
    conversation_id = await ask_for_a_callback(client, agent, caller, sip_port)
    inbox = await sockets.connect("/agent", cookie=session_cookie(agent))
    assert (await inbox.call("presence", {"status": "available"}))["ok"]
    agent_peer = ClientPeer(1000.0)
    try:
        offer, _ = await answer_the_offer(agent, inbox, agent_peer, conversation_id)
        code, output = await carrier.finished()  # authenticated, answered, then hung up by the callee
        assert code == 0, output
        assert await settled(client, offer["task_id"], "wrapup")
    finally:
        await agent_peer.close()
    callback, attempts = await the_callback(client, conversation_id)
    assert (callback.state, [a.result for a in attempts]) == ("done", ["answered"])


@pytest.fixture
async def registrar(carrier: Carrier) -> Carrier:
    await carrier.start("registrar_auth.xml")  # up before the gateway, which registers as it starts
    return carrier


@pytest.mark.parametrize("sip_settings", [{"registration": True}], indirect=True)
async def test_the_gateway_registers_with_the_carrier_answering_its_challenge(
        registrar: Carrier, client: TestClient, operator: Api, sip_settings: dict) -> None:
    code, output = await registrar.finished()
    assert code == 0, output
    voice = client.app[CHANNELS].channels["voice"]
    [registration] = voice._phones.registrations.values()  # type: ignore[attr-defined]
    async with asyncio.timeout(PATIENCE_SECONDS):
        while registration.state != "registered":
            await asyncio.sleep(0.05)
    assert 100 < registration.expires_at - time.time() <= 120  # as long as the registrar granted
    # The operator sees it at once, not at the next round of checks.
    async with asyncio.timeout(PATIENCE_SECONDS):
        while [(link["name"], link["state"]) for link in (await operator.get("/api/v1/channels/health"))["links"]] != [("carrier", "ok")]:
            await asyncio.sleep(0.05)

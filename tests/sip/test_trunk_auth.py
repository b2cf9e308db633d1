"""A trunk known by digest authentication (a PBX on a changing address): its calls are challenged
and come in once it answers with the right password; a wrong one never gets a call in."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from channels.voice.sip.digest import NONCE_SECONDS, Credentials, DigestRealm
from gateway.config import Config
from tests.conftest import make_config
from tests.helpers import Api
from tests.media.support import is_hold_audio, until_heard
from tests.sip.baresip import Baresip
from tests.sip.conftest import SUPPORT_LINE


@pytest.fixture
def config(tmp_path: Path, sip_port: int) -> Config:
    sip = {"listen": f"127.0.0.1:{sip_port}", "trunks": [{"name": "office pbx", "username": "pbx", "password": "s3cret"}],
           "numbers": [{"number": SUPPORT_LINE, "tenant": "demo"}]}
    return make_config(tmp_path / "data", realtime={"channel": f"wecc-test:{uuid.uuid4().hex}"},
                       channels={"chat": {"enabled": True}, "voice": {"enabled": True, "sip": sip}},
                       media={"workers": 1, "connect_timeout_seconds": 5})


@pytest.mark.parametrize(("password", "gets_in"), [("s3cret", True), ("guess", False)])
async def test_a_pbx_that_authenticates_gets_its_calls_in(client: TestClient, agent: Api, tmp_path: Path, sip_port: int,
                                                         password: str, gets_in: bool):
    pbx = Baresip(tmp_path / "pbx", 440.0, user="+4930555123", auth=("pbx", password))
    await pbx.start()
    try:
        pbx.command("dial", f"sip:{SUPPORT_LINE}@127.0.0.1:{sip_port}")
        if gets_in:
            await pbx.wait_for("CALL_ESTABLISHED")
            await until_heard(pbx, is_hold_audio)
        else:
            await pbx.wait_for("CALL_CLOSED")
            assert not any(e.get("type") == "CALL_ESTABLISHED" for e in pbx.events)
            assert (await agent.get("/api/v1/conversations?channel=voice"))["items"] == []
    finally:
        await pbx.stop()


def _answer(challenge: str, username: str, password: str, method: str, uri: str) -> str:
    """A client's answer, computed here from RFC 2617 rather than with the code under test."""
    fields = dict(part.strip().split("=", 1) for part in challenge[len("Digest "):].split(","))
    realm, nonce = fields["realm"].strip('"'), fields["nonce"].strip('"')
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731, S324
    ha1, ha2 = md5(f"{username}:{realm}:{password}"), md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:00000001:abcdef:auth:{ha2}")
    return (f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", qop=auth, nc=00000001, cnonce="abcdef", algorithm=MD5')


def test_digest_answers_are_checked_and_nonces_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    realm = DigestRealm("wecc")
    accounts = {"pbx": Credentials("pbx", "s3cret")}
    challenge = realm.challenge()
    uri = "sip:+4930123456@gw"
    assert realm.check(_answer(challenge, "pbx", "s3cret", "INVITE", uri), "INVITE", accounts) == "ok"
    assert realm.check(_answer(challenge, "pbx", "guess", "INVITE", uri), "INVITE", accounts) == "bad"
    assert realm.check(_answer(challenge, "pbx", "s3cret", "INVITE", uri), "BYE", accounts) == "bad"  # another method
    assert realm.check(_answer(challenge, "intruder", "s3cret", "INVITE", uri), "INVITE", accounts) == "bad"
    forged = challenge.replace('nonce="', 'nonce="1')  # a nonce we did not issue
    assert realm.check(_answer(forged, "pbx", "s3cret", "INVITE", uri), "INVITE", accounts) == "bad"
    assert realm.check(None, "INVITE", accounts) == "bad"
    later = time.time() + NONCE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert realm.check(_answer(challenge, "pbx", "s3cret", "INVITE", uri), "INVITE", accounts) == "stale"

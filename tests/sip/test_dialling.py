"""The client side of the SIP endpoint over real UDP, against a trunk scripted here: how a call we
place reacts to lost INVITEs, a proxy's challenge, a 2xx sent again, a busy line, and a phone
that rings out; and the digest answers themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from channels.voice.sip.dialling import Outcome, PlacedCall
from channels.voice.sip.digest import Credentials, DigestRealm, authorization
from channels.voice.sip.endpoint import SipEndpoint
from channels.voice.sip.message import SipMessage, response_to
from channels.voice.sip.settings import TrunkSettings
from channels.voice.sip.trunks import TrunkPolicy
from tests.sip.test_endpoint import OFFER, App, Trunk

CREDENTIALS = Credentials("wecc-trunk", "s3cret")


@pytest.fixture
async def endpoint() -> AsyncIterator[SipEndpoint]:
    app = App()
    made = SipEndpoint("127.0.0.1", 0, "127.0.0.1", trunks=TrunkPolicy([TrunkSettings(name="t", addresses=["127.0.0.1"])], "wecc"),
                       on_invite=app.on_invite, on_bye=app.on_bye, on_cancel=app.on_cancel,
                       on_ack_timeout=app.on_ack_timeout, on_reinvite=app.on_reinvite, on_key=lambda dialog, key: None)
    await made.start()
    yield made
    await made.stop()


def test_a_digest_answer_is_what_the_realm_checks() -> None:
    realm = DigestRealm("carrier.example")
    accounts = {"wecc-trunk": CREDENTIALS}
    answer = authorization(realm.challenge(), "INVITE", "sip:+4930555123@carrier.example", CREDENTIALS)
    assert realm.check(answer, "INVITE", accounts) == "ok"
    assert realm.check(answer, "BYE", accounts) == "bad"  # bound to the method it was made for
    wrong = authorization(realm.challenge(), "INVITE", "sip:x@y", Credentials("wecc-trunk", "guess"))
    assert realm.check(wrong, "INVITE", accounts) == "bad"
    # A nonce given to one address: an answer replayed from another is refused.
    phone = authorization(realm.challenge(bound_to="198.51.100.7"), "REGISTER", "sip:wecc", CREDENTIALS)
    assert realm.check(phone, "REGISTER", accounts, bound_to="198.51.100.7") == "ok"
    assert realm.check(phone, "REGISTER", accounts, bound_to="203.0.113.9") == "bad"


def test_challenges_without_qop_and_with_opaque_are_answered_and_others_refused() -> None:
    plain = authorization('Digest realm="r", nonce="n1", opaque="o-1"', "REGISTER", "sip:r", CREDENTIALS)
    assert "qop" not in plain and 'opaque="o-1"' in plain and 'nonce="n1"' in plain
    for challenge in ('Basic realm="r"', 'Digest realm="r", nonce="n", algorithm=SHA-256',
                      'Digest realm="r", nonce="n", qop="auth-int"'):
        with pytest.raises(ValueError):
            authorization(challenge, "INVITE", "sip:x@y", CREDENTIALS)


class ScriptedTrunk(Trunk):
    """A trunk answering each INVITE of ours by `script(invite, count)`: the responses to send."""

    def __init__(self, script) -> None:
        super().__init__()
        self.script = script
        self.invites = 0

    def datagram_received(self, data: bytes, addr) -> None:
        super().datagram_received(data, addr)
        message = self.received[-1]
        if message.is_request and message.method == "INVITE":
            self.invites += 1
            for response in self.script(message, self.invites):
                self.transport.sendto(response.serialize(), addr)


def answer(invite: SipMessage, status: int, reason: str, **options) -> SipMessage:
    headers = [("contact", "<sip:callee@127.0.0.1>")] + options.pop("headers", [])
    return response_to(invite, status, reason, to_tag="callee-tag", headers=headers, **options)


async def place(endpoint: SipEndpoint, trunk: Trunk, ring_seconds: float = 5, credentials=None) -> tuple[PlacedCall, Outcome]:
    placed = PlacedCall(endpoint, ("127.0.0.1", trunk.port, "udp"), target="sip:+4930555123@127.0.0.1",
                        caller="sip:+4930123456@127.0.0.1", sdp=OFFER, credentials=credentials, ring_seconds=ring_seconds)
    async with asyncio.timeout(20):
        return placed, await placed.run()


async def scripted(script) -> ScriptedTrunk:
    _, trunk = await asyncio.get_running_loop().create_datagram_endpoint(lambda: ScriptedTrunk(script), local_addr=("127.0.0.1", 0))
    return trunk


async def test_a_lost_invite_is_sent_again_and_a_repeated_2xx_gets_its_ack_again(endpoint: SipEndpoint) -> None:
    sent_ok: list[SipMessage] = []

    def script(invite: SipMessage, count: int) -> list[SipMessage]:
        if count == 1:
            return []  # lost on the way
        ok = answer(invite, 200, "OK", headers=[("content-type", "application/sdp")], body=OFFER.encode())
        sent_ok.append(ok)
        return [answer(invite, 180, "Ringing"), ok]

    trunk = await scripted(script)
    try:
        placed, outcome = await place(endpoint, trunk)
        assert outcome.answered and outcome.status == 200 and "m=audio 4000" in outcome.sdp
        assert trunk.invites == 2  # Timer A
        await arrived(trunk, "ACK")
        trunk.transport.sendto(sent_ok[0].serialize(), ("127.0.0.1", endpoint.port))  # our ACK was lost, says the trunk
        [first, again] = await arrived(trunk, "ACK", 2)
        assert first.serialize() == again.serialize() and first.uri == "sip:callee@127.0.0.1"
        # The call is a dialog of ours: our BYE goes to the callee's Contact, one CSeq up.
        assert outcome.dialog is not None
        bye = asyncio.ensure_future(endpoint.bye(outcome.dialog))
        [sent_bye] = await arrived(trunk, "BYE")
        assert sent_bye.cseq == (placed_cseq(trunk) + 1, "BYE") and sent_bye.to_tag == "callee-tag"
        trunk.transport.sendto(response_to(sent_bye, 200, "OK").serialize(), ("127.0.0.1", endpoint.port))
        await bye
    finally:
        trunk.transport.close()


async def arrived(trunk: Trunk, method: str, count: int = 1) -> list[SipMessage]:
    """The trunk's requests of that method, once `count` of them came."""
    async with asyncio.timeout(5):
        while len(trunk.requests(method)) < count:
            await asyncio.sleep(0.02)
    return trunk.requests(method)


def placed_cseq(trunk: Trunk) -> int:
    return trunk.requests("INVITE")[-1].cseq[0]


async def test_a_proxys_challenge_is_answered_once_in_the_same_call(endpoint: SipEndpoint) -> None:
    realm = DigestRealm("carrier.example")

    def script(invite: SipMessage, count: int) -> list[SipMessage]:
        if count == 1:
            return [answer(invite, 407, "Proxy Authentication Required", headers=[("proxy-authenticate", realm.challenge())])]
        verdict = realm.check(invite.get("proxy-authorization"), "INVITE", {CREDENTIALS.username: CREDENTIALS})
        return [answer(invite, 200 if verdict == "ok" else 403, "OK" if verdict == "ok" else "Forbidden",
                       headers=[("content-type", "application/sdp")], body=OFFER.encode())]

    trunk = await scripted(script)
    try:
        _, outcome = await place(endpoint, trunk, credentials=CREDENTIALS)
        assert outcome.answered
        first, second = trunk.requests("INVITE")
        assert first.call_id == second.call_id and first.from_tag == second.from_tag
        assert second.cseq[0] == first.cseq[0] + 1 and first.top_via.branch != second.top_via.branch
        acks = await arrived(trunk, "ACK", 2)
        assert acks[0].cseq == (first.cseq[0], "ACK") and acks[0].top_via.branch == first.top_via.branch  # the 407's
        assert acks[1].cseq == (second.cseq[0], "ACK") and acks[1].uri == "sip:callee@127.0.0.1"  # the 200's
    finally:
        trunk.transport.close()


async def test_without_credentials_a_challenge_ends_the_attempt_and_a_busy_line_is_told(endpoint: SipEndpoint) -> None:
    realm = DigestRealm("carrier.example")
    challenged = await scripted(lambda invite, count: [answer(invite, 401, "Unauthorized",
                                                              headers=[("www-authenticate", realm.challenge())])])
    busy = await scripted(lambda invite, count: [answer(invite, 180, "Ringing"), answer(invite, 486, "Busy Here")])
    try:
        _, outcome = await place(endpoint, challenged)
        assert (outcome.status, outcome.answered, challenged.invites) == (401, False, 1)
        _, outcome = await place(endpoint, busy)
        assert (outcome.status, outcome.reason) == (486, "Busy Here")
        [ack] = await arrived(busy, "ACK")
        assert ack.to_tag == "callee-tag"
    finally:
        challenged.transport.close()
        busy.transport.close()


async def test_a_phone_that_rings_out_is_cancelled_and_told_apart_from_one_given_up(endpoint: SipEndpoint) -> None:

    def script(invite: SipMessage, count: int) -> list[SipMessage]:
        return [answer(invite, 180, "Ringing")]

    trunk = await scripted(script)
    try:
        placing = asyncio.ensure_future(place(endpoint, trunk, ring_seconds=1))
        [cancel] = await arrived(trunk, "CANCEL")
        [invite] = trunk.requests("INVITE")
        assert cancel.top_via.branch == invite.top_via.branch and cancel.cseq == (invite.cseq[0], "CANCEL")
        trunk.transport.sendto(response_to(cancel, 200, "OK").serialize(), ("127.0.0.1", endpoint.port))
        trunk.transport.sendto(answer(invite, 487, "Request Terminated").serialize(), ("127.0.0.1", endpoint.port))
        _, outcome = await placing
        assert outcome.status == 408  # rang out: nobody answered

        placed = PlacedCall(endpoint, ("127.0.0.1", trunk.port, "udp"), target="sip:+4930555123@127.0.0.1",
                            caller="sip:+4930123456@127.0.0.1", sdp=OFFER, credentials=None, ring_seconds=30)
        running_call = asyncio.ensure_future(placed.run())
        await asyncio.wait_for(placed.ringing.wait(), 5)
        placed.cancel()  # the agent hung up while it rang
        await arrived(trunk, "CANCEL", 2)
        invite = trunk.requests("INVITE")[-1]
        trunk.transport.sendto(answer(invite, 487, "Request Terminated").serialize(), ("127.0.0.1", endpoint.port))
        outcome = await asyncio.wait_for(running_call, 5)
        assert outcome.status == 487
    finally:
        trunk.transport.close()

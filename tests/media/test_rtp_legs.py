"""A phone call's plain RTP leg (a SIP trunk's or phone's G.711 audio) in a call with a browser's
WebRTC leg, through a real worker process."""

from __future__ import annotations

import asyncio

import pytest

from gateway.media import MediaError
from tests.media.conftest import running_service
from tests.media.rtp_peer import RtpPeer
from tests.media.support import connect, is_hold_audio, is_silent, is_tone, until_heard

CALLER_HZ = 440.0
AGENT_HZ = 1000.0


@pytest.fixture
async def phones():
    made: list[RtpPeer] = []

    async def make(frequency: float, host: str = "127.0.0.1", **options) -> RtpPeer:
        peer = RtpPeer(frequency, **options)
        await peer.bind(host)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.close()


async def dial_in(service, events, call_id: str, phone: RtpPeer) -> str:
    answer = await service.open_leg(call_id, "phone", "customer", phone.offer(), address="127.0.0.1")
    phone.accept(answer)
    await events.wait_for("connected", call_id, "phone")
    return answer


async def test_a_phone_caller_hears_hold_audio_then_talks_with_a_browser_agent(media, peers, phones) -> None:
    service, events = media
    phone = await phones(CALLER_HZ)
    answer = await dial_in(service, events, "sip-1", phone)
    assert "RTP/AVP 0 101" in answer and "a=rtpmap:101 telephone-event/8000" in answer
    await until_heard(phone, is_hold_audio)

    agent = peers(AGENT_HZ)
    await connect(service, "sip-1", "agent", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(phone, lambda audio: is_tone(audio, AGENT_HZ))
    stats = await service.stats("sip-1")
    assert stats["phone"]["packets_received"] > 0 and stats["phone"]["packets_sent"] > 0


async def test_a_phone_that_holds_the_call_gets_no_audio_until_it_resumes(media, peers, phones) -> None:
    service, events = media
    phone = await phones(CALLER_HZ)
    answer = await dial_in(service, events, "sip-hold", phone)
    agent = peers(AGENT_HZ)
    await connect(service, "sip-hold", "agent", "agent", agent, events)
    await until_heard(phone, lambda audio: is_tone(audio, AGENT_HZ))

    held = await service.update_leg("sip-hold", "phone", phone.offer("sendonly"))
    assert "a=recvonly" in held and held.split("m=audio ")[1].split()[0] == answer.split("m=audio ")[1].split()[0]
    await asyncio.sleep(0.2)  # what was on its way
    assert await phone.gets_nothing_for(0.5)  # nothing is sent to a phone that holds
    await until_heard(agent, lambda audio: is_tone(audio, CALLER_HZ))  # its music (here: tone) still comes through

    resumed = await service.update_leg("sip-hold", "phone", phone.offer())
    assert "a=sendrecv" in resumed
    await until_heard(phone, lambda audio: is_tone(audio, AGENT_HZ))
    with pytest.raises(MediaError, match="none of the offered codecs"):  # a new offer must keep the codec
        await service.update_leg("sip-hold", "phone", phone.offer().replace("RTP/AVP 0 8", "RTP/AVP 8"))


async def test_a_trunk_offering_only_a_law_is_answered_in_a_law(media, peers, phones) -> None:
    service, events = media
    phone = await phones(CALLER_HZ, payload_types=(8,))
    answer = await dial_in(service, events, "sip-2", phone)
    assert "a=rtpmap:8 PCMA/8000" in answer
    agent = peers(AGENT_HZ)
    await connect(service, "sip-2", "agent", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(phone, lambda audio: is_tone(audio, AGENT_HZ))


async def test_each_key_press_is_reported_once(media, phones) -> None:
    service, events = media
    phone = await phones(CALLER_HZ, dtmf_payload_type=96)  # the offerer's number is kept
    answer = await dial_in(service, events, "sip-3", phone)
    assert "a=rtpmap:96 telephone-event/8000" in answer
    for key in "5#5":
        await phone.press(key)

    def presses() -> list[str]:
        return [event.detail for event in events.events if event.kind == "dtmf"]

    async with asyncio.timeout(5):
        while len(presses()) < 3:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # and nothing more: the repeated end packets are not key presses
    assert presses() == ["5", "#", "5"]


async def test_audio_from_another_address_than_the_offers_is_not_let_in(media, peers, phones) -> None:
    service, events = media
    phone = await phones(CALLER_HZ)
    answer = await dial_in(service, events, "sip-4", phone)
    agent = peers(AGENT_HZ)
    await connect(service, "sip-4", "agent", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CALLER_HZ))

    phone.sending = False
    intruder = await phones(2000.0, host="127.0.0.2")  # to the leg's port, from a stranger's address
    intruder.accept(answer)
    await until_heard(agent, is_silent)
    assert not is_tone(await agent.heard.listen(0.5), 2000.0)
    assert (await service.stats("sip-4"))["phone"]["packets_refused"] > 10


async def test_an_offer_that_cannot_be_answered_says_why(media) -> None:
    service, _ = media
    video_only = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 4000 RTP/AVP 96\r\n"
    g729_only = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\n"
    no_address = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n"
    garbage = "v=0\r\nm=audio lots RTP/AVP 0\r\n"
    for offer, reason in ((video_only, "no audio"), (g729_only, "none of the offered codecs"),
                          (no_address, "no connection address"), (garbage, "malformed m= line")):
        with pytest.raises(MediaError, match=reason):
            await service.open_leg("sip-bad", "phone", "customer", offer, address="127.0.0.1")
    with pytest.raises(MediaError):  # nothing of the call is left behind
        await service.stats("sip-bad")


async def test_a_phone_that_never_sends_audio_fails_the_leg() -> None:
    async with running_service(connect_timeout_seconds=1.0) as (service, events):
        silent = RtpPeer(CALLER_HZ)
        await silent.bind()
        try:
            await service.open_leg("sip-5", "phone", "customer", silent.offer(), address="127.0.0.1")
            failed = await events.wait_for("failed", "sip-5", "phone")
            assert "no media connection within 1 s" in failed.detail
        finally:
            silent.close()


async def test_a_phone_whose_audio_stops_fails_unless_it_holds_the_call(peers, phones) -> None:
    async with running_service(rtp_timeout_seconds=1.0) as (service, events):
        holding = await phones(CALLER_HZ)
        await dial_in(service, events, "sip-6", holding)
        await service.update_leg("sip-6", "phone", holding.offer("sendonly"))
        holding.sending = False  # a phone holding the call may send nothing at all

        gone = await phones(CALLER_HZ)
        await dial_in(service, events, "sip-7", gone)
        gone.sending = False  # crashed, no BYE
        failed = await events.wait_for("failed", "sip-7", "phone")
        assert "no audio from the phone for 1 s" in failed.detail
        assert not [e for e in events.events if e.call_id == "sip-6" and e.kind == "failed"]


async def test_a_pbx_behind_nat_is_heard_from_its_signalling_address_and_answered_there(media, peers, phones) -> None:
    """Its SDP names a private address; its audio comes from the address its SIP came from."""
    service, events = media
    phone = await phones(CALLER_HZ)
    offer = phone.offer().replace("c=IN IP4 127.0.0.1", "c=IN IP4 10.1.2.3")
    answer = await service.open_leg("sip-nat", "phone", "customer", offer, address="127.0.0.1", peer_ip="127.0.0.1")
    phone.accept(answer)
    await events.wait_for("connected", "sip-nat", "phone")
    agent = peers(AGENT_HZ)
    await connect(service, "sip-nat", "agent", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CALLER_HZ))
    await until_heard(phone, lambda audio: is_tone(audio, AGENT_HZ))  # sent back where its audio comes from

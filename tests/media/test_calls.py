"""A call's audio through real worker processes and real aiortc peers: who hears whom, hold, mute."""

from __future__ import annotations

from tests.media.support import connect, is_hold_audio, is_silent, is_tone, until_heard

CUSTOMER_HZ = 440.0
AGENT_HZ = 1000.0  # is_hold_audio knows it


async def test_the_customer_hears_hold_audio_until_an_agent_joins_then_each_hears_the_other(media, peers) -> None:
    service, events = media
    customer, agent = peers(CUSTOMER_HZ), peers(AGENT_HZ)
    await connect(service, "call-1", "c", "customer", customer, events)
    await until_heard(customer, is_hold_audio)

    await connect(service, "call-1", "a", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))

    stats = await service.stats("call-1")
    assert set(stats) == {"c", "a"}
    assert stats["a"]["role"] == "agent" and stats["a"]["packets_received"] > 0


async def test_on_hold_the_customer_hears_hold_audio_and_the_agent_silence(media, peers) -> None:
    service, events = media
    customer, agent = peers(CUSTOMER_HZ), peers(AGENT_HZ)
    await connect(service, "call-2", "c", "customer", customer, events)
    await connect(service, "call-2", "a", "agent", agent, events)
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))

    await service.set_hold("call-2", True)
    await until_heard(customer, is_hold_audio)
    await until_heard(agent, is_silent)
    # Still so a moment later: hold is a state, not a blip.
    assert is_hold_audio(await customer.heard.listen(0.5))
    assert is_silent(await agent.heard.listen(0.5))

    await service.set_hold("call-2", False)
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))


async def test_a_muted_leg_is_heard_by_no_one(media, peers) -> None:
    service, events = media
    customer, agent = peers(CUSTOMER_HZ), peers(AGENT_HZ)
    await connect(service, "call-3", "c", "customer", customer, events)
    await connect(service, "call-3", "a", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))

    await service.set_muted("call-3", "c", True)
    await until_heard(agent, is_silent)
    # The agent's own voice still reaches the customer.
    assert is_tone(await customer.heard.listen(0.3), AGENT_HZ)

    await service.set_muted("call-3", "c", False)
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))


async def test_a_closed_leg_leaves_the_customer_on_hold_audio(media, peers) -> None:
    service, events = media
    customer, agent = peers(CUSTOMER_HZ), peers(AGENT_HZ)
    await connect(service, "call-4", "c", "customer", customer, events)
    await connect(service, "call-4", "a", "agent", agent, events)
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))

    await service.close_leg("call-4", "a")
    await until_heard(customer, is_hold_audio)
    assert set(await service.stats("call-4")) == {"c"}
    await service.end_call("call-4")


async def test_a_browser_gets_mono_speech_opus_not_a_stereo_music_stream(media, peers) -> None:
    """What the agent's browser downloads per call: the gateway encodes the leg's audio itself
    (mono, 32 kbit/s), not aiortc's stereo 96 kbit/s, which would triple every leg's bandwidth."""
    service, events = media
    customer, agent = peers(CUSTOMER_HZ), peers(AGENT_HZ)
    await connect(service, "call-opus", "c", "customer", customer, events)
    await connect(service, "call-opus", "a", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))

    packets_before, bytes_before = await agent.received()
    await agent.heard.listen(1.0)
    packets, received = await agent.received()
    assert packets - packets_before >= 40
    # ~80 bytes of Opus a packet at 32 kbit/s, plus RTP header and SRTP tag; stereo at 96 kbit/s is ~270.
    assert (received - bytes_before) / (packets - packets_before) < 140


async def test_a_peer_that_offers_only_g711_is_heard_and_hears(media, peers) -> None:
    """A leg without Opus (a phone gateway offering PCMU) still gets the mix, encoded by aiortc."""
    service, events = media
    customer, agent = peers(CUSTOMER_HZ, codec="audio/PCMU"), peers(AGENT_HZ)
    await connect(service, "call-pcmu", "c", "customer", customer, events)
    await connect(service, "call-pcmu", "a", "agent", agent, events)
    await until_heard(agent, lambda audio: is_tone(audio, CUSTOMER_HZ))
    await until_heard(customer, lambda audio: is_tone(audio, AGENT_HZ))

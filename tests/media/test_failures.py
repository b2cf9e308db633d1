"""What goes wrong: a bad offer, a peer that never connects, a media process that dies."""

from __future__ import annotations

import os
import signal

import pytest

from gateway.media import MediaError
from tests.media.conftest import running_service
from tests.media.support import connect, rms, until_heard

UNREACHABLE = "192.0.2.254"  # on this test network, nobody


BAD_OFFERS = [
    ("hello", "not valid SDP"),
    ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\n", "not valid SDP"),
    ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "has no audio"),
]


async def test_a_bad_offer_is_a_media_error(media) -> None:
    service, _ = media
    for offer, message in BAD_OFFERS:
        with pytest.raises(MediaError, match=message):
            await service.open_leg("bad", "c", "customer", offer)
        with pytest.raises(MediaError, match="no media"):
            await service.set_hold("bad", True)  # nothing was left behind
    with pytest.raises(MediaError, match="role is customer, agent or supervisor"):
        await service.open_leg("bad", "c", "visitor", "v=0\r\n")  # type: ignore[arg-type]


async def test_a_leg_whose_peer_never_connects_fails_after_the_timeout(peers) -> None:
    async with running_service(connect_timeout_seconds=1.0) as (service, events):
        customer = peers(440.0)
        offer = await customer.offer()
        # The peer's candidates point where nobody answers: ICE can never complete.
        local = offer.split(" typ host")[0].rsplit(" ", 2)[1]
        await service.open_leg("lost", "c", "customer", offer.replace(local, UNREACHABLE))
        event = await events.wait_for("failed", "lost", "c")
        assert "within 1 s" in event.detail
        assert await service.stats("lost") == {}  # the failed leg was closed


async def test_a_dead_worker_is_reported_and_replaced(peers) -> None:
    async with running_service(workers=2) as (service, events):
        first, second = peers(440.0), peers(440.0)
        await connect(service, "doomed", "c", "customer", first, events)
        await connect(service, "spared", "c", "customer", second, events)
        doomed_pid = service.worker_pid("doomed")
        assert doomed_pid != service.worker_pid("spared")  # calls are spread over the workers

        os.kill(doomed_pid, signal.SIGKILL)
        lost = await events.wait_for("worker_lost", "doomed")
        assert lost.leg_id is None
        assert not [e for e in events.events if e.call_id == "spared" and e.kind != "connected"]
        with pytest.raises(MediaError, match="no media"):
            await service.set_hold("doomed", True)
        await until_heard(second, lambda audio: rms(audio) > 100)  # the other worker's call goes on

        # New calls are taken, by a worker started again or the survivor.
        for n in range(3):
            caller = peers(440.0)
            await connect(service, f"new-{n}", "c", "customer", caller, events)
            await until_heard(caller, lambda audio: rms(audio) > 100)
        assert doomed_pid not in {service.worker_pid(f"new-{n}") for n in range(3)}

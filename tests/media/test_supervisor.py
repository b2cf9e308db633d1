"""A supervisor on a live call, through real worker processes and real aiortc peers: listen (hears
the call, heard by no one), whisper (heard by the agent, never the customer), barge (heard by all),
changed during the call; hold, mute and the recording with a supervisor on the line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gateway.media import MediaError
from tests.media.support import (PATIENCE_SECONDS, connect, decode, energy_near, is_hold_audio, is_silent, until_heard,
                                 windows)

CUSTOMER_HZ = 440.0
AGENT_HZ = 1000.0
SUPERVISOR_HZ = 700.0

PRESENT = 0.15  # share of the energy near a tone that is in the mix (two tones: ~0.5 each)
ABSENT = 0.001  # ...and near one that is not


def hears(*tones: float, without: tuple[float, ...] = ()) -> Callable[[np.ndarray], bool]:
    return lambda audio: (all(energy_near(audio, tone) > PRESENT for tone in tones)
                          and all(energy_near(audio, tone) < ABSENT for tone in without))


async def until_received(service, call_id: str, leg_id: str) -> None:
    """Until the worker has the leg's audio: so that not hearing it means something."""
    async with asyncio.timeout(PATIENCE_SECONDS):
        while (await service.stats(call_id)).get(leg_id, {}).get("packets_received", 0) < 10:
            await asyncio.sleep(0.05)


async def test_listen_whisper_barge_and_back_to_listen(media, peers) -> None:
    service, events = media
    customer, agent, supervisor = peers(CUSTOMER_HZ), peers(AGENT_HZ), peers(SUPERVISOR_HZ)
    await connect(service, "sup-1", "c", "customer", customer, events)
    await connect(service, "sup-1", "a", "agent", agent, events)
    await until_heard(agent, hears(CUSTOMER_HZ))

    # Listen (the default): the supervisor hears both; nobody hears the supervisor.
    await connect(service, "sup-1", "s", "supervisor", supervisor, events)
    await until_heard(supervisor, hears(CUSTOMER_HZ, AGENT_HZ))
    await until_received(service, "sup-1", "s")
    assert hears(CUSTOMER_HZ, without=(AGENT_HZ, SUPERVISOR_HZ))(await agent.heard.listen(0.3))
    assert hears(AGENT_HZ, without=(CUSTOMER_HZ, SUPERVISOR_HZ))(await customer.heard.listen(0.3))

    # Whisper: the agent hears the supervisor too; the customer still does not.
    await service.set_mode("sup-1", "s", "whisper")
    await until_heard(agent, hears(CUSTOMER_HZ, SUPERVISOR_HZ))
    assert hears(AGENT_HZ, without=(SUPERVISOR_HZ,))(await customer.heard.listen(0.3))
    assert hears(CUSTOMER_HZ, AGENT_HZ)(await supervisor.heard.listen(0.3))

    # Barge: everyone hears everyone.
    await service.set_mode("sup-1", "s", "barge")
    await until_heard(customer, hears(AGENT_HZ, SUPERVISOR_HZ))
    assert hears(CUSTOMER_HZ, SUPERVISOR_HZ)(await agent.heard.listen(0.3))
    assert hears(CUSTOMER_HZ, AGENT_HZ)(await supervisor.heard.listen(0.3))

    # Mute holds for a supervisor too.
    await service.set_muted("sup-1", "s", True)
    await until_heard(customer, hears(AGENT_HZ, without=(SUPERVISOR_HZ,)))
    await until_heard(agent, hears(CUSTOMER_HZ, without=(SUPERVISOR_HZ,)))
    await service.set_muted("sup-1", "s", False)
    await until_heard(customer, hears(AGENT_HZ, SUPERVISOR_HZ))
    await until_heard(agent, hears(CUSTOMER_HZ, SUPERVISOR_HZ))

    # Back to listen: gone for both.
    await service.set_mode("sup-1", "s", "listen")
    await until_heard(customer, hears(AGENT_HZ, without=(SUPERVISOR_HZ,)))
    await until_heard(agent, hears(CUSTOMER_HZ, without=(SUPERVISOR_HZ,)))
    assert hears(AGENT_HZ, without=(SUPERVISOR_HZ,))(await customer.heard.listen(0.3))
    assert hears(CUSTOMER_HZ, AGENT_HZ)(await supervisor.heard.listen(0.3))


async def test_a_supervisor_keeps_the_customer_on_hold_audio_and_on_hold_hears_what_the_agent_hears(media, peers) -> None:
    service, events = media
    customer, agent, supervisor = peers(CUSTOMER_HZ), peers(AGENT_HZ), peers(SUPERVISOR_HZ)
    await connect(service, "sup-2", "c", "customer", customer, events)

    # Even barging, a supervisor is not an agent: the customer waits on hold audio.
    await connect(service, "sup-2", "s", "supervisor", supervisor, events, mode="barge")
    await until_heard(supervisor, hears(CUSTOMER_HZ))
    await until_received(service, "sup-2", "s")
    waiting = await customer.heard.listen(0.5)
    assert is_hold_audio(waiting) and energy_near(waiting, SUPERVISOR_HZ) < 0.01

    await connect(service, "sup-2", "a", "agent", agent, events)
    await until_heard(customer, hears(AGENT_HZ, SUPERVISOR_HZ))

    # On hold the supervisor hears the agent side only, as the agent does: the customer is gone.
    await service.set_hold("sup-2", True)
    await until_heard(customer, lambda audio: is_hold_audio(audio) and energy_near(audio, SUPERVISOR_HZ) < 0.01)
    await until_heard(supervisor, hears(AGENT_HZ, without=(CUSTOMER_HZ,)))
    await until_heard(agent, hears(SUPERVISOR_HZ, without=(CUSTOMER_HZ,)))  # a consultation
    await service.set_mode("sup-2", "s", "listen")
    await until_heard(agent, is_silent)
    assert hears(AGENT_HZ, without=(CUSTOMER_HZ,))(await supervisor.heard.listen(0.3))

    await service.set_hold("sup-2", False)
    await until_heard(supervisor, hears(CUSTOMER_HZ, AGENT_HZ))
    await until_heard(customer, hears(AGENT_HZ, without=(SUPERVISOR_HZ,)))


async def test_the_recording_has_a_barging_supervisor_on_the_agent_side_and_no_whisper(media, peers, tmp_path: Path) -> None:
    service, events = media
    customer, agent, supervisor = peers(CUSTOMER_HZ), peers(AGENT_HZ), peers(SUPERVISOR_HZ)
    await connect(service, "sup-3", "c", "customer", customer, events)
    await connect(service, "sup-3", "a", "agent", agent, events)
    await connect(service, "sup-3", "s", "supervisor", supervisor, events, mode="whisper")
    await until_heard(agent, hears(CUSTOMER_HZ, SUPERVISOR_HZ))
    await until_heard(customer, hears(AGENT_HZ))
    path = tmp_path / "call.ogg"

    await service.start_recording("sup-3", str(path))
    started = time.monotonic()
    assert hears(CUSTOMER_HZ, SUPERVISOR_HZ)(await agent.heard.listen(1.0))  # whispering all along

    barged = time.monotonic()
    await service.set_mode("sup-3", "s", "barge")
    await until_heard(customer, hears(AGENT_HZ, SUPERVISOR_HZ))
    await customer.heard.listen(0.8)
    info = await service.stop_recording("sup-3")

    left, right, _, _ = decode(path)
    assert info.seconds >= 1.5
    # The customer's side never has the supervisor, whisper or barge.
    assert all(energy_near(window, SUPERVISOR_HZ) < 0.01 for window in windows(left))
    assert sum(energy_near(window, CUSTOMER_HZ) > 0.5 for window in windows(left)) >= 0.8 * len(windows(left))
    # The whisper (up to 0.2 s before the barge, for the path's delays) is recorded nowhere...
    whispered = windows(right)[: int((barged - started - 0.2) / 0.1)]
    assert len(whispered) >= 6
    assert all(energy_near(window, SUPERVISOR_HZ) < 0.01 for window in whispered)
    assert sum(energy_near(window, AGENT_HZ) > 0.5 for window in whispered) >= 0.8 * len(whispered)
    # ...the barge is on the agent's side.
    barge = [window for window in windows(right)[len(whispered):]
             if energy_near(window, SUPERVISOR_HZ) > 0.2 and energy_near(window, AGENT_HZ) > 0.2]
    assert len(barge) >= 5


async def test_supervisor_commands_say_what_is_wrong(media, peers) -> None:
    service, events = media
    customer, agent, supervisor = peers(CUSTOMER_HZ), peers(AGENT_HZ), peers(SUPERVISOR_HZ)
    offer = await supervisor.offer()

    # A supervisor joins a customer's call, never first...
    with pytest.raises(MediaError, match="only join a call that has a customer"):
        await service.open_leg("err-1", "s", "supervisor", offer)
    with pytest.raises(MediaError, match="no media"):
        await service.set_hold("err-1", True)  # nothing was left behind
    # ...nor onto an agent alone.
    await service.open_leg("err-1", "a", "agent", await agent.offer())
    with pytest.raises(MediaError, match="only join a call that has a customer"):
        await service.open_leg("err-1", "s", "supervisor", offer)
    assert set(await service.stats("err-1")) == {"a"}
    await service.end_call("err-1")

    await connect(service, "err-2", "c", "customer", customer, events)
    with pytest.raises(MediaError, match="only a supervisor's leg has a mode"):
        await service.open_leg("err-2", "a", "agent", offer, mode="listen")
    with pytest.raises(MediaError, match="mode is listen, whisper or barge, not 'shout'"):
        await service.open_leg("err-2", "s", "supervisor", offer, mode="shout")  # type: ignore[arg-type]
    with pytest.raises(MediaError, match="role is customer, agent or supervisor, not 'boss'"):
        await service.open_leg("err-2", "s", "boss", offer)  # type: ignore[arg-type]

    await service.open_leg("err-2", "s", "supervisor", offer)
    with pytest.raises(MediaError, match="only a supervisor's leg has a mode, not the customer's"):
        await service.set_mode("err-2", "c", "barge")
    with pytest.raises(MediaError, match="mode is listen, whisper or barge, not 'loud'"):
        await service.set_mode("err-2", "s", "loud")  # type: ignore[arg-type]
    with pytest.raises(MediaError, match="no such leg"):
        await service.set_mode("err-2", "nobody", "barge")
    with pytest.raises(MediaError, match="no media"):
        await service.set_mode("no-such-call", "s", "barge")
    await service.set_mode("err-2", "s", "whisper")
    assert set(await service.stats("err-2")) == {"c", "s"}

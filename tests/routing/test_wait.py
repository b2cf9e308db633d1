"""The estimated-wait formula (gateway/routing/wait.py): EWT = AHT × position ÷ slots."""

from __future__ import annotations

from gateway.routing.wait import average_handle_seconds, estimate_wait_seconds


def test_a_scripted_queue():
    # Four chats were handled in 60, 120, 180 and 240 s: AHT 150 s. Two agents hold one chat
    # each. Five visitors wait.
    aht = average_handle_seconds([60, 120, 180, 240], default_seconds=999)
    assert aht == 150
    assert [estimate_wait_seconds(p, slots=2, average_handle=aht) for p in range(1, 6)] == [75, 150, 225, 300, 375]
    # A third agent joins: everyone's estimate drops by a third.
    assert [estimate_wait_seconds(p, slots=3, average_handle=aht) for p in range(1, 4)] == [50, 100, 150]


def test_no_history_uses_the_default_and_no_agent_means_no_estimate():
    assert average_handle_seconds([], default_seconds=180) == 180
    assert average_handle_seconds([0, -5], default_seconds=180) == 180  # clock glitches are ignored
    assert estimate_wait_seconds(1, slots=0, average_handle=180) is None
    assert estimate_wait_seconds(3, slots=1, average_handle=10.2) == 31  # rounded up

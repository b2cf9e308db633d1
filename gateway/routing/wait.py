"""Estimated wait time (EWT) for a waiting contact.

    EWT = AHT × position ÷ slots

- position: the task's 1-based place in its queue (priority first, then age).
- slots: how many tasks of this channel the tenant's available agents can hold at once (the sum
  of their capacities on the channel). Work leaves the queue at about slots ÷ AHT tasks per
  second, so the task at `position` is reached after about position ÷ (slots ÷ AHT).
- AHT: the average handle time (accepted → done) of the most recent tasks on this queue and
  channel; a configured default until the queue has history.

With no available agent there is no estimate (None): the widget says so instead of inventing a
number. The figure is rounded up to whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RECENT_TASKS = 20  # how many finished tasks the average handle time looks back over


def average_handle_seconds(recent_handle_seconds: Sequence[float], default_seconds: float) -> float:
    usable = [s for s in recent_handle_seconds if s > 0]
    return sum(usable) / len(usable) if usable else default_seconds


def estimate_wait_seconds(position: int, slots: int, average_handle: float) -> int | None:
    if slots <= 0 or position <= 0:
        return None
    return math.ceil(average_handle * position / slots)

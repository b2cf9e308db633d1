"""A call as the voice channel tracks it while it lasts: who is on it, in which state, and for
how long. Its media (legs, bridge, recording) lives in the media layer under the same id; what
outlasts the call is in SQL (the conversation, its events, the recording)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from channels.voice.callbacks import Attempt

# dialling: a callback's agent is on the line while the customer's phone rings.
CallState = Literal["waiting", "dialling", "talking", "held", "ended"]


class CallerLine(Protocol):
    """A phone caller's signalling (their SIP dialog), hung up when the call ends on our side."""

    async def hang_up(self) -> None: ...


class Dialling(Protocol):
    """A call being placed to the customer (a callback ringing), given up when the call ends first."""

    def cancel(self) -> None: ...


@dataclass
class Call:
    id: str
    tenant_id: str
    conversation_id: str
    task_id: str  # "" while a phone caller is still in the menu
    visitor: tuple[str, str] | None  # (tenant, visitor id) of the browser that called; None for a phone
    recording: str | None = None  # the file being written, while it is
    agent_id: str | None = None
    state: CallState = "waiting"
    started: float = field(default_factory=time.monotonic)
    answered: float | None = None
    supervisors: dict[str, str] = field(default_factory=dict)  # user id -> the mode they are in
    consultant: str | None = None  # the colleague the agent is consulting (the caller on hold)
    consult_answered: bool = False
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)  # by role, the latest figures
    watcher: asyncio.Task[None] | None = None  # samples `quality`, repeats the place in line
    position: tuple[int, float | None] | None = None  # in line, and the estimated wait in seconds
    announced: float | None = None  # when the caller was last told their place
    line: CallerLine | None = None  # a phone caller's
    callback_number: str | None = None  # a phone caller's own number (not withheld): "press 1 to be called back"
    callback: Attempt | None = None  # a callback being dialled: the call the gateway places
    dialled: bool = False  # the customer's number was dialled (once per call, whoever answers it after)
    dialling: Dialling | None = None  # its INVITE, while it rings
    handed_on: bool = False  # an agent transferred it: the task is no longer theirs
    agent_device: Literal["browser", "phone"] = "browser"  # where the agent took the call: the inbox, or their SIP phone
    agent_line: CallerLine | None = None  # that phone's dialog (seats.py)

    @property
    def customer_leg(self) -> str:
        return f"{self.id}.customer"

    @property
    def agent_leg(self) -> str:
        user_id = self.agent_id or ""
        return self.phone_leg_of(user_id) if self.agent_device == "phone" else self.agent_leg_of(user_id)

    def agent_leg_of(self, user_id: str) -> str:
        return f"{self.id}.agent.{user_id}"

    def phone_leg_of(self, user_id: str) -> str:
        return phone_leg(self.id, user_id)

    def supervisor_leg(self, user_id: str) -> str:
        return f"{self.id}.supervisor.{user_id}"

    def seconds(self) -> tuple[int, int]:
        """(the whole call, the part with an agent), in whole seconds so far."""
        now = time.monotonic()
        return round(now - self.started), round(now - self.answered) if self.answered is not None else 0


def phone_leg(call_id: str, user_id: str) -> str:
    """An agent's desk phone's leg of a call: apart from their browser's, which may answer while it rings."""
    return f"{call_id}.phone.{user_id}"

"""What the widget and the inbox may send about a call: every field bounded, nothing extra."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from gateway.realtime.payloads import Payload

# An audio offer is 2–6 KB (more with many candidates); anything far larger is not one.
MAX_SDP_CHARS = 20_000
MAX_SIGNAL_BYTES = MAX_SDP_CHARS + 1_000

CallId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Sdp = Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP_CHARS)]


class CallStart(Payload):
    """The visitor's offer: an audio session description."""

    sdp: Sdp


class CallAnswer(Payload):
    """The agent's offer for their side of a call they were given."""

    call_id: CallId
    sdp: Sdp


class CallRef(Payload):
    call_id: CallId


class CallHold(Payload):
    call_id: CallId
    on: bool


class CallMute(Payload):
    call_id: CallId
    muted: bool


class CallRecording(Payload):
    call_id: CallId
    paused: bool


SupervisorMode = Literal["listen", "whisper", "barge"]


class CallMonitor(Payload):
    """A supervisor's offer to join a live call: listen, whisper to the agent, or barge in."""

    call_id: CallId
    sdp: Sdp
    mode: SupervisorMode = "listen"


class CallMonitorMode(Payload):
    call_id: CallId
    mode: SupervisorMode


class CallTransfer(Payload):
    """Hand the caller on to a queue or a colleague; they wait with hold audio meanwhile."""

    call_id: CallId
    queue_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    agent_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    note: Annotated[str, StringConstraints(max_length=5000)] = ""


class CallConsult(Payload):
    """Put the caller on hold and talk to a colleague first (a warm transfer)."""

    call_id: CallId
    agent_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CallCallback(Payload):
    """Instead of waiting on the line: call me back at this number, preferably in this window
    (ISO 8601 date-times with their UTC offset)."""

    call_id: CallId
    number: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    window_from: Annotated[str, StringConstraints(max_length=40)] | None = None
    window_to: Annotated[str, StringConstraints(max_length=40)] | None = None
    topic: Annotated[str, StringConstraints(max_length=500)] = ""


class CallDial(Payload):
    """The agent calls one of a contact's numbers (click-to-call): their offer for their side."""

    tenant_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    contact_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    number: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    sdp: Sdp

"""Incoming socket events are untrusted: each payload is checked for size and shape before a
handler sees it, and every handler answers with an ack {"ok": true, ...} or
{"ok": false, "code": <stable code>, "message": <for people>}."""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

M = TypeVar("M", bound=BaseModel)
Ack = dict[str, Any]

# Control events (join, presence, ping) are tiny; chat events will pass a larger limit.
MAX_CONTROL_BYTES = 4096


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ConversationRef(Payload):
    conversation_id: str = Field(min_length=1, max_length=64)


class Typing(Payload):
    conversation_id: str = Field(min_length=1, max_length=64)
    typing: bool


class Presence(Payload):
    status: Literal["available", "away", "busy", "offline"]
    reason: str = Field("", max_length=200)  # "busy: in a meeting"


class Transfer(Payload):
    task_id: str = Field(min_length=1, max_length=64)
    queue_id: str | None = Field(None, min_length=1, max_length=64)
    agent_id: str | None = Field(None, min_length=1, max_length=64)
    note: str = Field("", max_length=5000)


class TenantRef(Payload):
    tenant_id: str = Field(min_length=1, max_length=64)


class TaskRef(Payload):
    task_id: str = Field(min_length=1, max_length=64)


class FinishTask(Payload):
    """wrapup_task / complete_task: the work held, with how the agent sums it up."""

    task_id: str = Field(min_length=1, max_length=64)
    wrapup_code: str | None = Field(None, min_length=1, max_length=40)
    note: str = Field("", max_length=2000)


class JoinConversation(Payload):
    conversation_id: str = Field(min_length=1, max_length=64)
    # False: follow it live (e.g. a chat the agent holds in the background) without showing as viewing it.
    view: bool = True


class Receipt(Payload):
    """Either side has got (delivered) or shown (read) the other side's messages up to message_id."""

    conversation_id: str = Field(min_length=1, max_length=64)
    message_id: str = Field(min_length=1, max_length=64)
    status: Literal["delivered", "read"]


class Empty(Payload):
    """An event that carries nothing (ping, resume...): anything sent along is refused."""


class VisitorAuth(Payload):
    widget_key: str = Field(min_length=1, max_length=128)
    visitor_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    # The host site's logged-in user, signed by the site's server: hex HMAC-SHA256 of user_id
    # with the tenant's widget secret.
    user_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._:@-]{1,200}$")
    user_hash: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")


def ok(**data: Any) -> Ack:
    return {"ok": True, **data}


def error(code: str, message: str, **data: Any) -> Ack:
    return {"ok": False, "code": code, "message": message, **data}


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def parse(model: type[M], data: Any, max_bytes: int = MAX_CONTROL_BYTES) -> M | Ack:
    """The validated payload, or the error ack to send back. A missing payload counts as {}."""
    if data is None:
        data = {}
    try:
        # As sent: UTF-8, not \u escapes (text in Chinese would count twice over); a lone surrogate
        # (a cut emoji) is measured as it came, not refused.
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError):
        return error("invalid", "the payload is not JSON")
    if size > max_bytes:
        return error("invalid", f"the payload is larger than {max_bytes} bytes")
    if not isinstance(data, dict):
        return error("invalid", "the payload must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return error("invalid", _describe(exc))


class CobrowseRef(Payload):
    session_id: str = Field(min_length=1, max_length=64)


class CobrowseConsent(Payload):
    session_id: str = Field(min_length=1, max_length=64)
    accept: bool


class CobrowseClaim(Payload):
    """The code a visitor read out, entered by the agent on the conversation it belongs to."""

    conversation_id: str = Field(min_length=1, max_length=64)
    code: str = Field(pattern=r"^[0-9]{6}$")


class CobrowseControl(Payload):
    """The agent asks for control (want) or gives it back."""

    session_id: str = Field(min_length=1, max_length=64)
    want: bool


class CobrowseGrant(Payload):
    """The visitor's answer to the agent's ask for control (grant), or control taken back (not grant)."""

    session_id: str = Field(min_length=1, max_length=64)
    grant: bool


class CobrowsePointer(Payload):
    """Where the agent points on the visitor's page: at rrweb node `node` (the ids are the same on
    both sides), `x`, `y` its fraction across the node's box, so it lands right on any screen size.
    `highlight` outlines the node for a moment (the agent clicked); `hide`: the agent looks away."""

    session_id: str = Field(min_length=1, max_length=64)
    stream: str = Field(pattern=r"^[A-Za-z0-9_-]{8,32}$")  # the page the agent sees: node ids are that page's
    node: int = Field(0, ge=0, le=2**31)
    x: float = Field(0, ge=0, le=1)
    y: float = Field(0, ge=0, le=1)
    highlight: bool = False
    hide: bool = False


class CobrowseAction(Payload):
    """What the agent in control does on the visitor's page (the visitor's widget applies it, and
    refuses what it must: masked or blocked fields, another site):
    click {node, x, y} | input {node, value} | scroll {node, dx, dy} | navigate {url}."""

    session_id: str = Field(min_length=1, max_length=64)
    stream: str = Field(pattern=r"^[A-Za-z0-9_-]{8,32}$")  # the page the agent sees: node ids are that page's
    kind: Literal["click", "input", "scroll", "navigate"]
    node: int = Field(0, ge=0, le=2**31)
    x: float = Field(0.5, ge=0, le=1)
    y: float = Field(0.5, ge=0, le=1)
    value: str = Field("", max_length=2_000)
    dx: int = Field(0, ge=-100_000, le=100_000)
    dy: int = Field(0, ge=-100_000, le=100_000)
    url: str = Field("", max_length=2_000)

    @model_validator(mode="after")
    def _complete(self) -> "CobrowseAction":
        if self.kind == "navigate":
            if not self.url.startswith(("https://", "http://", "/")):
                raise ValueError("navigate to a web address on the visitor's site")
        elif self.node == 0:
            raise ValueError(f"{self.kind} needs the node it acts on")
        return self


class CobrowsePart(Payload):
    """A piece of a batch too large for one message (a big page's full snapshot), as JSON text."""

    id: str = Field(min_length=1, max_length=64)
    index: int = Field(ge=0, lt=1_000)
    count: int = Field(ge=1, le=1_000)
    text: str = Field(max_length=100_000)


class CobrowseBatch(Payload):
    """rrweb events from the visitor's page: a list, or one part of a large one; `snapshot` marks
    the first batch of a new full snapshot (a Meta event and the FullSnapshot)."""

    session_id: str = Field(min_length=1, max_length=64)
    stream: str = Field(pattern=r"^[A-Za-z0-9_-]{8,32}$")  # the recorder (one page in one tab) it comes from
    snapshot: bool = False
    events: list[dict[str, Any]] | None = Field(None, max_length=2_000)
    part: CobrowsePart | None = None
    sent: int = Field(0, ge=0, le=2**53)  # the page's clock (ms) as it went: lets the agent's replay keep time

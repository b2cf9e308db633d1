"""What the widget may send: every field bounded, nothing extra accepted."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from gateway.realtime.payloads import Payload

# A chat line; longer pastes belong in an attachment.
MAX_TEXT_CHARS = 5000
# Whole events stay small: a message plus the pre-chat form's fields.
MAX_EVENT_BYTES = 32_768

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FieldValue = Annotated[str, StringConstraints(max_length=500)]
# What the host page tells about its visitor through the JS API (plan, cart value...).
MAX_CUSTOM_ATTRIBUTES = 20
Attributes = Annotated[dict[FieldName, FieldValue], Field(max_length=MAX_CUSTOM_ATTRIBUTES)]


class StartChat(Payload):
    """The pre-chat form and the first message."""

    client_id: ClientId
    text: Text
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    fields: dict[FieldName, FieldValue] = Field(default_factory=dict, max_length=20)
    attributes: Attributes = Field(default_factory=dict)


class LeaveMessage(Payload):
    """The offline form: no one can chat now; the message waits as work for the next agent."""

    client_id: ClientId
    text: Text
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    attributes: Attributes = Field(default_factory=dict)


class SetAttributes(Payload):
    attributes: Attributes


class EndChat(Payload):
    conversation_id: Id


class Rate(Payload):
    """The post-chat rating (CSAT)."""

    conversation_id: Id
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class SendMessage(Payload):
    conversation_id: Id
    client_id: ClientId
    text: Text


class History(Payload):
    conversation_id: Id
    before: Id | None = None


class Transcript(Payload):
    conversation_id: Id
    email: str = Field(min_length=3, max_length=254)

"""A channel adapter for tests (config: `module = "tests.fake_channel"`): records what the core
hands it, and fails to deliver on demand."""

from __future__ import annotations

from gateway.channel import Channel, ChannelContext, DeliveryError, OutboundMessage
from gateway.config import ChannelConfig


class FakeChannel(Channel):
    name = "echo"

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting
        self.ctx: ChannelContext | None = None
        self.started = 0
        self.stopped = 0
        self.delivered: list[OutboundMessage] = []
        self.fail_with: str | None = None

    async def start(self, ctx: ChannelContext) -> None:
        self.ctx = ctx
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    async def deliver(self, reply: OutboundMessage) -> None:
        if self.fail_with:
            raise DeliveryError(self.fail_with)
        self.delivered.append(reply)


def create_channel(settings: ChannelConfig) -> FakeChannel:
    extra = settings.model_extra or {}
    greeting = extra.get("greeting", "hello")
    if not isinstance(greeting, str):
        raise ValueError("greeting must be a string")
    unknown = set(extra) - {"module", "greeting"}
    if unknown:
        raise ValueError(f"unknown setting {sorted(unknown)[0]!r}")
    return FakeChannel(greeting)

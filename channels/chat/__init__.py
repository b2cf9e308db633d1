"""Web chat: the visitor's widget talks to the gateway over the /visitor socket."""

from __future__ import annotations

from gateway.config import ChannelConfig

from channels.chat.channel import ChatChannel


def create_channel(settings: ChannelConfig) -> ChatChannel:
    return ChatChannel(settings)

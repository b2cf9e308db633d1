"""Voice over WebRTC: a visitor calls from the widget, an agent answers in the inbox; the media
runs through the gateway's media layer (gateway/media)."""

from __future__ import annotations

from gateway.config import ChannelConfig

from channels.voice.channel import VoiceChannel


def create_channel(settings: ChannelConfig) -> VoiceChannel:
    return VoiceChannel(settings)

"""Email: tenants' mailboxes read over IMAP into conversations and tasks."""

from __future__ import annotations

from gateway.config import ChannelConfig

from channels.email.channel import EmailChannel


def create_channel(settings: ChannelConfig) -> EmailChannel:
    return EmailChannel(settings)

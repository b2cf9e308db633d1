"""Fax-to-email: faxes that tenants' fax services mail in, shown page by page."""

from __future__ import annotations

from gateway.config import ChannelConfig

from channels.fax.channel import FaxChannel


def create_channel(settings: ChannelConfig) -> FaxChannel:
    return FaxChannel(settings)

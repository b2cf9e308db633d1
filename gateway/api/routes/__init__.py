"""Every REST operation, registered module by module into one registry (and OpenAPI document)."""

from __future__ import annotations

from gateway.api.registry import ApiRegistry
from gateway.api.routes import (
    admin, attachments, auth, calls, canned_replies, channel_health, contacts, conversations, events, inbox, mailboxes, phone_numbers, reports,
    routing, sip_phones, supervision, tenants, users, webhooks, widget, widget_files,
)


def build_api() -> ApiRegistry:
    api = ApiRegistry()
    for module in (auth, users, tenants, admin, conversations, attachments, contacts, routing, webhooks, events, widget, widget_files,
                   canned_replies, inbox, mailboxes, calls, phone_numbers, sip_phones, reports, supervision, channel_health):
        module.register(api)
    return api

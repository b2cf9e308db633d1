"""Every REST operation, registered module by module into one registry (and OpenAPI document)."""

from __future__ import annotations

from gateway.api.registry import ApiRegistry
from gateway.api.routes import admin, auth, contacts, conversations, tenants


def build_api() -> ApiRegistry:
    api = ApiRegistry()
    for module in (auth, tenants, admin, conversations, contacts):
        module.register(api)
    return api

"""A tenant's call settings (tenant admins set, supervisors read): whether calls are recorded,
and the country of phone numbers written without one. Every channel that carries calls (web
calls now, SIP next) reads them from the tenant's settings document, section "calls"."""

from __future__ import annotations

import phonenumbers
from pydantic import Field, field_validator

from gateway.api.errors import not_found
from gateway.api.models import Input
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN, SUPERVISE
from gateway.core.tenant_settings import read_settings, write_section
from gateway.keys import DB


class CallSettings(Input):
    record: bool = Field(True, description="record every call (agents can still pause a recording for sensitive moments)")
    default_region: str = Field("", max_length=2, description="country (ISO 3166) of numbers written without one, e.g. GB")

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a country code phonenumbers knows (e.g. US, DE, GB)")
        return value.upper()


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/calls/settings", summary="Whether the tenant's calls are recorded, and its phone numbers' country",
               tag="calls", response=CallSettings, errors=(404,))
    async def get_call_settings(call: Call) -> CallSettings:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        async with call.app[DB].connect() as conn:
            raw = await read_settings(conn, tenant_id)
        if raw is None:
            raise not_found("tenant")
        return CallSettings.model_validate(raw.get("calls") or {})

    @api.route("PUT", "/tenants/{tenant_id}/calls/settings", summary="Set whether the tenant's calls are recorded, and its numbers' country",
               tag="calls", body=CallSettings, response=CallSettings, errors=(404, 422))
    async def put_call_settings(call: Call) -> CallSettings:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: CallSettings = call.body
        stored = body.model_dump(mode="json")
        async with call.app[DB].begin() as conn:
            if not await write_section(conn, tenant_id, "calls", stored):
                raise not_found("tenant")
            await audit(conn, "calls.settings_updated", principal=call.user, tenant_id=tenant_id, target_type="tenant",
                        target_id=tenant_id, data=stored)
        return body

"""A tenant's call settings (tenant admins set, supervisors read): whether calls are recorded,
the country of phone numbers written without one, and what phone callers hear first (a
greeting, a key-press menu leading to queues or skills), and how callbacks are dialled (attempts, interval). The voice channel (web and phone calls) reads
them from the tenant's settings document, section "calls"."""

from __future__ import annotations

import phonenumbers
import sqlalchemy as sa
from pydantic import Field, field_validator

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN, SUPERVISE
from gateway.core.tenant_settings import read_settings, write_section
from gateway.db import schema as t
from gateway.keys import DB


class MenuOption(Input):
    key: str = Field(pattern=r"^[0-9*#]$", description="the key the caller presses")
    label: str = Field(min_length=1, max_length=60, description='spoken as "For <label>, press <key>."')
    queue_id: str | None = Field(None, description="the queue the call joins; none: the number's queue")
    skill: str | None = Field(None, min_length=1, max_length=64,
                              description="a skill (the tenant's) the agent taking the call must have, e.g. 'spanish'")
    skill_level: int = Field(1, ge=1, le=10, description="the skill's minimum level")


class CallSettings(Input):
    record: bool = Field(True, description="record every call (agents can still pause a recording for sensitive moments)")
    default_region: str = Field("", max_length=2, description="country (ISO 3166) of numbers written without one, e.g. GB")
    greeting: str = Field("", max_length=300, description="spoken to phone callers as the call is answered")
    menu: list[MenuOption] = Field(default_factory=list, max_length=12,
                                   description="phone callers choose a queue by key before they wait; empty: no menu")
    menu_timeout_seconds: int = Field(10, ge=3, le=60, description="after the menu is spoken: no key, the default queue")
    callback_countries: list[str] = Field(default_factory=list, max_length=250,
                                          description="countries (ISO 3166) whose numbers may ask to be called back; empty: any")
    callback_attempts: int = Field(3, ge=1, le=10, description="how often a callback is dialled when the line is busy or nobody answers")
    callback_retry_minutes: int = Field(10, ge=1, le=1440, description="the wait before a callback is dialled again")

    @field_validator("callback_countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code.upper() not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"not country codes phonenumbers knows: {', '.join(unknown)}")
        return sorted({code.upper() for code in value})

    @field_validator("menu")
    @classmethod
    def _distinct_keys(cls, value: list[MenuOption]) -> list[MenuOption]:
        keys = [option.key for option in value]
        if len(set(keys)) != len(keys):
            raise ValueError("each menu key may lead to one queue only")
        return value

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
            named = {option.queue_id for option in body.menu if option.queue_id}
            known = set((await conn.execute(sa.select(t.queues.c.id).where(
                t.queues.c.tenant_id == tenant_id, t.queues.c.id.in_(named)))).scalars()) if named else set()
            if named - known:
                raise ApiError(422, "validation_error", f"menu: no such queue in this tenant: {', '.join(sorted(named - known))}")
            skills = {option.skill for option in body.menu if option.skill}
            defined = set((await conn.execute(sa.select(t.skills.c.name).where(
                t.skills.c.tenant_id == tenant_id, t.skills.c.name.in_(skills)))).scalars()) if skills else set()
            if skills - defined:
                raise ApiError(422, "unknown_skill", f"menu: define these skills first: {', '.join(sorted(skills - defined))}")
            if not await write_section(conn, tenant_id, "calls", stored):
                raise not_found("tenant")
            await audit(conn, "calls.settings_updated", principal=call.user, tenant_id=tenant_id, target_type="tenant",
                        target_id=tenant_id, data=stored)
        return body

"""A tenant's routing settings: how long offers ring, how long a returning customer waits for the
agent who served them last, how long wrap-up lasts, and which live work blocks which (blending).
Each is optional: left out, the center's default from config.toml [routing] applies. They are
kept in tenants.settings["routing"] and read where they are used, so every gateway process sees
a change at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.config import RoutingConfig
from gateway.routing.model import CHANNELS, DEFAULT_BLOCKING

Channel = Literal["chat", "voice", "email", "fax", "callback"]
assert set(Channel.__args__) == set(CHANNELS)  # type: ignore[attr-defined]


class TenantRouting(BaseModel):
    """What a tenant admin may set (null: the center's default)."""

    model_config = ConfigDict(extra="forbid")
    ring_seconds: float | None = Field(None, ge=5, le=600)
    sticky_seconds: float | None = Field(None, ge=0, le=3600)
    # 0: wrap-up lasts until the agent ends it.
    wrapup_seconds: float | None = Field(None, ge=0, le=86400)
    # {channel: [channels its live work blocks]}, e.g. {"voice": ["chat"]}: an agent on a call is
    # not offered chats. Replaces the default rules as a whole ({}: nothing blocks anything).
    blocking: dict[Channel, list[Channel]] | None = None

    @field_validator("blocking")
    @classmethod
    def _no_self_block(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is None:
            return None
        for channel, blocked in value.items():
            if channel in blocked:
                raise ValueError(f"{channel} cannot block itself: capacity already limits it")
        return {channel: sorted(set(blocked)) for channel, blocked in value.items()}

    @classmethod
    def of(cls, tenant_settings: Any) -> "TenantRouting":
        raw = (tenant_settings or {}).get("routing") if isinstance(tenant_settings, dict) else None
        return cls.model_validate(raw or {})


@dataclass(frozen=True)
class EffectiveRouting:
    ring_ms: int
    sticky_ms: int
    wrapup_ms: int
    blocking: dict[str, tuple[str, ...]]


def effective(tenant: TenantRouting, center: RoutingConfig) -> EffectiveRouting:
    def pick(value: float | None, default: float) -> int:
        return int((default if value is None else value) * 1000)

    return EffectiveRouting(
        ring_ms=pick(tenant.ring_seconds, center.ring_seconds),
        sticky_ms=pick(tenant.sticky_seconds, center.sticky_seconds),
        wrapup_ms=pick(tenant.wrapup_seconds, center.wrapup_seconds),
        blocking={k: tuple(v) for k, v in tenant.blocking.items()} if tenant.blocking is not None else dict(DEFAULT_BLOCKING),
    )

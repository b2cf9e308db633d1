"""Wrap-up codes: how an agent sums up finished work ("sale", "refund", "no answer"), per tenant,
optionally required before the work can be completed. The codes are kept in
tenants.settings["wrapup"]; the agent's choice is kept on the conversation (attributes.wrapup, for
the inbox) and recorded as the event task.wrapup_coded (for reports)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.tenant_settings import read_settings
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.events.bus import DomainEvent, record_event


class WrapupCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    label: str = Field(min_length=1, max_length=100)


class WrapupCodes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[WrapupCode] = Field(default_factory=list, max_length=100)
    # Work cannot be completed without a code (needs at least one code to choose from).
    required: bool = False

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[WrapupCode]) -> list[WrapupCode]:
        codes = [i.code for i in items]
        if len(codes) != len(set(codes)):
            raise ValueError("two wrap-up codes are the same")
        return items

    @classmethod
    def of(cls, tenant_settings: Any) -> "WrapupCodes":
        raw = tenant_settings.get("wrapup") if isinstance(tenant_settings, dict) else None
        return cls.model_validate(raw or {})


class WrapupRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def settings_of(conn: AsyncConnection, tenant_id: str) -> WrapupCodes:
    return WrapupCodes.of(await read_settings(conn, tenant_id))


async def check_can_complete(conn: AsyncConnection, task: Any) -> None:
    """WrapupRefused when the tenant wants a code and this task has none yet."""
    codes = await settings_of(conn, task.tenant_id)
    if not codes.required or not codes.items:
        return
    attributes = (await conn.execute(sa.select(t.conversations.c.attributes).where(
        t.conversations.c.id == task.conversation_id))).scalar_one()
    if ((attributes or {}).get("wrapup") or {}).get("task_id") != task.id:
        raise WrapupRefused("wrapup_code_required", "choose a wrap-up code before completing this work")


async def record_code(conn: AsyncConnection, task: Any, agent_id: str, code: str | None, note: str) -> DomainEvent:
    """Keeps the agent's code and note for `task` (a tasks row held by the agent)."""
    codes = await settings_of(conn, task.tenant_id)
    label = ""
    if code is not None:
        chosen = next((c for c in codes.items if c.code == code), None)
        if chosen is None:
            raise WrapupRefused("unknown_wrapup_code", f"{code!r} is not one of this business's wrap-up codes")
        label = chosen.label
    summary = {"task_id": task.id, "code": code, "label": label, "note": note, "agent_id": agent_id}
    c = t.conversations
    attributes = (await conn.execute(sa.select(c.c.attributes).where(c.c.id == task.conversation_id).with_for_update())).scalar_one()
    await conn.execute(sa.update(c).where(c.c.id == task.conversation_id).values(
        attributes={**(attributes or {}), "wrapup": summary}, updated_at=utcnow()))
    return await record_event(conn, "task.wrapup_coded", task.tenant_id,
                              {**summary, "conversation_id": task.conversation_id, "channel": task.channel, "queue_id": task.queue_id},
                              conversation_id=task.conversation_id, actor=f"user:{agent_id}")

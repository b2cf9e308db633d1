"""Routing over REST: queue work for a conversation, read a task, the supervisor's live queue
snapshot and the tenant's routing settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.errors import ApiError, not_found
from gateway.audit import audit
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.conversations import load_conversation
from gateway.auth.principal import ADMIN, CONVERSATIONS_READ, CONVERSATIONS_WRITE, SUPERVISE
from gateway.config import RoutingConfig
from gateway.core.conversations import enqueue_task
from gateway.core.tenant_settings import read_settings, write_section
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import CONFIG, DB, EVENTS, ROUTING
from gateway.routing.model import ACTIVE_STATES
from gateway.routing.settings import TenantRouting, effective


class QueueView(BaseModel):
    waiting: int
    longest_wait_ms: int | None


class AgentView(BaseModel):
    presence: str
    load: dict[str, int]
    capacity: dict[str, int]
    tasks: list[str]


class RoutingSnapshot(BaseModel):
    queues: dict[str, QueueView]  # queue id ("" for work with no queue) -> figures
    agents: dict[str, AgentView]
    agents_by_presence: dict[str, int]


class EffectiveRoutingOut(BaseModel):
    ring_seconds: float
    sticky_seconds: float
    wrapup_seconds: float  # 0: until the agent ends it
    blocking: dict[str, list[str]]


class RoutingSettingsOut(BaseModel):
    settings: TenantRouting  # as the tenant set them (null: the center's default)
    effective: EffectiveRoutingOut  # what routing uses


def _settings_out(settings: TenantRouting, center: RoutingConfig) -> RoutingSettingsOut:
    used = effective(settings, center)
    return RoutingSettingsOut(settings=settings, effective=EffectiveRoutingOut(
        ring_seconds=used.ring_ms / 1000, sticky_seconds=used.sticky_ms / 1000, wrapup_seconds=used.wrapup_ms / 1000,
        blocking={k: list(v) for k, v in used.blocking.items()}))


def register(api: ApiRegistry) -> None:
    register_tasks(api)

    @api.route("GET", "/tenants/{tenant_id}/routing/settings", summary="How the tenant's work rings, sticks, wraps up and blends",
               tag="routing", response=RoutingSettingsOut, errors=(404,))
    async def get_routing_settings(call: Call) -> RoutingSettingsOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        async with call.app[DB].connect() as conn:
            raw = await read_settings(conn, tenant_id)
        return _settings_out(TenantRouting.of(raw), call.app[CONFIG].routing)

    @api.route("PUT", "/tenants/{tenant_id}/routing/settings", summary="Set the tenant's routing settings (null: the center's default)",
               tag="routing", body=TenantRouting, response=RoutingSettingsOut, errors=(404, 422))
    async def put_routing_settings(call: Call) -> RoutingSettingsOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: TenantRouting = call.body
        stored = body.model_dump(mode="json")
        async with call.app[DB].begin() as conn:
            if not await write_section(conn, tenant_id, "routing", stored):
                raise not_found("tenant")
            await audit(conn, "routing.updated", principal=call.user, tenant_id=tenant_id, target_type="tenant", target_id=tenant_id, data=stored)
            event = await record_event(conn, "tenant.routing_updated", tenant_id, {"tenant_id": tenant_id, "settings": stored},
                                       actor=call.user.actor)
        await call.app[EVENTS].publish(event)
        return _settings_out(body, call.app[CONFIG].routing)

    @api.route("GET", "/tenants/{tenant_id}/routing/snapshot", summary="Queues and agents right now (supervisors)",
               tag="routing", response=RoutingSnapshot, errors=(404,))
    async def routing_snapshot(call: Call) -> Any:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        return RoutingSnapshot.model_validate(await call.app[ROUTING].snapshot(tenant_id))


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue_id: str | None = None  # the tenant's first queue when left out
    priority: int = Field(0, ge=0, le=9)
    required_skills: dict[str, int] | None = None  # the queue's when left out
    sla_seconds: int | None = Field(None, ge=1, le=7 * 86400)


class TaskOut(BaseModel):
    id: str
    tenant_id: str
    conversation_id: str
    channel: str
    queue_id: str | None
    priority: int
    state: str
    assigned_agent_id: str | None
    enqueued_at: datetime


def register_tasks(api: ApiRegistry) -> None:
    @api.route("POST", "/conversations/{conversation_id}/tasks",
               summary="Queue a conversation for an agent (e.g. a case raised by another system)",
               tag="routing", body=TaskCreate, response=TaskOut, status=201, errors=(404, 409, 422))
    async def create_task(call: Call) -> TaskOut:
        body: TaskCreate = call.body
        async with call.app[DB].begin() as conn:
            conversation = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_WRITE)
            open_task = (await conn.execute(sa.select(t.tasks.c.id).where(
                t.tasks.c.conversation_id == conversation.id, t.tasks.c.state.in_(ACTIVE_STATES)))).first()
            if open_task is not None:
                raise ApiError(409, "already_queued", "this conversation already has work waiting or in progress",
                               details={"task_id": open_task.id})
            if body.queue_id and (await conn.execute(sa.select(t.queues.c.id).where(
                    t.queues.c.id == body.queue_id, t.queues.c.tenant_id == conversation.tenant_id))).first() is None:
                raise not_found("queue")
            task_id, events = await enqueue_task(
                conn, conversation.tenant_id, conversation.id, conversation.channel, queue_id=body.queue_id,
                priority=body.priority, required_skills=body.required_skills, sla_seconds=body.sla_seconds,
            )
            row = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == task_id))).one()
        await call.app[EVENTS].publish(*events)
        return TaskOut.model_validate(row._asdict())

    @api.route("GET", "/tasks/{task_id}", summary="One task and its state", tag="routing", response=TaskOut, errors=(404,))
    async def get_task(call: Call) -> TaskOut:
        async with call.app[DB].connect() as conn:
            row = (await conn.execute(sa.select(t.tasks).where(
                t.tasks.c.id == call.path("task_id"), call.user.tenant_filter(t.tasks.c.tenant_id, CONVERSATIONS_READ)))).first()
        if row is None:
            raise not_found("task")
        return TaskOut.model_validate(row._asdict())

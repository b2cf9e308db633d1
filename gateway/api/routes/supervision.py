"""What a supervisor does to steer the live work of their business: move a piece of work to another
agent or queue (whoever holds it, or while it waits), close it outright, and set an agent's status.
Each is on the audit log; the agent concerned hears it like any routing step."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import SUPERVISE
from gateway.core.conversations import close_conversation
from gateway.db import schema as t
from gateway.keys import DB, EVENTS, ROUTING
from gateway.routing.engine import RoutingConflict
from gateway.routing.model import ACTIVE_STATES


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reassign(_Input):
    agent_id: str | None = Field(None, min_length=1, max_length=64)
    queue_id: str | None = Field(None, min_length=1, max_length=64)
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> "Reassign":
        if (self.agent_id is None) == (self.queue_id is None):
            raise ValueError("give agent_id or queue_id")
        return self


class ForceClose(_Input):
    note: str = Field("", max_length=2000)


class AgentPresence(_Input):
    status: Literal["available", "busy", "away", "offline"]
    reason: str = Field("", max_length=200)


class Done(BaseModel):
    ok: bool = True


async def _live_task(call: Call) -> tuple[str, str, str]:
    """(task id, tenant, conversation) of a task that waits or is worked on, which this user supervises."""
    async with call.app[DB].connect() as conn:
        row = (await conn.execute(sa.select(t.tasks.c.id, t.tasks.c.tenant_id, t.tasks.c.conversation_id, t.tasks.c.state).where(
            t.tasks.c.id == call.path("task_id"), call.user.tenant_filter(t.tasks.c.tenant_id, SUPERVISE)))).first()
    if row is None:
        raise not_found("task")
    if row.state not in ACTIVE_STATES:
        raise ApiError(409, "finished", f"this work is {row.state} already")
    return row.id, row.tenant_id, row.conversation_id


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/tasks/{task_id}/reassign", summary="A supervisor moves work to another agent or queue",
               tag="supervision", body=Reassign, response=Done, errors=(404, 409, 422))
    async def reassign_task(call: Call) -> Done:
        task_id, tenant_id, _ = await _live_task(call)
        body: Reassign = call.body
        assert call.user.user_id is not None
        note = body.note or "Moved by a supervisor."
        try:
            await call.app[ROUTING].transfer(task_id, call.user.user_id, queue_id=body.queue_id, agent_id=body.agent_id,
                                             note=note, supervisor=True)
        except RoutingConflict as err:
            raise ApiError(404 if err.code == "not_found" else 409, err.code, str(err)) from None
        async with call.app[DB].begin() as conn:
            await audit(conn, "task.reassigned", principal=call.user, tenant_id=tenant_id, target_type="task", target_id=task_id,
                        data={"agent_id": body.agent_id, "queue_id": body.queue_id})
        return Done()

    @api.route("POST", "/tasks/{task_id}/close", summary="A supervisor closes work outright (and its conversation)",
               tag="supervision", body=ForceClose, response=Done, errors=(404, 409))
    async def force_close_task(call: Call) -> Done:
        task_id, tenant_id, conversation_id = await _live_task(call)
        try:
            await call.app[ROUTING].cancel(task_id, "cancelled")
        except RoutingConflict as err:
            raise ApiError(409, err.code, str(err)) from None
        async with call.app[DB].begin() as conn:
            event = await close_conversation(conn, tenant_id, conversation_id, actor=call.user.actor)
            await audit(conn, "task.force_closed", principal=call.user, tenant_id=tenant_id, target_type="task", target_id=task_id,
                        data={"note": call.body.note} if call.body.note else None)
        await call.app[EVENTS].publish(event)
        return Done()

    @api.route("PUT", "/tenants/{tenant_id}/agents/{user_id}/presence", summary="A supervisor sets an agent's status",
               tag="supervision", body=AgentPresence, response=Done, errors=(404,))
    async def set_agent_presence(call: Call) -> Done:
        tenant_id, user_id = call.path("tenant_id"), call.path("user_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        body: AgentPresence = call.body
        async with call.app[DB].connect() as conn:
            member = (await conn.execute(sa.select(t.memberships.c.id).where(
                t.memberships.c.tenant_id == tenant_id, t.memberships.c.user_id == user_id))).first()
        if member is None:
            raise not_found("agent")
        await call.app[ROUTING].set_presence(user_id, body.status, body.reason or "set by a supervisor", actor=call.user.actor)
        async with call.app[DB].begin() as conn:
            await audit(conn, "agent.presence_set", principal=call.user, tenant_id=tenant_id, target_type="user", target_id=user_id,
                        data={"status": body.status})
        return Done()

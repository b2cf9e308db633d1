"""What a supervisor does to steer the live work of their business: move a piece of work to another
agent or queue (whoever holds it, or while it waits), close it outright, and set an agent's status.
Each is on the audit log; the agent concerned hears it like any routing step."""

from __future__ import annotations

from typing import Any, Literal

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
    status: Literal["busy", "away", "offline"]
    reason: str = Field("", max_length=200)


class Done(BaseModel):
    ok: bool = True


# A call is a live line, not only routing's task: the call bar (or the caller) ends it, so that the
# media and the channel end with it. Supervisors listen, whisper and barge on calls instead.
CALL_CHANNELS = ("voice", "callback")


async def _live_task(call: Call) -> Any:
    """The task (id, tenant_id, conversation_id, channel, state, assigned_agent_id) when it waits or
    is worked on and this person supervises its business."""
    if call.user.user_id is None:
        raise ApiError(403, "people_only", "a supervisor steers work in person, not with an API token")
    async with call.app[DB].connect() as conn:
        row = (await conn.execute(sa.select(t.tasks.c.id, t.tasks.c.tenant_id, t.tasks.c.conversation_id, t.tasks.c.channel,
                                            t.tasks.c.state, t.tasks.c.assigned_agent_id).where(
            t.tasks.c.id == call.path("task_id"), call.user.tenant_filter(t.tasks.c.tenant_id, SUPERVISE)))).first()
    if row is None:
        raise not_found("task")
    if row.state not in ACTIVE_STATES:
        raise ApiError(409, "finished", f"this work is {row.state} already")
    return row


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/tasks/{task_id}/reassign", summary="A supervisor moves work to another agent or queue",
               tag="supervision", body=Reassign, response=Done, errors=(404, 409, 422))
    async def reassign_task(call: Call) -> Done:
        task = await _live_task(call)
        body: Reassign = call.body
        if task.channel in CALL_CHANNELS and task.state in ("assigned", "wrapup"):
            raise ApiError(409, "live_call", "a call in progress is moved by its agent (transfer on the call bar)")
        if body.agent_id is not None:
            async with call.app[DB].connect() as conn:
                # Membership first: another business's people are not found, whatever their presence.
                member = (await conn.execute(sa.select(t.memberships.c.user_id).where(
                    t.memberships.c.tenant_id == task.tenant_id, t.memberships.c.user_id == body.agent_id))).first()
                if member is None:
                    raise not_found("agent")
                presence = (await conn.execute(sa.select(t.agent_states.c.presence).where(
                    t.agent_states.c.user_id == body.agent_id))).scalar_one_or_none()
            if presence != "available":
                raise ApiError(409, "agent_unavailable", "that agent is not available: the work would wait for them")
        note = body.note or "Moved by a supervisor."
        try:
            await call.app[ROUTING].transfer(task.id, call.user.user_id, queue_id=body.queue_id, agent_id=body.agent_id,
                                             note=note, supervisor=True)
        except RoutingConflict as err:
            raise ApiError(404 if err.code == "not_found" else 409, err.code, str(err)) from None
        async with call.app[DB].begin() as conn:
            await audit(conn, "task.reassigned", principal=call.user, tenant_id=task.tenant_id, target_type="task", target_id=task.id,
                        data={"from_agent_id": task.assigned_agent_id, "agent_id": body.agent_id, "queue_id": body.queue_id})
        return Done()

    @api.route("POST", "/tasks/{task_id}/close", summary="A supervisor closes work outright (and its conversation)",
               tag="supervision", body=ForceClose, response=Done, errors=(404, 409))
    async def force_close_task(call: Call) -> Done:
        task = await _live_task(call)
        if task.channel in CALL_CHANNELS:
            raise ApiError(409, "live_call", "a call is ended on its call bar (or by the caller), not closed from here")
        try:
            if task.state == "wrapup":  # the conversation is over: the agent's wrap-up is cut short
                await call.app[ROUTING].complete(task.id, task.assigned_agent_id)
            else:
                await call.app[ROUTING].cancel(task.id, "cancelled")
        except RoutingConflict as err:
            raise ApiError(409, err.code, str(err)) from None
        async with call.app[DB].begin() as conn:
            event = await close_conversation(conn, task.tenant_id, task.conversation_id, actor=call.user.actor)
            await audit(conn, "task.force_closed", principal=call.user, tenant_id=task.tenant_id, target_type="task", target_id=task.id,
                        data={"from_agent_id": task.assigned_agent_id, **({"note": call.body.note} if call.body.note else {})})
        await call.app[EVENTS].publish(event)
        return Done()

    @api.route("PUT", "/tenants/{tenant_id}/agents/{user_id}/presence", summary="A supervisor sets an agent's status",
               tag="supervision", body=AgentPresence, response=Done, errors=(404,))
    async def set_agent_presence(call: Call) -> Done:
        """Takes an agent out of routing (away, busy, offline): their status is theirs in every business
        they serve, so the supervisor must supervise all of them (or be the operator). Putting someone
        in ("available") is theirs to do: offers would ring for an empty chair."""
        tenant_id, user_id = call.path("tenant_id"), call.path("user_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        body: AgentPresence = call.body
        async with call.app[DB].connect() as conn:
            serves = set((await conn.execute(sa.select(t.memberships.c.tenant_id).where(t.memberships.c.user_id == user_id))).scalars())
        if tenant_id not in serves:
            raise not_found("agent")
        if not call.user.is_operator and not serves <= set(call.user.tenant_ids(SUPERVISE)):
            raise ApiError(403, "shared_agent", "this agent also works for a business you don't supervise; ask its supervisor or the operator")
        await call.app[ROUTING].set_presence(user_id, body.status, body.reason or "set by a supervisor", actor=call.user.actor)
        async with call.app[DB].begin() as conn:
            for served in sorted(serves):
                await audit(conn, "agent.presence_set", principal=call.user, tenant_id=served, target_type="user", target_id=user_id,
                            data={"status": body.status})
        return Done()

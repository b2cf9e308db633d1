"""What the inbox needs to finish a piece of work: the tenant's wrap-up codes, where work can be
transferred to, and a conversation's tasks (so a fresh tab knows which task it holds)."""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import BaseModel

from gateway.api.errors import not_found
from gateway.api.models import Items
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.conversations import load_conversation
from gateway.api.routes.routing import TaskOut
from gateway.audit import audit
from gateway.auth.principal import ADMIN, CONVERSATIONS_READ
from gateway.core.tenant_settings import read_settings, write_section
from gateway.core.wrapup import WrapupCodes
from gateway.db import schema as t
from gateway.keys import DB
from gateway.tenancy import SEAT_ROLES


class TargetQueue(BaseModel):
    id: str
    name: str


class TargetAgent(BaseModel):
    id: str
    name: str
    presence: str


class TransferTargets(BaseModel):
    queues: list[TargetQueue]
    agents: list[TargetAgent]  # everyone with a seat; a transfer to someone away waits for them


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/wrapup-codes", summary="How agents may sum up finished work",
               tag="inbox", response=WrapupCodes, errors=(404,))
    async def get_wrapup_codes(call: Call) -> WrapupCodes:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, CONVERSATIONS_READ, "tenant")
        async with call.app[DB].connect() as conn:
            return WrapupCodes.of(await read_settings(conn, tenant_id))

    @api.route("PUT", "/tenants/{tenant_id}/wrapup-codes", summary="Set the tenant's wrap-up codes",
               tag="inbox", body=WrapupCodes, response=WrapupCodes, errors=(404, 422))
    async def put_wrapup_codes(call: Call) -> WrapupCodes:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: WrapupCodes = call.body
        async with call.app[DB].begin() as conn:
            if not await write_section(conn, tenant_id, "wrapup", body.model_dump(mode="json")):
                raise not_found("tenant")
            await audit(conn, "wrapup_codes.updated", principal=call.user, tenant_id=tenant_id, target_type="tenant", target_id=tenant_id)
        return body

    @api.route("GET", "/tenants/{tenant_id}/transfer-targets", summary="Queues and agents work can be transferred to",
               tag="inbox", response=TransferTargets, errors=(404,))
    async def transfer_targets(call: Call) -> TransferTargets:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, CONVERSATIONS_READ, "tenant")
        m, u, s = t.memberships, t.users, t.agent_states
        async with call.app[DB].connect() as conn:
            queues = (await conn.execute(sa.select(t.queues.c.id, t.queues.c.name).where(
                t.queues.c.tenant_id == tenant_id).order_by(t.queues.c.name))).all()
            agents = (await conn.execute(
                sa.select(u.c.id, u.c.name, sa.func.coalesce(s.c.presence, "offline").label("presence"))
                .join(m, m.c.user_id == u.c.id).outerjoin(s, s.c.user_id == u.c.id)
                .where(m.c.tenant_id == tenant_id, m.c.role.in_(SEAT_ROLES), u.c.status == "active")
                .order_by(u.c.name))).all()
        return TransferTargets(queues=[TargetQueue(id=q.id, name=q.name) for q in queues],
                               agents=[TargetAgent(id=a.id, name=a.name, presence=a.presence) for a in agents])

    @api.route("GET", "/conversations/{conversation_id}/tasks", summary="The conversation's tasks, newest first",
               tag="routing", response=Items[TaskOut], errors=(404,))
    async def conversation_tasks(call: Call) -> BaseModel:
        async with call.app[DB].connect() as conn:
            conversation = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_READ)
            rows = (await conn.execute(sa.select(t.tasks).where(
                t.tasks.c.tenant_id == conversation.tenant_id, t.tasks.c.conversation_id == conversation.id)
                .order_by(t.tasks.c.id.desc()).limit(100))).all()
        return Items[TaskOut](items=[TaskOut.model_validate(r._asdict()) for r in rows])

"""Routing as supervisors and integrations see it over REST: the live queue snapshot."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gateway.api.registry import ApiRegistry, Call
from gateway.auth.principal import SUPERVISE
from gateway.keys import ROUTING


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


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/routing/snapshot", summary="Queues and agents right now (supervisors)",
               tag="routing", response=RoutingSnapshot, errors=(404,))
    async def routing_snapshot(call: Call) -> Any:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        return RoutingSnapshot.model_validate(await call.app[ROUTING].snapshot(tenant_id))

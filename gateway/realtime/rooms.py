"""Room names, in one place so the namespaces that join rooms and the forwarder that emits to them
cannot disagree."""

from __future__ import annotations


def tenant_room(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def agent_room(user_id: str) -> str:
    return f"agent:{user_id}"


def conversation_room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def visitor_room(tenant_id: str, visitor_id: str) -> str:
    return f"visitor:{tenant_id}:{visitor_id}"

"""What a visitor may see of an event. Only public events have a visitor form, and only the types
listed here: anything else (a new event type, an internal note, message metadata, agent ids) stays
with the tenant's staff until someone decides otherwise by adding it here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.events.bus import DomainEvent

VISIBLE_MESSAGE_FIELDS = ("id", "client_id", "kind", "author_type", "body_text", "body_html", "created_at")


VISIBLE_ATTACHMENT_FIELDS = ("id", "filename", "content_type", "size")


def visitor_message(message: dict[str, Any]) -> dict[str, Any]:
    """A message as its customer sees it: no author ids, no metadata but its files (which still
    need their signed links, gateway/widget/links.py)."""
    visible = {name: message.get(name) for name in VISIBLE_MESSAGE_FIELDS}
    files = (message.get("meta") or {}).get("attachments") or []
    visible["attachments"] = [{name: f.get(name) for name in VISIBLE_ATTACHMENT_FIELDS} for f in files]
    return visible


def _message_created(data: dict[str, Any]) -> dict[str, Any] | None:
    message = data.get("message") or {}
    if message.get("kind") == "note":  # never, even if someone marks one public by mistake
        return None
    return {"conversation_id": data.get("conversation_id"), "message": visitor_message(message)}


def _task_position(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in ("conversation_id", "position", "queue_length", "estimated_wait_seconds")}


def _typing(data: dict[str, Any]) -> dict[str, Any] | None:
    if data.get("author_type") != "agent":  # visitors hear agents type, not themselves
        return None
    return {"conversation_id": data.get("conversation_id"), "typing": bool(data.get("typing"))}


def first_name(name: str | None) -> str:
    """How a customer is told who helps them: the agent's first name, never their account."""
    return (name or "").strip().split(" ")[0]


def _agent_joined(data: dict[str, Any]) -> dict[str, Any]:
    return {"conversation_id": data.get("conversation_id"), "agent_name": first_name(data.get("agent_name"))}


def _conversation_status(data: dict[str, Any]) -> dict[str, Any]:
    # The conversation record is the staff's (assignee, queue, attributes...): only its status goes out.
    return {"conversation_id": data.get("id"), "status": data.get("status")}


def _receipt(data: dict[str, Any]) -> dict[str, Any] | None:
    if data.get("by") != "agent":  # the visitor knows what they read themselves
        return None
    return {name: data.get(name) for name in ("conversation_id", "message_id", "status")}


def _call_state(data: dict[str, Any]) -> dict[str, Any]:
    return {"conversation_id": data.get("conversation_id"), "call_id": data.get("call_id")}


def _call_ended(data: dict[str, Any]) -> dict[str, Any]:
    return {**_call_state(data), "seconds": data.get("seconds")}  # not the reason: it may name the agent's side


def _cobrowse_requested(data: dict[str, Any]) -> dict[str, Any]:
    return {"conversation_id": data.get("conversation_id"), "session_id": data.get("session_id"),
            "agent_name": first_name(data.get("agent_name"))}


def _cobrowse_stopped(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in ("conversation_id", "session_id", "by")}


_PUBLIC_FORMS: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "message.created": _message_created,
    "task.position": _task_position,
    "conversation.typing": _typing,
    "conversation.receipt": _receipt,
    "task.accepted": _agent_joined,
    "conversation.updated": _conversation_status,
    "call.held": _call_state,
    "call.resumed": _call_state,
    "call.ended": _call_ended,
    "cobrowse.requested": _cobrowse_requested,
    "cobrowse.stopped": _cobrowse_stopped,
}
# Staff events (not marked public) whose visitor form above tells only what the customer may know.
_STAFF_EVENTS_WITH_PUBLIC_FORM = frozenset({"task.accepted", "conversation.updated", "call.held", "call.resumed", "call.ended",
                                            "cobrowse.requested", "cobrowse.stopped"})


def visitor_payload(event: DomainEvent) -> dict[str, Any] | None:
    """The event's payload as a visitor receives it, or None when visitors don't get it."""
    if event.conversation_id is None:
        return None
    if event.audience != "public" and event.type not in _STAFF_EVENTS_WITH_PUBLIC_FORM:
        return None
    form = _PUBLIC_FORMS.get(event.type)
    return form(event.data) if form else None

"""The names of the domain events the gateway records: what a tenant can subscribe a webhook to.

Whoever adds a `record_event(conn, "new.type", ...)` adds the name here too, so tenants can choose
it; webhooks with an empty list receive every event, including ones added later.
"""

from __future__ import annotations

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "agent.presence_changed",
        # calls (channels/voice)
        "call.started",
        "call.answered",
        "call.held",
        "call.resumed",
        "call.recording_paused",
        "call.recording_resumed",
        "call.ended",
        "call.transferred",
        "call.consult_started",
        "call.consult_answered",
        "call.consult_ended",
        "callback.requested",
        "callback.dialling",
        "callback.attempted",
        "callback.completed",
        "callback.failed",
        "callback.expired",
        # co-browsing (gateway/cobrowse.py)
        "cobrowse.requested",
        "cobrowse.started",
        "cobrowse.declined",
        "cobrowse.stopped",
        "cobrowse.control_requested",
        "cobrowse.control_granted",
        "cobrowse.control_declined",
        "cobrowse.control_ended",
        "supervision.started",
        "supervision.mode_changed",
        "supervision.ended",
        "contact.created",
        "contact.merged",
        "contact.updated",
        "conversation.created",
        "conversation.updated",
        "conversation.rated",
        "message.created",
        "member.added",
        "member.removed",
        "member.updated",
        "mail.sent",
        "mail.failed",
        "message.delivery_failed",
        "task.queued",
        # routing: one per transition of a task (gateway/routing/service.py)
        "task.offered",
        "task.accepted",
        "task.rejected",
        "task.offer_timed_out",
        "task.requeued",
        "task.wrapup",
        "task.done",
        "task.cancelled",
        "task.abandoned",
        "task.timed_out",
        "task.queue_closed",
        "task.max_wait_reached",
        "task.overflowed",
        "task.skills_changed",
        "task.wrapup_coded",
        "tenant.routing_updated",
        "tenant.widget_updated",
    }
)


def unknown_event_types(names: list[str]) -> list[str]:
    return sorted(set(names) - EVENT_TYPES)

"""Conversations, messages and tasks: the core's verbs that every channel and the API use."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.html import sanitise_html
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import DomainEvent, ephemeral_event, record_event
from gateway.routing.model import ACTIVE_STATES
from gateway.storage.files import StoredFile

MessageKind = Literal["message", "note", "system"]
AuthorType = Literal["contact", "agent", "system"]
MAX_BODY_CHARS = 100_000


def conversation_json(row: Any, contact_name: str = "") -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "channel": row.channel,
        "status": row.status,
        "subject": row.subject,
        "contact": {"id": row.contact_id, "name": contact_name},
        "queue_id": row.queue_id,
        "assignee_id": row.assignee_id,
        "attributes": row.attributes,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "last_message_at": row.last_message_at.isoformat() if row.last_message_at else None,
    }


def message_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "client_id": row.client_id,
        "kind": row.kind,
        "author_type": row.author_type,
        "author_id": row.author_id,
        "body_text": row.body_text,
        "body_html": row.body_html,
        "meta": row.meta,
        "created_at": row.created_at.isoformat(),
    }


async def open_conversation(
    conn: AsyncConnection,
    tenant_id: str,
    contact_id: str,
    channel: str,
    *,
    subject: str = "",
    queue_id: str | None = None,
    attributes: dict[str, Any] | None = None,
    actor: str | None = None,
) -> tuple[str, DomainEvent]:
    now = utcnow()
    conversation_id = new_id()
    await conn.execute(
        sa.insert(t.conversations).values(
            id=conversation_id,
            tenant_id=tenant_id,
            contact_id=contact_id,
            channel=channel,
            status="open",
            subject=subject[:500],
            queue_id=queue_id,
            attributes=attributes or {},
            created_at=now,
            updated_at=now,
        )
    )
    row = (await conn.execute(sa.select(t.conversations).where(t.conversations.c.id == conversation_id))).one()
    event = await record_event(
        conn, "conversation.created", tenant_id, conversation_json(row), conversation_id=conversation_id, actor=actor
    )
    return conversation_id, event


@dataclass(frozen=True)
class AttachedFile:
    """A stored file a message carries. content_id: how the message's HTML refers to it (an
    email's inline image, `cid:...`)."""

    file: StoredFile
    filename: str
    content_type: str
    content_id: str | None = None
    inline: bool = False
    # Chosen by the channel when its message must name the file (a fax's pages, in order).
    id: str | None = None


@dataclass(frozen=True)
class Appended:
    message: dict[str, Any]
    created: bool  # False: this client_id was already stored; `message` is the stored one
    events: list[DomainEvent]


# Statements run for every chat line are built once, with parameters: building one per call (and
# its cache key) costs SQLAlchemy more than SQLite takes to run it. A note is not the
# conversation's last message.
_STAMP_NOTE = sa.update(t.conversations).where(t.conversations.c.id == sa.bindparam("conversation")).values(
    updated_at=sa.bindparam("now"))
_STAMP_MESSAGE = _STAMP_NOTE.values(last_message_at=sa.bindparam("now"))


async def append_message(
    conn: AsyncConnection,
    tenant_id: str,
    conversation_id: str,
    *,
    kind: MessageKind,
    author_type: AuthorType,
    author_id: str | None,
    body_text: str,
    body_html: str | None = None,
    client_id: str | None = None,
    meta: dict[str, Any] | None = None,
    files: Sequence[AttachedFile] = (),
) -> Appended:
    """Store a message once per client_id (a retried send returns the first copy), with the
    stored files it carries listed in meta["attachments"]."""
    now = utcnow()
    attachments = [_attachment_meta(f) for f in files]
    if attachments:
        meta = {**(meta or {}), "attachments": attachments}
        if body_html:  # inline images point at their stored copies, not at parts of a mail
            body_html = _link_inline_images(body_html, files, attachments)
    values = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "client_id": client_id,
        "kind": kind,
        "author_type": author_type,
        "author_id": author_id,
        "body_text": body_text.replace("\r\n", "\n")[:MAX_BODY_CHARS],  # forms send CRLF; one line ending for everyone
        "body_html": sanitise_html(body_html) if body_html else None,
        "meta": meta or {},
        "created_at": now,
    }
    if client_id is None:
        await conn.execute(sa.insert(t.messages).values(**values))
        inserted = True
    else:
        inserted = await insert_ignoring_conflicts(conn, t.messages, values, ["conversation_id", "client_id"])
    if not inserted:
        row = (
            await conn.execute(
                sa.select(t.messages).where(t.messages.c.conversation_id == conversation_id, t.messages.c.client_id == client_id)
            )
        ).one()
        return Appended(message_json(row), False, [])
    await conn.execute(_STAMP_NOTE if kind == "note" else _STAMP_MESSAGE, {"conversation": conversation_id, "now": now})
    for attached, listed in zip(files, attachments):
        await conn.execute(sa.insert(t.attachments).values(
            id=listed["id"], filename=listed["filename"], content_type=listed["content_type"], size=listed["size"],
            tenant_id=tenant_id, conversation_id=conversation_id, message_id=values["id"],
            sha256=attached.file.sha256, storage_key=attached.file.key, created_at=now,
        ))
    message = message_json(SimpleNamespace(**values))  # what was stored, without reading it back
    event = await record_event(
        conn,
        "message.created",
        tenant_id,
        {"conversation_id": conversation_id, "message": message},
        conversation_id=conversation_id,
        actor=f"{author_type}:{author_id}" if author_id else author_type,
        # Notes are for staff; everything else in the conversation is the customer's too.
        audience="internal" if kind == "note" else "public",
    )
    return Appended(message, True, [event])


async def append_files(
    conn: AsyncConnection,
    tenant_id: str,
    conversation_id: str,
    files: Sequence[AttachedFile],
    *,
    kind: MessageKind,
    author_type: AuthorType,
    author_id: str | None,
    body_text: str = "",
    client_id: str | None = None,
) -> Appended:
    """One message carrying stored files, listed in the order given (once per client_id, like any
    message): on an email or fax conversation that is one mail or fax with all of them."""
    if not files:
        raise ValueError("a message of files needs at least one file")
    return await append_message(conn, tenant_id, conversation_id, kind=kind, author_type=author_type, author_id=author_id,
                                body_text=body_text, client_id=client_id, files=files)


async def append_file(
    conn: AsyncConnection,
    tenant_id: str,
    conversation_id: str,
    file: StoredFile,
    *,
    filename: str,
    content_type: str,
    kind: MessageKind,
    author_type: AuthorType,
    author_id: str | None,
    body_text: str = "",
    client_id: str | None = None,
) -> Appended:
    """A message carrying one stored file."""
    return await append_files(conn, tenant_id, conversation_id, [AttachedFile(file, filename, content_type)], kind=kind,
                              author_type=author_type, author_id=author_id, body_text=body_text, client_id=client_id)


def _attachment_meta(attached: AttachedFile) -> dict[str, Any]:
    # What the outside world names and types a file is bounded by the columns that keep it.
    listed = {"id": attached.id or new_id(), "filename": attached.filename[:255], "content_type": attached.content_type[:128],
              "size": attached.file.size}
    if attached.inline:
        listed["inline"] = True
    return listed


def _link_inline_images(html: str, files: Sequence[AttachedFile], attachments: list[dict[str, Any]]) -> str:
    for attached, listed in zip(files, attachments):
        if attached.content_id:  # cid:part1 must not also rewrite cid:part10
            html = re.sub(rf"cid:{re.escape(attached.content_id)}(?=[\"'\s>)]|$)", f"/api/v1/attachments/{listed['id']}", html,
                          flags=re.IGNORECASE)
    return html


DeliveryStatus = Literal["queued", "retrying", "sent", "failed"]


async def mark_delivery(conn: AsyncConnection, tenant_id: str, message_id: str, status: DeliveryStatus, *, error: str | None = None,
                        actor: str) -> DomainEvent | None:
    """How an agent's message fared on its way out to the customer (a mail, later a fax or SMS),
    kept on the message (meta.delivery) for the inbox to show; a failure is also recorded as
    message.delivery_failed. None when the message is gone."""
    m = t.messages
    # Locked (on PostgreSQL; SQLite's writers queue anyway): the worker marking "sent" and a bounce
    # marking "failed" at once must not each write back a meta without the other's change.
    row = (await conn.execute(sa.select(m.c.meta, m.c.conversation_id).where(m.c.id == message_id, m.c.tenant_id == tenant_id)
                              .with_for_update())).first()
    if row is None:
        return None
    delivery: dict[str, Any] = {"status": status, "at": utcnow().isoformat()}
    if error:
        delivery["error"] = error[:500]
    await conn.execute(sa.update(m).where(m.c.id == message_id).values(meta={**row.meta, "delivery": delivery}))
    data = {"conversation_id": row.conversation_id, "message_id": message_id, "delivery": delivery}
    if status == "failed":
        return await record_event(conn, "message.delivery_failed", tenant_id, {**data, "error": delivery.get("error", "")},
                                  conversation_id=row.conversation_id, actor=actor)
    return ephemeral_event("message.delivery_updated", tenant_id, data, conversation_id=row.conversation_id)


async def close_conversation(conn: AsyncConnection, tenant_id: str, conversation_id: str, *, actor: str) -> DomainEvent:
    """Closed and nobody's: work that never started (a call that could not be placed), a chat the
    visitor left while waiting, work a supervisor closed."""
    c = t.conversations
    await conn.execute(sa.update(c).where(c.c.id == conversation_id, c.c.tenant_id == tenant_id).values(
        status="closed", assignee_id=None, updated_at=utcnow()))
    row = (await conn.execute(sa.select(c, t.contacts.c.name.label("contact_name")).join(t.contacts, t.contacts.c.id == c.c.contact_id)
                              .where(c.c.id == conversation_id))).one()
    return await record_event(conn, "conversation.updated", tenant_id, conversation_json(row, row.contact_name),
                              conversation_id=conversation_id, actor=actor)


async def reopen_conversation(conn: AsyncConnection, tenant_id: str, conversation_id: str, *, actor: str) -> DomainEvent | None:
    """Open a closed conversation again (the customer wrote in it); None if it was not closed."""
    c = t.conversations
    changed = await conn.execute(sa.update(c).where(c.c.id == conversation_id, c.c.tenant_id == tenant_id, c.c.status == "closed")
                                 .values(status="open", updated_at=utcnow()))
    if changed.rowcount == 0:
        return None
    row = (await conn.execute(sa.select(c, t.contacts.c.name.label("contact_name")).join(t.contacts, t.contacts.c.id == c.c.contact_id)
                              .where(c.c.id == conversation_id))).one()
    return await record_event(conn, "conversation.updated", tenant_id, conversation_json(row, row.contact_name),
                              conversation_id=conversation_id, actor=actor)


_OPEN_WORK = sa.select(t.tasks.c.id).where(
    t.tasks.c.tenant_id == sa.bindparam("tenant"), t.tasks.c.conversation_id == sa.bindparam("conversation"),
    t.tasks.c.state.in_(ACTIVE_STATES)).limit(1)


async def has_open_work(conn: AsyncConnection, tenant_id: str, conversation_id: str) -> bool:
    """Whether a task for this conversation waits or is being handled."""
    return (await conn.execute(_OPEN_WORK, {"tenant": tenant_id, "conversation": conversation_id})).first() is not None


async def default_queue(conn: AsyncConnection, tenant_id: str) -> str:
    """Where work goes when the channel names no queue: the tenant's first queue, made (as
    "General") if the tenant has none yet, so every task waits in some queue."""
    found = (
        await conn.execute(sa.select(t.queues.c.id).where(t.queues.c.tenant_id == tenant_id).order_by(t.queues.c.id).limit(1))
    ).scalar_one_or_none()
    if found:
        return found
    await insert_ignoring_conflicts(
        conn, t.queues, {"id": new_id(), "tenant_id": tenant_id, "name": "General", "settings": {}, "created_at": utcnow()},
        ["tenant_id", "name"],
    )
    return (await conn.execute(sa.select(t.queues.c.id).where(t.queues.c.tenant_id == tenant_id, t.queues.c.name == "General"))).scalar_one()


async def enqueue_task(
    conn: AsyncConnection,
    tenant_id: str,
    conversation_id: str,
    channel: str,
    *,
    queue_id: str | None = None,
    priority: int = 0,
    required_skills: dict[str, int] | None = None,
    sla_seconds: int | None = None,
    enqueued_at: datetime | None = None,
    not_before: datetime | None = None,
) -> tuple[str, list[DomainEvent]]:
    """Create a queued task for a conversation. The preferred agent is the last one who served
    this contact. Routing picks queued tasks up from the task.queued event. `enqueued_at`: an
    earlier place in line the work keeps (a callback keeps its caller's); `not_before`: it is not
    offered before then (routing wakes it)."""
    now = utcnow()
    task_id = new_id()
    contact_id, vip_tier, conversation_queue = (
        await conn.execute(
            sa.select(t.conversations.c.contact_id, t.contacts.c.vip_tier, t.conversations.c.queue_id)
            .join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
            .where(t.conversations.c.id == conversation_id)
        )
    ).one()
    # The channel's choice, else the conversation's queue (e.g. the widget's department picker).
    queue_id = queue_id or conversation_queue
    # The queue's settings fill in what the channel left open.
    settings = None
    if queue_id:
        settings = (
            await conn.execute(sa.select(t.queues.c.settings).where(t.queues.c.id == queue_id, t.queues.c.tenant_id == tenant_id))
        ).scalar_one_or_none()
    if settings is None:  # none named, or deleted since it was chosen: the work must still wait somewhere
        queue_id = await default_queue(conn, tenant_id)
        settings = (await conn.execute(sa.select(t.queues.c.settings).where(t.queues.c.id == queue_id))).scalar_one()
    priority = max(priority, int(settings.get("default_priority", 0)))
    required_skills = settings.get("required_skills") if required_skills is None else required_skills
    if sla_seconds is None:
        sla_seconds = (settings.get("sla_by_channel") or {}).get(channel) or settings.get("sla_seconds")
    # A VIP contact's tier raises the priority (0-9) the channel or queue asked for.
    priority = max(0, min(9, priority + vip_tier))
    preferred = (
        await conn.execute(
            sa.select(t.conversations.c.assignee_id)
            .where(
                t.conversations.c.tenant_id == tenant_id,
                t.conversations.c.contact_id == contact_id,
                t.conversations.c.assignee_id.is_not(None),
            )
            .order_by(t.conversations.c.updated_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    await conn.execute(
        sa.insert(t.tasks).values(
            id=task_id,
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            channel=channel,
            queue_id=queue_id,
            priority=priority,
            required_skills=required_skills or {},
            preferred_agent_id=preferred,
            state="queued",
            sla_seconds=sla_seconds,
            created_at=now,
            enqueued_at=enqueued_at or now,
            updated_at=now,
            not_before=not_before if not_before is not None and not_before > now else None,
        )
    )
    await conn.execute(
        sa.insert(t.task_events).values(tenant_id=tenant_id, task_id=task_id, type="queued", data={}, created_at=now)
    )
    event = await record_event(
        conn,
        "task.queued",
        tenant_id,
        {"task_id": task_id, "channel": channel, "queue_id": queue_id, "priority": priority},
        conversation_id=conversation_id,
    )
    return task_id, [event]


async def agents_own_task(
    conn: AsyncConnection, tenant_id: str, conversation_id: str, channel: str, agent_id: str
) -> tuple[str, list[DomainEvent]]:
    """A task the agent takes up themselves (a call they place): assigned to them from the start,
    in the tenant's default queue, the conversation theirs. Routing is told with its `assign`,
    which refuses it when the agent has no room (RoutingService.assign then cancels it)."""
    now, task_id = utcnow(), new_id()
    queue_id = await default_queue(conn, tenant_id)
    await conn.execute(sa.insert(t.tasks).values(
        id=task_id, tenant_id=tenant_id, conversation_id=conversation_id, channel=channel, queue_id=queue_id, priority=0,
        required_skills={}, assigned_agent_id=agent_id, state="assigned", created_at=now, enqueued_at=now, updated_at=now))
    await conn.execute(sa.insert(t.task_events).values(
        tenant_id=tenant_id, task_id=task_id, type="accepted", agent_id=agent_id, data={"own": True}, created_at=now))
    await conn.execute(sa.update(t.conversations).where(t.conversations.c.id == conversation_id).values(
        assignee_id=agent_id, updated_at=now))
    accepted = await record_event(conn, "task.accepted", tenant_id, {
        "task_id": task_id, "conversation_id": conversation_id, "channel": channel, "queue_id": queue_id,
        "agent_id": agent_id, "state": "assigned", "own": True}, conversation_id=conversation_id)
    conversation = (await conn.execute(
        sa.select(t.conversations, t.contacts.c.name.label("contact_name")).join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
        .where(t.conversations.c.id == conversation_id))).one()
    updated = await record_event(conn, "conversation.updated", tenant_id, conversation_json(conversation, conversation.contact_name),
                                 conversation_id=conversation_id)
    return task_id, [accepted, updated]

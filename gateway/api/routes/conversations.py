"""Conversations across every channel, their messages and internal notes — the inbox's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Page, PageQuery, decode_cursor, page_of
from gateway.api.registry import ApiRegistry, Call
from gateway.auth.principal import CONVERSATIONS_READ, CONVERSATIONS_WRITE, Principal
from gateway.core.conversations import append_message, conversation_json, mark_delivery, message_json, open_conversation
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.events.bus import record_event
from gateway.keys import CHANNELS, DB, EVENTS, MAIL
from gateway.mail.outbox import requeue_failed

Status = Literal["open", "pending", "closed"]
CHANNEL_NAME = r"^[a-z][a-z0-9_]{0,31}$"


class ContactRef(BaseModel):
    id: str
    name: str


class ConversationOut(BaseModel):
    id: str
    tenant_id: str
    channel: str
    status: str
    subject: str
    contact: ContactRef
    queue_id: str | None
    assignee_id: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    client_id: str | None
    kind: str
    author_type: str
    author_id: str | None
    body_text: str
    body_html: str | None
    meta: dict[str, Any]
    created_at: datetime


class ConversationQuery(PageQuery):
    tenant_id: str | None = None
    channel: str | None = Field(None, pattern=CHANNEL_NAME)
    status: Status | None = None
    assignee: str | None = Field(None, description="'me', 'none' or a user id")
    contact_id: str | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="text in the subject or any message")


class ConversationCreate(Input):
    tenant_id: str
    contact_id: str
    channel: str = Field(pattern=CHANNEL_NAME)
    subject: str = Field("", max_length=500)
    queue_id: str | None = None


class ConversationUpdate(Input):
    status: Status | None = None
    subject: str | None = Field(None, max_length=500)
    # An explicit null unassigns; leaving the field out changes nothing.
    assignee_id: str | None = None


class MessageQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["message", "note", "system"] | None = None


class MessageCreate(Input):
    body_text: str = Field(min_length=1, max_length=100_000)
    kind: Literal["message", "note"] = "message"
    client_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conversation_out(row: Any) -> ConversationOut:
    return ConversationOut.model_validate(conversation_json(row, row.contact_name))


def select_conversations(principal: Principal, permission: str) -> sa.Select:
    return (
        sa.select(t.conversations, t.contacts.c.name.label("contact_name"))
        .join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
        .where(principal.tenant_filter(t.conversations.c.tenant_id, permission))
    )


async def load_conversation(conn: AsyncConnection, principal: Principal, conversation_id: str, permission: str) -> Any:
    """The conversation if the caller may act on it; 404 when it does not exist or is another
    tenant's, 403 when it is theirs but the role does not allow `permission`."""
    row = (
        await conn.execute(
            select_conversations(principal, CONVERSATIONS_READ).where(t.conversations.c.id == conversation_id)
        )
    ).first()
    if row is None:
        raise not_found("conversation")
    principal.require(row.tenant_id, permission, "conversation")
    return row


async def _check_member(conn: AsyncConnection, tenant_id: str, user_id: str) -> None:
    found = (
        await conn.execute(
            sa.select(t.memberships.c.id).where(t.memberships.c.tenant_id == tenant_id, t.memberships.c.user_id == user_id)
        )
    ).first()
    if found is None:
        raise ApiError(422, "unknown_assignee", "the assignee must be a member of the conversation's tenant")


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/conversations", summary="Conversations of every channel, most recently active first",
               tag="conversations", query=ConversationQuery, response=Page[ConversationOut])
    async def list_conversations(call: Call) -> BaseModel:
        query: ConversationQuery = call.query
        c = t.conversations.c
        stmt = select_conversations(call.user, CONVERSATIONS_READ)
        if query.tenant_id:
            stmt = stmt.where(c.tenant_id == query.tenant_id)
        if query.channel:
            stmt = stmt.where(c.channel == query.channel)
        if query.status:
            stmt = stmt.where(c.status == query.status)
        if query.assignee == "me":
            stmt = stmt.where(c.assignee_id == call.user.user_id)
        elif query.assignee == "none":
            stmt = stmt.where(c.assignee_id.is_(None))
        elif query.assignee:
            stmt = stmt.where(c.assignee_id == query.assignee)
        if query.contact_id:
            stmt = stmt.where(c.contact_id == query.contact_id)
        if query.q:
            pattern = like_pattern(query.q)
            in_messages = sa.exists().where(t.messages.c.conversation_id == c.id, t.messages.c.body_text.ilike(pattern, escape="\\"))
            stmt = stmt.where(sa.or_(c.subject.ilike(pattern, escape="\\"), in_messages))
        if query.cursor:
            updated, last_id = decode_cursor(query.cursor, 2)
            try:
                updated_at = datetime.fromisoformat(updated)
            except (TypeError, ValueError):
                raise ApiError(400, "invalid_cursor", "the cursor is not one this API gave out") from None
            stmt = stmt.where(sa.or_(c.updated_at < updated_at, sa.and_(c.updated_at == updated_at, c.id < last_id)))
        stmt = stmt.order_by(c.updated_at.desc(), c.id.desc()).limit(query.limit + 1)
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return page_of(ConversationOut, rows, query.limit, conversation_out, key=lambda c: (c.updated_at.isoformat(), c.id))

    @api.route("POST", "/conversations", summary="Start a conversation with a contact (e.g. an outbound e-mail)",
               tag="conversations", body=ConversationCreate, response=ConversationOut, status=201, errors=(404,))
    async def create_conversation(call: Call) -> ConversationOut:
        body: ConversationCreate = call.body
        call.user.require(body.tenant_id, CONVERSATIONS_WRITE, "tenant")
        async with call.app[DB].begin() as conn:
            contact = (await conn.execute(sa.select(t.contacts.c.id).where(
                t.contacts.c.id == body.contact_id, t.contacts.c.tenant_id == body.tenant_id))).first()
            if contact is None:
                raise not_found("contact")
            if body.queue_id and (await conn.execute(sa.select(t.queues.c.id).where(
                    t.queues.c.id == body.queue_id, t.queues.c.tenant_id == body.tenant_id))).first() is None:
                raise not_found("queue")
            conversation_id, event = await open_conversation(
                conn, body.tenant_id, body.contact_id, body.channel, subject=body.subject, queue_id=body.queue_id,
                actor=call.user.actor,
            )
            row = await load_conversation(conn, call.user, conversation_id, CONVERSATIONS_READ)
        await call.app[EVENTS].publish(event)
        return conversation_out(row)

    @api.route("GET", "/conversations/{conversation_id}", summary="One conversation", tag="conversations",
               response=ConversationOut, errors=(404,))
    async def get_conversation(call: Call) -> ConversationOut:
        async with call.app[DB].connect() as conn:
            return conversation_out(await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_READ))

    @api.route("PATCH", "/conversations/{conversation_id}", summary="Change status, subject or assignee",
               tag="conversations", body=ConversationUpdate, response=ConversationOut, errors=(404,))
    async def update_conversation(call: Call) -> ConversationOut:
        body: ConversationUpdate = call.body
        changes = body.model_dump(exclude_unset=True)
        async with call.app[DB].begin() as conn:
            row = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_WRITE)
            if changes.get("assignee_id"):
                await _check_member(conn, row.tenant_id, changes["assignee_id"])
            event = None
            if changes:
                await conn.execute(sa.update(t.conversations).where(t.conversations.c.id == row.id).values(**changes, updated_at=utcnow()))
                row = await load_conversation(conn, call.user, row.id, CONVERSATIONS_READ)
                event = await record_event(
                    conn, "conversation.updated", row.tenant_id, conversation_json(row, row.contact_name),
                    conversation_id=row.id, actor=call.user.actor,
                )
        if event:
            await call.app[EVENTS].publish(event)
        return conversation_out(row)

    @api.route("POST", "/conversations/{conversation_id}/messages/{message_id}/retry",
               summary="Send a reply that could not be delivered once more (after fixing what was wrong)",
               tag="conversations", response=MessageOut, errors=(404, 409))
    async def retry_reply(call: Call) -> MessageOut:
        m = t.messages
        async with call.app[DB].begin() as conn:
            conversation = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_WRITE)
            message = (await conn.execute(sa.select(m).where(
                m.c.id == call.path("message_id"), m.c.conversation_id == conversation.id, m.c.tenant_id == conversation.tenant_id,
                m.c.kind == "message", m.c.author_type == "agent"))).first()
            if message is None:
                raise not_found("reply")
            if (message.meta.get("delivery") or {}).get("status") != "failed":
                raise ApiError(409, "not_failed", "only a reply that could not be delivered can be sent again")
            requeued = await requeue_failed(conn, conversation.tenant_id, message.id)
            event = await mark_delivery(conn, conversation.tenant_id, message.id, "queued", actor=call.user.actor) if requeued else None
            message = (await conn.execute(sa.select(m).where(m.c.id == message.id))).one()
        if requeued:
            await call.app[EVENTS].publish(*([event] if event else []))
            call.app[MAIL].wake()
        else:  # it failed before reaching the outbox (no SMTP server set up...): the channel tries again
            call.app[CHANNELS].redeliver(conversation.tenant_id, conversation.id, message_json(message))
        return MessageOut.model_validate(message._asdict())

    @api.route("GET", "/conversations/{conversation_id}/messages", summary="Messages and notes, oldest first",
               tag="conversations", query=MessageQuery, response=Page[MessageOut], errors=(404,))
    async def list_messages(call: Call) -> BaseModel:
        query: MessageQuery = call.query
        m = t.messages.c
        async with call.app[DB].connect() as conn:
            row = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_READ)
            stmt = sa.select(t.messages).where(m.conversation_id == row.id, m.tenant_id == row.tenant_id)
            if query.kind:
                stmt = stmt.where(m.kind == query.kind)
            if query.cursor:
                stmt = stmt.where(m.id > decode_cursor(query.cursor, 1)[0])
            rows = (await conn.execute(stmt.order_by(m.id).limit(query.limit + 1))).all()
        return page_of(MessageOut, rows, query.limit, lambda r: MessageOut.model_validate(r._asdict()))

    @api.route("POST", "/conversations/{conversation_id}/messages",
               summary="Reply to the customer or add an internal note; a repeated client_id is stored once",
               tag="conversations", body=MessageCreate, response=MessageOut, status=201, errors=(404, 409))
    async def post_message(call: Call) -> web.StreamResponse:
        body: MessageCreate = call.body
        async with call.app[DB].begin() as conn:
            row = await load_conversation(conn, call.user, call.path("conversation_id"), CONVERSATIONS_WRITE)
            if row.status == "closed" and body.kind == "message":
                raise ApiError(409, "conversation_closed", "reopen the conversation before replying")
            appended = await append_message(
                conn, row.tenant_id, row.id, kind=body.kind,
                author_type="agent" if call.user.user_id else "system",
                author_id=call.user.user_id or call.user.token_id,
                body_text=body.body_text, client_id=body.client_id,
            )
        await call.app[EVENTS].publish(*appended.events)
        out = MessageOut.model_validate(appended.message)
        # 201 the first time; 200 with the stored message when a retry repeats the client_id.
        return web.json_response(text=out.model_dump_json(), status=201 if appended.created else 200)

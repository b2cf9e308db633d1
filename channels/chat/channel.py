"""The chat channel: a visitor starts a chat from the widget, writes, sees the history, and
agents' replies reach the widget live (the realtime forwarder pushes every public message of the
conversation to the visitor's rooms, so `deliver` has nothing to send).

Visitor events (on /visitor, after the namespace's widget key, origin and rate checks):
  availability {} -> {ok, open, agents_available}: live chat, or the offline form?
  start_chat   {client_id, text, name?, email?, fields?} -> {ok, conversation_id, message}
               The visitor's open chat is continued if there is one; otherwise a new conversation
               is opened. Work is queued unless some already waits or is being handled.
  send_message {conversation_id, client_id, text} -> {ok, message}
               Stored once per client_id: a resend after a lost ack returns the first copy.
  leave_message {client_id, text, name?, email?} -> {ok, conversation_id, message}
               The offline form: a conversation of its own, queued as work like any other.
  history      {conversation_id, before?} -> {ok, messages}   (no internal notes)
  typing       {conversation_id, typing} -> {ok}              (live to the agents on it)
  rate         {conversation_id, score 1-5, comment?} -> {ok} (CSAT, conversation.rated)

The contact is the host site's signed-in user when the widget passed a signed user id (checked
when the socket connected), else the browser's visitor id. The e-mail a visitor types is kept with
the conversation, not as an identity of the contact: anybody can type anybody's address, so it
never joins them to that person's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.channel import Channel, ChannelContext, OutboundMessage, VisitorCall, VisitorHandler
from gateway.config import ChannelConfig
from gateway.events.bus import ephemeral_event
from gateway.realtime.payloads import Ack, Typing, error, ok, parse
from gateway.realtime.visibility import VISIBLE_MESSAGE_FIELDS

from channels.chat.payloads import MAX_EVENT_BYTES, History, LeaveMessage, Rate, SendMessage, StartChat

class ChatChannel(Channel):
    name = "chat"

    def __init__(self, settings: ChannelConfig) -> None:
        self.settings = settings
        self._ctx: ChannelContext | None = None

    @property
    def ctx(self) -> ChannelContext:
        assert self._ctx is not None, "the chat channel is not started"
        return self._ctx

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx

    async def stop(self) -> None:
        self._ctx = None

    async def deliver(self, reply: OutboundMessage) -> None:
        """Nothing to send: the visitor's socket hears the message as it is recorded."""

    def visitor_events(self) -> Mapping[str, VisitorHandler]:
        return {"availability": self.availability, "start_chat": self.start_chat, "leave_message": self.leave_message,
                "send_message": self.send_message, "history": self.history, "typing": self.typing, "rate": self.rate}

    async def _serves(self, who: VisitorCall) -> bool:
        return who.tenant_id in await self.ctx.tenant_ids()

    async def _own_conversation(self, who: VisitorCall, conversation_id: str) -> dict[str, Any] | None:
        contact_id = await self.ctx.find_contact(who.tenant_id, *who.identity)
        if contact_id is None:
            return None
        return await self.ctx.conversation_of(who.tenant_id, contact_id, conversation_id)

    async def start_chat(self, who: VisitorCall, data: Any) -> Ack:
        form = parse(StartChat, data, MAX_EVENT_BYTES)
        if isinstance(form, dict):
            return form
        if not await self._serves(who):
            return error("channel_disabled", "chat is not offered here")
        contact_id = await self._contact(who, form.name)
        conversation_id = await self.ctx.open_conversation_of(who.tenant_id, contact_id)
        if conversation_id is None:
            prechat = {"name": form.name.strip(), "email": form.email.strip(), "fields": form.fields}
            conversation_id = await self.ctx.open_conversation(who.tenant_id, contact_id, attributes={"prechat": prechat})
        await who.join(conversation_id)
        return await self._say(who, conversation_id, form.client_id, form.text)

    async def _contact(self, who: VisitorCall, name: str) -> str:
        contact_id = await self.ctx.identify_contact(who.tenant_id, *who.identity, name=name.strip())
        if who.user_id:  # so this browser hears the signed-in user's conversations live, after reloads too
            await self.ctx.add_identity(who.tenant_id, contact_id, "visitor", who.visitor_id)
        return contact_id

    async def availability(self, who: VisitorCall, data: Any) -> Ack:
        if not await self._serves(who):
            return error("channel_disabled", "chat is not offered here")
        return ok(**await self.ctx.availability(who.tenant_id))

    async def leave_message(self, who: VisitorCall, data: Any) -> Ack:
        form = parse(LeaveMessage, data, MAX_EVENT_BYTES)
        if isinstance(form, dict):
            return form
        if not await self._serves(who):
            return error("channel_disabled", "chat is not offered here")
        contact_id = await self._contact(who, form.name)
        prechat = {"name": form.name.strip(), "email": form.email.strip(), "fields": {}}
        conversation_id = await self.ctx.open_conversation(who.tenant_id, contact_id, attributes={"prechat": prechat, "offline": True})
        await who.join(conversation_id)
        return await self._say(who, conversation_id, form.client_id, form.text)

    async def rate(self, who: VisitorCall, data: Any) -> Ack:
        payload = parse(Rate, data)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        rating = {"score": payload.score, "comment": payload.comment.strip()}
        await self.ctx.annotate(who.tenant_id, payload.conversation_id, "csat", rating, event="conversation.rated")
        return ok()

    async def send_message(self, who: VisitorCall, data: Any) -> Ack:
        payload = parse(SendMessage, data, MAX_EVENT_BYTES)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        return await self._say(who, payload.conversation_id, payload.client_id, payload.text)

    async def _say(self, who: VisitorCall, conversation_id: str, client_id: str, text: str) -> Ack:
        """Store the visitor's line once, and make sure someone will answer it."""
        ctx = self.ctx
        appended = await ctx.append(who.tenant_id, conversation_id, body_text=text, author_type="contact", client_id=client_id)
        if not await ctx.has_open_work(who.tenant_id, conversation_id):
            await ctx.enqueue_task(who.tenant_id, conversation_id)
        return ok(conversation_id=conversation_id, message=_public(appended.message))

    async def history(self, who: VisitorCall, data: Any) -> Ack:
        payload = parse(History, data)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        await who.join(payload.conversation_id)
        messages = await self.ctx.messages(who.tenant_id, payload.conversation_id, before=payload.before)
        return ok(messages=[_public(m) for m in messages])

    async def typing(self, who: VisitorCall, data: Any) -> Ack:
        payload = parse(Typing, data)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        await self.ctx.live(ephemeral_event(
            "conversation.typing", who.tenant_id,
            {"conversation_id": payload.conversation_id, "author_type": "contact", "typing": payload.typing},
            conversation_id=payload.conversation_id, audience="internal"))
        return ok()


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the visitor sees it (the same form the forwarder pushes)."""
    return {name: message.get(name) for name in VISIBLE_MESSAGE_FIELDS}

"""The chat channel: a visitor starts a chat from the widget, writes, sees the history, and
agents' replies reach the widget live (the realtime forwarder pushes every public message of the
conversation to the visitor's rooms, so `deliver` has nothing to send).

Visitor events (on /visitor, after the namespace's widget key, origin and rate checks):
  availability {} -> {ok, open, agents_available}: live chat, or the offline form?
  start_chat   {client_id, text, name?, email?, fields?, attributes?} -> {ok, conversation_id, message}
               The visitor's open chat is continued if there is one; otherwise the pre-chat form is
               checked against the tenant's widget settings (a department may pick the queue) and a
               new conversation is opened. Work is queued unless some already waits or is handled.
  resume       {} -> {ok, conversation: {id, status, agent_name} | null, messages, has_more, receipts}
               After a reload or on another page of the site: the open chat to go on with.
  send_message {conversation_id, client_id, text} -> {ok, message}
               Stored once per client_id: a resend after a lost ack returns the first copy.
  leave_message {client_id, text, name?, email?, attributes?} -> {ok, conversation_id, message}
               The offline form: a conversation of its own, queued as work like any other.
  history      {conversation_id, before?} -> {ok, messages, has_more, receipts}   (no internal notes;
               a page of the latest 50 before `before`; has_more: older ones exist)
  typing       {conversation_id, typing} -> {ok}              (live to the agents on it)
  receipt      {conversation_id, message_id, status: delivered|read} -> {ok}  (the agents see ticks)
  set_attributes {attributes} -> {ok, conversation_id}        (the host page's JS API)
  upload_ticket {conversation_id} -> {ok, url, token, expires_at, max_bytes, allowed_types}
               then POST the file to url (a path on the gateway), see gateway/api/routes/widget_files.py
  transcript   {conversation_id, email} -> {ok}               (mailed by the mail worker; when [mail] is set up)
  rate         {conversation_id, score 1-5, comment?} -> {ok} (CSAT, conversation.rated)
  end_chat     {conversation_id} -> {ok, status: closed | left}   the visitor ends it: waiting, the work is
               abandoned and the conversation closed; with an agent, they are told the customer left
The visitor also hears task.position (place in line), task.accepted (who joined, first name),
conversation.updated (status only: "closed" ends the chat) and the agents' conversation.receipt.

The contact is the host site's signed-in user when the widget passed a signed user id (checked
when the socket connected), else the browser's visitor id. The e-mail a visitor types is kept with
the conversation, not as an identity of the contact: anybody can type anybody's address, so it
never joins them to that person's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.channel import Channel, ChannelContext, MailRefused, OutboundMessage, VisitorCall, VisitorHandler
from gateway.config import ChannelConfig
from gateway.core import receipts
from gateway.events.bus import ephemeral_event
from gateway.realtime.payloads import Ack, ConversationRef, Empty, Receipt, Typing, error, ok, parse
from gateway.realtime.visibility import first_name, visitor_message
from gateway.widget.links import UPLOADS_PATH, upload_ticket, with_links
from gateway.widget.settings import PrechatRefused, WidgetSettings, check_prechat, looks_like_email

from channels.chat.payloads import (
    MAX_CUSTOM_ATTRIBUTES, MAX_EVENT_BYTES, EndChat, History, LeaveMessage, Rate, SendMessage, SetAttributes, StartChat, Transcript,
)
from channels.chat.transcript import render_transcript
from gateway.routing.engine import RoutingConflict

# Per conversation and hour: enough for a typo, too few to mail-bomb someone through us.
TRANSCRIPTS_PER_HOUR = 3
HISTORY_PAGE = 50  # messages per page of history (and of resume)
MAX_TRANSCRIPT_MESSAGES = 2000


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
                "resume": self.resume, "send_message": self.send_message, "history": self.history, "typing": self.typing,
                "receipt": self.receipt, "set_attributes": self.set_attributes, "upload_ticket": self.upload_ticket,
                "transcript": self.transcript, "rate": self.rate, "end_chat": self.end_chat}

    async def _serves(self, who: VisitorCall) -> bool:
        return who.tenant_id in await self.ctx.tenant_ids()

    async def _own_conversation(self, who: VisitorCall, conversation_id: str) -> dict[str, Any] | None:
        return await self.ctx.conversation_of_identity(who.tenant_id, *who.identity, conversation_id)

    async def start_chat(self, who: VisitorCall, data: Any) -> Ack:
        form = parse(StartChat, data, MAX_EVENT_BYTES)
        if isinstance(form, dict):
            return form
        if not await self._serves(who):
            return error("channel_disabled", "chat is not offered here")
        widget = WidgetSettings.of(await self.ctx.tenant_settings(who.tenant_id))
        contact_id = await self._contact(who, form.name)
        conversation_id = await self.ctx.open_conversation_of(who.tenant_id, contact_id)
        if conversation_id is None:
            try:
                queue_id = check_prechat(widget.prechat, form.name, form.email, form.fields)
            except PrechatRefused as exc:
                return error("invalid_form", str(exc))
            prechat = {"name": form.name.strip(), "email": form.email.strip(), "fields": form.fields}
            conversation_id = await self.ctx.open_conversation(
                who.tenant_id, contact_id, queue_id=queue_id, attributes={"prechat": prechat, "custom": form.attributes})
        elif form.attributes:
            await self._add_attributes(who, conversation_id, form.attributes)
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
        widget = WidgetSettings.of(await self.ctx.tenant_settings(who.tenant_id))
        try:  # the offline form asks for the same name and e-mail as the pre-chat form
            check_prechat(widget.prechat, form.name, form.email, {})
        except PrechatRefused as exc:
            return error("invalid_form", str(exc))
        contact_id = await self._contact(who, form.name)
        # A resend after a lost acknowledgement finds the conversation the first send opened.
        conversation_id = await self.ctx.conversation_of_client_message(who.tenant_id, contact_id, form.client_id)
        if conversation_id is None:
            prechat = {"name": form.name.strip(), "email": form.email.strip(), "fields": {}}
            conversation_id = await self.ctx.open_conversation(
                who.tenant_id, contact_id, attributes={"prechat": prechat, "custom": form.attributes, "offline": True})
        await who.join(conversation_id)
        return await self._say(who, conversation_id, form.client_id, form.text)

    async def resume(self, who: VisitorCall, data: Any) -> Ack:
        """After a reload or on another page: the visitor's chat that is still open, to go on with."""
        payload = parse(Empty, data)
        if isinstance(payload, dict):
            return payload
        contact_id = await self.ctx.find_contact(who.tenant_id, *who.identity)
        conversation_id = await self.ctx.open_conversation_of(who.tenant_id, contact_id) if contact_id else None
        if conversation_id is None:
            return ok(conversation=None, messages=[], has_more=False, receipts=receipts.marks(None, "agent"))
        conversation = await self.ctx.conversation_of(who.tenant_id, contact_id, conversation_id)  # type: ignore[arg-type]
        assert conversation is not None
        await who.join(conversation_id)
        messages, has_more = await self._page(who, conversation_id)
        agent_name = first_name(await self.ctx.agent_name(conversation["assignee_id"]))
        return ok(conversation={"id": conversation_id, "status": conversation["status"], "agent_name": agent_name},
                  messages=await self._visible(who, messages), has_more=has_more,
                  receipts=receipts.marks(conversation["attributes"], "agent"))

    async def set_attributes(self, who: VisitorCall, data: Any) -> Ack:
        """The host page's facts about its visitor (JS API): kept on the open chat, if any; the
        widget sends them again with the next start_chat."""
        payload = parse(SetAttributes, data)
        if isinstance(payload, dict):
            return payload
        contact_id = await self.ctx.find_contact(who.tenant_id, *who.identity)
        conversation_id = await self.ctx.open_conversation_of(who.tenant_id, contact_id) if contact_id else None
        if conversation_id is not None:
            await self._add_attributes(who, conversation_id, payload.attributes)
        return ok(conversation_id=conversation_id)

    async def _add_attributes(self, who: VisitorCall, conversation_id: str, attributes: dict[str, str]) -> None:
        contact_id = await self.ctx.find_contact(who.tenant_id, *who.identity)
        conversation = await self.ctx.conversation_of(who.tenant_id, contact_id, conversation_id) if contact_id else None
        if conversation is None:
            return
        merged = {**(conversation["attributes"].get("custom") or {}), **attributes}
        if len(merged) > MAX_CUSTOM_ATTRIBUTES:
            merged = dict(list(merged.items())[-MAX_CUSTOM_ATTRIBUTES:])  # the newest win
        await self.ctx.annotate(who.tenant_id, conversation_id, "custom", merged)

    async def receipt(self, who: VisitorCall, data: Any) -> Ack:
        payload = parse(Receipt, data)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        try:
            await self.ctx.receipt(who.tenant_id, payload.conversation_id, "contact", payload.message_id, payload.status)
        except receipts.UnknownMessage:
            return error("not_found", "message not found in this conversation")
        return ok()

    async def end_chat(self, who: VisitorCall, data: Any) -> Ack:
        """The visitor ends the chat. Still waiting for an agent: the work is abandoned (so counted
        in reports) and the conversation closed. With an agent: they are told the customer left, and
        finish it themselves (wrap-up, notes)."""
        payload = parse(EndChat, data)
        if isinstance(payload, dict):
            return payload
        conversation = await self._own_conversation(who, payload.conversation_id)
        if conversation is None:
            return error("not_found", "conversation not found")
        if conversation["status"] == "closed":
            return ok(status="closed")
        task = await self.ctx.open_task(who.tenant_id, payload.conversation_id)
        waiting = task is None or task[1] in ("queued", "offered")
        if waiting and task is not None:
            try:
                await self.ctx.cancel_task(task[0], "abandoned")
            except RoutingConflict:
                waiting = False  # an agent took it that very moment: they are told instead
        if waiting:
            async with self.ctx.unit() as unit:
                await unit.close_conversation(who.tenant_id, payload.conversation_id)
            return ok(status="closed")
        await self.ctx.append(who.tenant_id, payload.conversation_id, body_text="The customer left the chat.",
                              author_type="system", kind="system", meta={"customer_left": True})
        return ok(status="left")

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
        appended = await self.ctx.append(who.tenant_id, conversation_id, body_text=text, author_type="contact", client_id=client_id,
                                         queue_when_idle=True)
        return ok(conversation_id=conversation_id, message=(await self._visible(who, [appended.message]))[0])

    async def _visible(self, who: VisitorCall, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Messages as the visitor sees them (the form the forwarder pushes), files with their links."""
        secret = None
        visible = []
        for message in map(visitor_message, messages):
            if message["attachments"]:
                secret = secret or await self.ctx.widget_secret(who.tenant_id)
                message = with_links(message, secret)
            visible.append(message)
        return visible

    async def upload_ticket(self, who: VisitorCall, data: Any) -> Ack:
        """Leave to send files into the visitor's chat over HTTP for a few minutes (sockets are
        no place for megabytes): POST them with the token to the returned url."""
        payload = parse(ConversationRef, data)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        if not WidgetSettings.of(await self.ctx.tenant_settings(who.tenant_id)).features.attachments:
            return error("attachments_disabled", "this site does not accept files in chat")
        token, expires = upload_ticket(await self.ctx.widget_secret(who.tenant_id), payload.conversation_id)
        limits = self.ctx.upload_limits
        return ok(url=UPLOADS_PATH, token=token, expires_at=expires, max_bytes=limits.max_bytes, allowed_types=limits.allowed_types)

    async def transcript(self, who: VisitorCall, data: Any) -> Ack:
        """Mails the visitor what was said so far (queued and retried by the mail worker)."""
        payload = parse(Transcript, data)
        if isinstance(payload, dict):
            return payload
        if await self._own_conversation(who, payload.conversation_id) is None:
            return error("not_found", "conversation not found")
        widget = WidgetSettings.of(await self.ctx.tenant_settings(who.tenant_id))
        if not widget.features.transcript:
            return error("transcript_disabled", "this site does not send chat transcripts")
        if not looks_like_email(payload.email):
            return error("invalid", "that e-mail address does not look right")
        messages: list[dict[str, Any]] = []
        while len(messages) < MAX_TRANSCRIPT_MESSAGES:
            page = await self.ctx.messages(who.tenant_id, payload.conversation_id, before=messages[0]["id"] if messages else None)
            messages = page + messages
            if len(page) < 50:
                break
        agent_ids = {m["author_id"] for m in messages if m["author_type"] == "agent" and m.get("author_id")}
        names = {agent_id: await self.ctx.agent_name(agent_id) for agent_id in agent_ids}
        business = await self.ctx.tenant_profile(who.tenant_id)
        subject, body = render_transcript(business["name"], business["timezone"], messages, names)
        try:
            await self.ctx.send_mail(who.tenant_id, payload.conversation_id, kind="transcript", to_address=payload.email.strip(),
                                     subject=subject, body_text=body, max_per_hour=TRANSCRIPTS_PER_HOUR)
        except MailRefused as exc:
            return error(exc.code, str(exc))
        return ok()

    async def history(self, who: VisitorCall, data: Any) -> Ack:
        payload = parse(History, data)
        if isinstance(payload, dict):
            return payload
        conversation = await self._own_conversation(who, payload.conversation_id)
        if conversation is None:
            return error("not_found", "conversation not found")
        await who.join(payload.conversation_id)
        messages, has_more = await self._page(who, payload.conversation_id, payload.before)
        return ok(messages=await self._visible(who, messages), has_more=has_more,
                  receipts=receipts.marks(conversation["attributes"], "agent"))

    async def _page(self, who: VisitorCall, conversation_id: str, before: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """A page of the conversation's latest messages (before `before`), oldest first, and
        whether there are older ones: one more is asked for than is given."""
        messages = await self.ctx.messages(who.tenant_id, conversation_id, before=before, limit=HISTORY_PAGE + 1)
        return messages[-HISTORY_PAGE:], len(messages) > HISTORY_PAGE

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

"""The email channel: the mail intake (gateway/mail) hands it every mail no more specific channel
claimed, and store.py turns each into a conversation, message and task; agents' replies go back
out as mail (reply.py)."""

from __future__ import annotations

from gateway.channel import Channel, ChannelContext, OutboundMessage
from gateway.config import ChannelConfig
from gateway.mail.mailboxes import Mailbox, MailConsumer
from gateway.mail.parse import ParsedEmail

from channels.email.reply import queue_reply
from channels.email.store import store_email


class EmailConsumer(MailConsumer):
    priority = 0  # takes whatever a more specific channel (fax) did not

    def __init__(self, ctx: ChannelContext) -> None:
        self._ctx = ctx

    async def claims(self, mailbox: Mailbox, parsed: ParsedEmail) -> bool:
        return await self._ctx.serves(mailbox.tenant_id)

    async def store(self, mailbox: Mailbox, raw: bytes, parsed: ParsedEmail, *, uid: int | None) -> None:
        await store_email(self._ctx, mailbox, raw, parsed, uid=uid)


class EmailChannel(Channel):
    name = "email"
    tracks_delivery = True

    def __init__(self, settings: ChannelConfig) -> None:
        if settings.model_extra:
            raise ValueError(f"unknown settings {sorted(settings.model_extra)}; mail intake is set up in [mailboxes]")
        self._consumer: EmailConsumer | None = None
        self._ctx: ChannelContext | None = None

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        self._consumer = EmailConsumer(ctx)

    async def stop(self) -> None:
        pass  # intake is the core's (gateway/mail/intake.py) and stops before the channels

    def mail_consumer(self) -> MailConsumer | None:
        return self._consumer

    async def deliver(self, reply: OutboundMessage) -> None:
        assert self._ctx is not None
        await queue_reply(self._ctx, reply)

"""The fax channel: of the mail the mail intake reads (gateway/mail), it claims what a mailbox's
fax rules say is a fax from a fax-to-email service (profiles.py) — before the email channel
sees it — and store.py turns each fax into a conversation with its pages; agents' replies go
back as faxes (reply.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from gateway.channel import Channel, ChannelContext, OutboundMessage
from gateway.config import ChannelConfig
from gateway.db import schema as t
from gateway.mail.mailboxes import Mailbox, MailConsumer
from gateway.mail.parse import ParsedEmail

from channels.fax.profiles import FaxFacts, FaxRule, match_fax, validate_rule
from channels.fax.reply import queue_fax_reply
from channels.fax.store import store_fax

_RULE_FIELDS = frozenset(FaxRule.__dataclass_fields__)


class FaxConsumer(MailConsumer):
    priority = 10  # asked before the email channel, which takes everything

    def __init__(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        self._matched: tuple[ParsedEmail, tuple[FaxFacts, dict[str, Any]] | None] | None = None

    async def _match(self, mailbox: Mailbox, parsed: ParsedEmail) -> tuple[FaxFacts, dict[str, Any]] | None:
        async with self._ctx.unit() as unit:
            rules = (await unit.conn.execute(sa.select(t.mailboxes.c.fax_rules).where(
                t.mailboxes.c.id == mailbox.id, t.mailboxes.c.tenant_id == mailbox.tenant_id))).scalar_one_or_none()
        if not rules:
            return None
        # Tenants' regexes: vetted when saved, but still CPU work off the event loop.
        return await asyncio.get_running_loop().run_in_executor(None, _first_match, parsed, rules)

    async def claims(self, mailbox: Mailbox, parsed: ParsedEmail) -> bool:
        if not await self._ctx.serves(mailbox.tenant_id):
            return False
        self._matched = (parsed, await self._match(mailbox, parsed))  # store() follows at once: match once
        return self._matched[1] is not None

    async def store(self, mailbox: Mailbox, raw: bytes, parsed: ParsedEmail, *, uid: int | None) -> None:
        matched = self._matched[1] if self._matched and self._matched[0] is parsed else await self._match(mailbox, parsed)
        self._matched = None
        assert matched is not None  # claimed a moment ago
        await store_fax(self._ctx, mailbox, raw, parsed, *matched, uid=uid)


def _first_match(parsed: ParsedEmail, rules: list[dict[str, Any]]) -> tuple[FaxFacts, dict[str, Any]] | None:
    for rule in rules:
        facts = match_fax(parsed, FaxRule(**{k: v for k, v in rule.items() if k in _RULE_FIELDS}))
        if facts is not None:
            return facts, rule
    return None


class FaxChannel(Channel):
    name = "fax"
    tracks_delivery = True

    def __init__(self, settings: ChannelConfig) -> None:
        if settings.model_extra:
            raise ValueError(f"unknown settings {sorted(settings.model_extra)}; fax rules are set per mailbox")
        self._consumer: FaxConsumer | None = None
        self._ctx: ChannelContext | None = None

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        self._consumer = FaxConsumer(ctx)

    async def stop(self) -> None:
        pass  # intake is the core's and stops before the channels

    def mail_consumer(self) -> MailConsumer | None:
        return self._consumer

    def mailbox_problems(self, mailbox: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = []
        for i, rule in enumerate(mailbox.get("fax_rules") or []):
            for problem in validate_rule(FaxRule(**{k: v for k, v in rule.items() if k in _RULE_FIELDS})):
                field, _, words = problem.partition(": ")
                problems.append((f"fax_rules.{i}.{field}", words))
        return problems

    async def deliver(self, reply: OutboundMessage) -> None:
        assert self._ctx is not None
        await queue_fax_reply(self._ctx, reply)

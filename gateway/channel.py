"""The channel interface and registry: how `channels/*` adapters plug into the core.

A channel turns its protocol into the core's three verbs — identify the contact, append to a
conversation, enqueue a task — through the ChannelContext it is given, and turns an agent's reply
back into its protocol in `deliver`. The core knows channels only through this module: which ones
run comes from config (`[channels.NAME] enabled = true`), never from code naming them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth.middleware import load_user_principal
from gateway.auth.principal import Principal
from gateway.config import ChannelConfig, Config, ConfigError, UploadConfig
from gateway.core import contacts, conversations, receipts
from gateway.core.identities import normalise_identity
from gateway.core.tenant_settings import read_settings
from gateway.db import schema as t
from gateway.events.bus import DomainEvent, record_event
from gateway.forwarding import Forwarding
from gateway.keys import CHANNELS, CONFIG, DB, EVENTS, FILES, LIMITER, MAIL, MEDIA, REDIS, ROUTING
from gateway.mail.mailboxes import MailConsumer
from gateway.media.service import MediaEvent, MediaService
from gateway.mail.outbox import queue_mail
from gateway.ops import channel_health
from gateway.db.schema import first_id_at, utcnow
from gateway.routing.hours import is_open
from gateway.routing.model import ACTIVE_STATES
from gateway.routing.queues import QueueSettings, opening_hours
from gateway.storage.files import StoredFile

log = logging.getLogger(__name__)

# A reply younger than this may still be on its way to its channel in the process that stored it.
_HAND_OVER_GRACE = timedelta(seconds=30)
# How far back a restarted gateway looks for replies that never reached their channel.
_LOST_REPLY_HORIZON = timedelta(days=7)
_LOST_REPLY_SWEEP_SECONDS = 60


@dataclass(frozen=True)
class OutboundMessage:
    """An agent's reply for a channel to send out."""

    tenant_id: str
    conversation_id: str
    contact_id: str
    message: dict[str, Any]


def visitor_identity(visitor_id: str, user_id: str | None) -> tuple[str, str]:
    """What a widget's visitor is known by: the site's signed user id, else the browser's id."""
    return ("external", user_id) if user_id else ("visitor", visitor_id)


@dataclass(frozen=True)
class VisitorCall:
    """Who sent a visitor socket event that a channel handles: the widget's tenant and visitor
    id (already checked: widget key, allowed origin, rate limit), and a way to put this socket
    in a conversation's room so it hears that conversation live."""

    tenant_id: str
    visitor_id: str
    user_id: str | None  # the host site's logged-in user, signature checked
    ip: str
    join: Callable[[str], Awaitable[None]]

    @property
    def identity(self) -> tuple[str, str]:
        return visitor_identity(self.visitor_id, self.user_id)


async def _no_rooms_from_afar(conversation_id: str) -> None:
    """VisitorCall.join for an event forwarded from another process: the visitor's socket is
    there, so no room can be entered for it here. An event about something already held (the
    only kind forwarded) has joined its room when it began."""
    raise RuntimeError("a forwarded visitor event cannot put the visitor's socket in a room")


# (who, payload) -> the ack {"ok": true, ...} or {"ok": false, "code", "message"}
VisitorHandler = Callable[[VisitorCall, Any], Awaitable[dict[str, Any]]]
# Events the /visitor namespace handles itself.
CORE_VISITOR_EVENTS = frozenset({"connect", "disconnect", "ping", "cobrowse_consent", "cobrowse_code", "cobrowse_resume",
                                 "cobrowse_grant", "cobrowse_batch", "cobrowse_stop"})


@dataclass(frozen=True)
class AgentCall:
    """Who sent an /agent socket event that a channel handles: a logged-in agent, their session
    checked afresh for this event. The channel checks what the agent may do with its own data
    (the call is theirs, the task assigned to them)."""

    user_id: str
    principal: Principal
    sid: str


# (who, payload) -> the ack
AgentHandler = Callable[[AgentCall, Any], Awaitable[dict[str, Any]]]
# Events the /agent namespace handles itself (gateway/realtime/agent.py, its on_* methods).
CORE_AGENT_EVENTS = frozenset({
    "connect", "disconnect", "join_conversation", "leave_conversation", "receipt", "presence", "typing", "transfer_task",
    "accept_task", "reject_task", "wrapup_task", "complete_task", "cobrowse_request", "cobrowse_claim", "cobrowse_join",
    "cobrowse_pointer", "cobrowse_control", "cobrowse_action", "cobrowse_stop"})


class MailRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# A conversation and whom an identity belongs to, in one query: the check before each event a
# customer sends. Built once (it runs for every chat line): see gateway/core/conversations.py.
_CONVERSATION_WITH_IDENTITY = (
    sa.select(t.conversations, t.contact_identities.c.contact_id.label("identity_contact_id"))
    .select_from(t.conversations.join(t.contact_identities, sa.and_(
        t.contact_identities.c.tenant_id == sa.bindparam("tenant"),
        t.contact_identities.c.kind == sa.bindparam("kind"),
        t.contact_identities.c.value == sa.bindparam("value"),
    )))
    .where(t.conversations.c.id == sa.bindparam("conversation"), t.conversations.c.tenant_id == sa.bindparam("tenant"),
           t.conversations.c.channel == sa.bindparam("channel"))
)


class ChannelUnit:
    """The core's verbs on one open transaction (see ChannelContext.unit). `conn` is there for
    the channel's own tables (an email's Message-ID, a call's legs); `events` collects what the
    verbs recorded, published after commit."""

    def __init__(self, conn: AsyncConnection, channel: str) -> None:
        self.conn = conn
        self.channel = channel
        self.events: list[DomainEvent] = []

    @property
    def actor(self) -> str:
        return f"channel:{self.channel}"

    async def identify_contact(self, tenant_id: str, kind: str, value: str, *, name: str = "") -> str:
        found = await contacts.identify_contact(self.conn, tenant_id, kind, value, name=name)
        self.events += found.events
        return found.contact_id

    async def open_conversation(self, tenant_id: str, contact_id: str, *, subject: str = "", queue_id: str | None = None,
                                attributes: dict[str, Any] | None = None) -> str:
        if queue_id and (await self.conn.execute(sa.select(t.queues.c.id).where(
                t.queues.c.id == queue_id, t.queues.c.tenant_id == tenant_id))).first() is None:
            queue_id = None  # deleted since a channel's settings named it: the tenant's default queue takes the work
        conversation_id, event = await conversations.open_conversation(
            self.conn, tenant_id, contact_id, self.channel, subject=subject, queue_id=queue_id, attributes=attributes,
            actor=self.actor,
        )
        self.events.append(event)
        return conversation_id

    async def reopen(self, tenant_id: str, conversation_id: str) -> bool:
        """A closed conversation the customer writes in again is open again; True if it was closed."""
        event = await conversations.reopen_conversation(self.conn, tenant_id, conversation_id, actor=self.actor)
        if event is not None:
            self.events.append(event)
        return event is not None

    async def append(self, tenant_id: str, conversation_id: str, *, body_text: str, body_html: str | None = None,
                     author_type: conversations.AuthorType = "contact", author_id: str | None = None,
                     client_id: str | None = None, kind: conversations.MessageKind = "message",
                     meta: dict[str, Any] | None = None, files: Sequence[conversations.AttachedFile] = (),
                     queue_when_idle: bool = False) -> conversations.Appended:
        appended = await conversations.append_message(
            self.conn, tenant_id, conversation_id, kind=kind, author_type=author_type, author_id=author_id,
            body_text=body_text, body_html=body_html, client_id=client_id, meta=meta, files=files,
        )
        self.events += appended.events
        # A resent line was queued for, if need be, when it was first stored.
        if queue_when_idle and appended.created and not await conversations.has_open_work(self.conn, tenant_id, conversation_id):
            self.events += (await conversations.enqueue_task(self.conn, tenant_id, conversation_id, self.channel))[1]
        return appended

    async def enqueue_task(self, tenant_id: str, conversation_id: str, *, queue_id: str | None = None, priority: int = 0,
                           required_skills: dict[str, int] | None = None, sla_seconds: int | None = None,
                           kind: str | None = None, enqueued_at: datetime | None = None,
                           not_before: datetime | None = None) -> str:
        """A task for the conversation; `kind`: work of another routing channel than this one's
        (a callback on a call's conversation); `enqueued_at`, `not_before`: see conversations.enqueue_task."""
        task_id, events = await conversations.enqueue_task(
            self.conn, tenant_id, conversation_id, kind or self.channel, queue_id=queue_id, priority=priority,
            required_skills=required_skills, sla_seconds=sla_seconds, enqueued_at=enqueued_at, not_before=not_before,
        )
        self.events += events
        return task_id

    async def agents_own_task(self, tenant_id: str, conversation_id: str, agent_id: str) -> str:
        """A task the agent takes up themselves (see conversations.agents_own_task); then ChannelContext.assign_task."""
        task_id, events = await conversations.agents_own_task(self.conn, tenant_id, conversation_id, self.channel, agent_id)
        self.events += events
        return task_id

    async def close_conversation(self, tenant_id: str, conversation_id: str) -> None:
        """Closed and nobody's (work that never started, such as a call that could not be placed)."""
        self.events.append(await conversations.close_conversation(self.conn, tenant_id, conversation_id, actor=self.actor))

    async def set_attributes(self, tenant_id: str, conversation_id: str, values: dict[str, Any]) -> None:
        """Keys of the conversation's attributes set (what the inbox shows of a call or callback)."""
        row = (await self.conn.execute(sa.select(t.conversations.c.attributes).where(
            t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id).with_for_update())).one()
        await self.conn.execute(sa.update(t.conversations).where(t.conversations.c.id == conversation_id).values(
            attributes={**row.attributes, **values}, updated_at=utcnow()))

    async def mark_delivery(self, tenant_id: str, message_id: str, status: conversations.DeliveryStatus, *,
                            error: str | None = None) -> None:
        """How an agent's message fared on its way out (see conversations.mark_delivery)."""
        event = await conversations.mark_delivery(self.conn, tenant_id, message_id, status, error=error, actor=self.actor)
        if event is not None:
            self.events.append(event)

    async def record(self, type_: str, tenant_id: str, data: dict[str, Any], *, conversation_id: str | None = None) -> None:
        """Record a domain event of the channel's own (listed in gateway/events/types.py)."""
        self.events.append(await record_event(self.conn, type_, tenant_id, data, conversation_id=conversation_id, actor=self.actor))


class ChannelContext:
    """What the core offers a running channel. Each verb commits its own transaction and
    publishes the resulting events, so a channel never touches realtime or webhooks."""

    def __init__(self, app: web.Application, name: str, settings: ChannelConfig) -> None:
        self._app = app
        self.name = name
        self.settings = settings

    async def _publish(self, events: list[DomainEvent]) -> None:
        await self._app[EVENTS].publish(*events)

    async def serves(self, tenant_id: str) -> bool:
        """Whether this channel runs for the tenant (config `tenants`, empty: all of them)."""
        if not self.settings.tenants:
            return True
        async with self._app[DB].connect() as conn:
            slug = (await conn.execute(sa.select(t.tenants.c.slug).where(t.tenants.c.id == tenant_id))).scalar_one_or_none()
        return slug in self.settings.tenants

    async def tenant_ids(self) -> list[str]:
        """The active tenants this channel serves (all, when the config lists none)."""
        stmt = sa.select(t.tenants.c.id).where(t.tenants.c.status == "active")
        if self.settings.tenants:
            stmt = stmt.where(t.tenants.c.slug.in_(self.settings.tenants))
        async with self._app[DB].connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def within_limits(self, budgets: list[tuple[str, int, int]]) -> int | None:
        """A hit on each (key, limit, window_seconds) budget (the gateway's rate limiter, shared by
        its processes); None when all allow it, else the seconds until the refusing one resets."""
        refused = next((d for d in await self._app[LIMITER].hit_all(budgets) if not d.allowed), None)
        return None if refused is None else refused.retry_after

    async def budget_spent(self, key: str, limit: int) -> bool:
        """Whether a within_limits budget is used up, without counting a hit."""
        return not (await self._app[LIMITER].peek(key, limit)).allowed

    async def report_health(self, items: list[channel_health.HealthItem], *, valid_seconds: int) -> None:
        """How the channel's links to the outside are doing, for the operator (gateway/ops/channel_health.py)."""
        await channel_health.report(self._app[REDIS], self.name, items, valid_seconds=valid_seconds)

    async def tenant_id_of(self, slug: str) -> str | None:
        """The active tenant with this slug, when this channel serves it (a SIP number's tenant)."""
        if self.settings.tenants and slug not in self.settings.tenants:
            return None
        stmt = sa.select(t.tenants.c.id).where(t.tenants.c.slug == slug, t.tenants.c.status == "active")
        async with self._app[DB].connect() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[ChannelUnit]:
        """One transaction of the core's verbs: everything in it is stored together or not at
        all, and its events are published once it has committed."""
        async with self._app[DB].begin() as conn:
            unit = ChannelUnit(conn, self.name)
            yield unit
        await self._publish(unit.events)

    async def identify_contact(self, tenant_id: str, kind: str, value: str, *, name: str = "") -> str:
        async with self.unit() as unit:
            return await unit.identify_contact(tenant_id, kind, value, name=name)

    async def open_conversation(self, tenant_id: str, contact_id: str, *, subject: str = "", queue_id: str | None = None,
                                attributes: dict[str, Any] | None = None) -> str:
        async with self.unit() as unit:
            return await unit.open_conversation(tenant_id, contact_id, subject=subject, queue_id=queue_id, attributes=attributes)

    async def append(self, tenant_id: str, conversation_id: str, *, body_text: str, body_html: str | None = None,
                     author_type: conversations.AuthorType = "contact", author_id: str | None = None,
                     client_id: str | None = None, kind: conversations.MessageKind = "message",
                     meta: dict[str, Any] | None = None, queue_when_idle: bool = False) -> conversations.Appended:
        """Stores a message once per client_id. queue_when_idle: and makes sure someone will
        answer it — work is queued unless some already waits or is being handled (checked in the
        same transaction, so two lines at once queue one task)."""
        async with self.unit() as unit:
            return await unit.append(tenant_id, conversation_id, body_text=body_text, body_html=body_html,
                                     author_type=author_type, author_id=author_id, client_id=client_id, kind=kind, meta=meta,
                                     queue_when_idle=queue_when_idle)

    async def enqueue_task(self, tenant_id: str, conversation_id: str, *, queue_id: str | None = None, priority: int = 0,
                           required_skills: dict[str, int] | None = None, sla_seconds: int | None = None) -> str:
        async with self.unit() as unit:
            return await unit.enqueue_task(tenant_id, conversation_id, queue_id=queue_id, priority=priority,
                                           required_skills=required_skills, sla_seconds=sla_seconds)

    async def store_file(self, tenant_id: str, data: bytes) -> StoredFile:
        """Keep a file the customer sent (an email's attachment, a fax page), durably, before the
        message that carries it is stored."""
        async def chunks() -> AsyncIterator[bytes]:
            yield data
        return await self._app[FILES].save(tenant_id, chunks(), max(len(data), 1))

    async def store_file_from(self, tenant_id: str, path: Path) -> StoredFile:
        """Keep a file the channel wrote itself (a call's recording), read in chunks: it can be
        large. The file at `path` is left for the caller to remove."""
        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as source:
                while chunk := await asyncio.to_thread(source.read, 1 << 20):
                    yield chunk
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        return await self._app[FILES].save(tenant_id, chunks(), max(size, 1))

    @property
    def media(self) -> MediaService:
        """The media layer (legs, bridging, recording, hold audio), for channels with `uses_media`."""
        return self._app[MEDIA]

    def ice_servers(self) -> list[dict[str, str]]:
        """The STUN and TURN servers browsers use for calls (RTCIceServer dictionaries)."""
        media = self._app[CONFIG].media
        servers: list[dict[str, str]] = [{"urls": url} for url in media.stun_servers]
        servers += [{"urls": turn.url, "username": turn.username, "credential": turn.credential.get_secret_value()}
                    for turn in media.turn_servers]
        return servers

    @property
    def data_dir(self) -> Path:
        return self._app[CONFIG].data_dir

    async def cancel_task(self, task_id: str, reason: Literal["abandoned", "cancelled"]) -> None:
        """End waiting work the customer gave up on (abandoned: counted as such in reports)."""
        await self._app[ROUTING].cancel(task_id, reason)

    async def open_task(self, tenant_id: str, conversation_id: str) -> tuple[str, str] | None:
        """(id, state) of the conversation's task that waits or is being handled, if one is."""
        async with self._app[DB].connect() as conn:
            row = (await conn.execute(sa.select(t.tasks.c.id, t.tasks.c.state).where(
                t.tasks.c.tenant_id == tenant_id, t.tasks.c.conversation_id == conversation_id,
                t.tasks.c.state.in_(ACTIVE_STATES)).limit(1))).first()
        return None if row is None else (row.id, row.state)

    async def task_holder(self, tenant_id: str, task_id: str) -> tuple[str, str | None] | None:
        """(state, the agent it is assigned to) of one of the tenant's tasks; None if there is none."""
        async with self._app[DB].connect() as conn:
            row = (await conn.execute(sa.select(t.tasks.c.state, t.tasks.c.assigned_agent_id).where(
                t.tasks.c.id == task_id, t.tasks.c.tenant_id == tenant_id))).first()
        return None if row is None else (row.state, row.assigned_agent_id)

    async def transfer_task(self, task_id: str, user_id: str, *, queue_id: str | None = None, agent_id: str | None = None,
                            note: str = "") -> None:
        """Hand work the agent holds to a queue or a colleague (keeping its place); raises
        RoutingConflict (with a code) when it can't be."""
        await self._app[ROUTING].transfer(task_id, user_id, queue_id=queue_id, agent_id=agent_id, note=note)

    async def hold(self, key: str) -> None:
        """This process holds `key` (a call): agents' events about it are run here. Call again
        at least every minute while it lasts (a process that dies stops being named)."""
        forwarding = self._app[CHANNELS].forwarding
        if forwarding is not None:
            try:
                await forwarding.hold(key)
            except Exception:  # Redis away: the object still works from this process's own sockets
                log.warning("could not register what this process holds", exc_info=True)

    async def release(self, key: str) -> None:
        forwarding = self._app[CHANNELS].forwarding
        if forwarding is not None:
            try:
                await forwarding.release(key)
            except Exception:  # Redis away: the claim runs out by itself
                log.warning("could not release what this process held", exc_info=True)

    async def accept_task(self, task_id: str, user_id: str) -> None:
        """Accept work offered to the agent on their behalf (they took it up in the channel
        already, e.g. a colleague's call they were consulted on); raises RoutingConflict."""
        await self._app[ROUTING].accept(task_id, user_id)

    async def assign_task(self, task_id: str, user_id: str) -> None:
        """Routing takes in work the agent took up themselves (ChannelUnit.agents_own_task); raises
        RoutingConflict (the task then cancelled) when they have no room for it."""
        await self._app[ROUTING].assign(task_id, user_id)

    async def reject_task(self, task_id: str, user_id: str) -> None:
        """Turn down an offer on the agent's behalf (they declined it in the channel: on their phone)."""
        await self._app[ROUTING].reject(task_id, user_id)

    async def is_member(self, tenant_id: str, user_id: str) -> bool:
        async with self._app[DB].connect() as conn:
            return (await conn.execute(sa.select(t.memberships.c.id).where(
                t.memberships.c.tenant_id == tenant_id, t.memberships.c.user_id == user_id))).first() is not None

    async def end_live_work(self, task_id: str, user_id: str) -> None:
        """The customer's side ended (a call hung up): the agent goes on to wrap-up."""
        await self._app[ROUTING].wrapup(task_id, user_id)

    async def read_file(self, key: str) -> bytes:
        return await asyncio.to_thread(self._app[FILES].path(key).read_bytes)

    def wake_mail(self) -> None:
        """After queueing outbound mail in a unit: send it now rather than at the worker's next poll."""
        self._app[MAIL].wake()

    async def add_identity(self, tenant_id: str, contact_id: str, kind: str, value: str) -> bool:
        """Attach an identity to a contact; False when another contact has it already."""
        async with self._app[DB].begin() as conn:
            return await contacts.add_identity(conn, tenant_id, contact_id, kind, value)

    async def annotate(self, tenant_id: str, conversation_id: str, key: str, value: Any, *, event: str | None = None) -> None:
        """Keep something the customer told about the conversation (a rating...) in its
        attributes under `key`, and record `event` with it."""
        async with self._app[DB].begin() as conn:
            row = (await conn.execute(sa.select(t.conversations.c.attributes).where(
                t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id).with_for_update())).one()
            await conn.execute(sa.update(t.conversations).where(t.conversations.c.id == conversation_id).values(
                attributes={**row.attributes, key: value}, updated_at=utcnow()))
            events = [await record_event(conn, event, tenant_id, {"conversation_id": conversation_id, key: value},
                                         conversation_id=conversation_id, actor=f"channel:{self.name}")] if event else []
        await self._publish(events)

    async def receipt(self, tenant_id: str, conversation_id: str, side: receipts.Side, message_id: str,
                      status: receipts.Status) -> None:
        """`side` has received or read the conversation up to `message_id`: kept, and told live to
        the other side. Raises receipts.UnknownMessage for a message not in the conversation."""
        async with self._app[DB].begin() as conn:
            moved = await receipts.mark(conn, tenant_id, conversation_id, side, message_id, status)
        if moved is not None:
            await self._publish([receipts.receipt_event(tenant_id, conversation_id, side, message_id, status)])

    async def send_mail(self, tenant_id: str, conversation_id: str, *, kind: str, to_address: str, subject: str, body_text: str,
                        max_per_hour: int) -> str:
        """Queue a mail from the center (e.g. a transcript) to be sent and retried by the mail
        worker. Raises MailRefused when mail is not set up or this conversation had `max_per_hour`
        of this kind in the last hour (so nobody turns the widget into a mail cannon)."""
        if not self._app[CONFIG].mail.enabled:
            raise MailRefused("mail_disabled", "this center sends no mail")
        m = t.outbound_mail
        async with self._app[DB].begin() as conn:
            recent = (await conn.execute(sa.select(sa.func.count()).select_from(m).where(
                m.c.tenant_id == tenant_id, m.c.conversation_id == conversation_id, m.c.kind == kind,
                m.c.created_at > utcnow() - timedelta(hours=1)))).scalar_one()
            if recent >= max_per_hour:
                raise MailRefused("rate_limited", f"at most {max_per_hour} of these an hour; try again later")
            mail_id = await queue_mail(conn, tenant_id, kind=kind, to_address=to_address, subject=subject, body_text=body_text,
                                       conversation_id=conversation_id)
        self._app[MAIL].wake()
        return mail_id

    # ---- reads a channel needs to answer its own customers ----
    async def tenant_profile(self, tenant_id: str) -> dict[str, str]:
        """The business's name and time zone, for what the channel writes to customers."""
        async with self._app[DB].connect() as conn:
            row = (await conn.execute(sa.select(t.tenants.c.name, t.tenants.c.timezone).where(t.tenants.c.id == tenant_id))).one()
        return {"name": row.name, "timezone": row.timezone}

    async def tenant_settings(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's settings document (widget, routing...), read fresh: admins' changes apply at once."""
        async with self._app[DB].connect() as conn:
            return await read_settings(conn, tenant_id) or {}

    @property
    def upload_limits(self) -> UploadConfig:
        return self._app[CONFIG].uploads

    async def widget_secret(self, tenant_id: str) -> str:
        """The secret the tenant signs its users' ids with; links for visitors are signed with it too."""
        async with self._app[DB].connect() as conn:
            return (await conn.execute(sa.select(t.tenants.c.widget_secret).where(t.tenants.c.id == tenant_id))).scalar_one()

    async def agent_name(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        async with self._app[DB].connect() as conn:
            return (await conn.execute(sa.select(t.users.c.name).where(t.users.c.id == user_id))).scalar_one_or_none() or ""

    async def find_contact(self, tenant_id: str, kind: str, value: str) -> str | None:
        async with self._app[DB].connect() as conn:
            return await contacts.find_contact(conn, tenant_id, kind, value)

    async def conversation_of(self, tenant_id: str, contact_id: str, conversation_id: str) -> dict[str, Any] | None:
        """The conversation when it is this contact's on this channel (after merges), else None."""
        async with self._app[DB].connect() as conn:
            return await self._conversation_of(conn, tenant_id, contact_id, conversation_id)

    async def conversation_of_identity(self, tenant_id: str, kind: str, value: str, conversation_id: str) -> dict[str, Any] | None:
        """The conversation when it belongs to whoever is known by this identity, else None: the
        check before every event a customer sends about a conversation, in one round trip."""
        async with self._app[DB].connect() as conn:
            row = (await conn.execute(_CONVERSATION_WITH_IDENTITY, {
                "tenant": tenant_id, "conversation": conversation_id, "channel": self.name,
                "kind": kind, "value": normalise_identity(kind, value),
            })).first()
            if row is None:
                return None
            # Merges are rare: only when the identity's contact is not the conversation's own do
            # both sides need following to where they were merged.
            if row.identity_contact_id != row.contact_id and (
                await contacts.resolve_contact(conn, tenant_id, row.identity_contact_id)
                != await contacts.resolve_contact(conn, tenant_id, row.contact_id)
            ):
                return None
            return conversations.conversation_json(row)

    async def _conversation_of(self, conn: AsyncConnection, tenant_id: str, contact_id: str, conversation_id: str) -> dict[str, Any] | None:
        row = (await conn.execute(sa.select(t.conversations).where(
            t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id,
            t.conversations.c.channel == self.name))).first()
        if row is None or await contacts.resolve_contact(conn, tenant_id, row.contact_id) != contact_id:
            return None
        return conversations.conversation_json(row)

    async def conversation_of_client_message(self, tenant_id: str, contact_id: str, client_id: str) -> str | None:
        """The contact's conversation on this channel holding the message the client sent with
        this id, if one does: how a resent first message finds what its first send opened."""
        c, m = t.conversations, t.messages
        async with self._app[DB].connect() as conn:
            return (await conn.execute(
                sa.select(c.c.id).join(m, m.c.conversation_id == c.c.id).where(
                    c.c.tenant_id == tenant_id, c.c.contact_id == contact_id, c.c.channel == self.name, m.c.client_id == client_id)
                .limit(1))).scalar_one_or_none()

    async def open_conversation_of(self, tenant_id: str, contact_id: str) -> str | None:
        """The contact's latest conversation on this channel that is not closed."""
        async with self._app[DB].connect() as conn:
            return (await conn.execute(sa.select(t.conversations.c.id).where(
                t.conversations.c.tenant_id == tenant_id, t.conversations.c.contact_id == contact_id,
                t.conversations.c.channel == self.name, t.conversations.c.status != "closed",
            ).order_by(t.conversations.c.created_at.desc()).limit(1))).scalar_one_or_none()

    async def messages(self, tenant_id: str, conversation_id: str, *, before: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The conversation's messages the customer may see (no internal notes), oldest first;
        `before` (a message id) pages back."""
        query = sa.select(t.messages).where(
            t.messages.c.tenant_id == tenant_id, t.messages.c.conversation_id == conversation_id, t.messages.c.kind != "note")
        if before is not None:
            query = query.where(t.messages.c.id < before)
        async with self._app[DB].connect() as conn:
            rows = (await conn.execute(query.order_by(t.messages.c.id.desc()).limit(limit))).all()
        return [conversations.message_json(row) for row in reversed(rows)]

    async def availability(self, tenant_id: str) -> dict[str, bool]:
        """Whether the tenant's default queue is open now, and whether any of its agents is
        available: what a widget needs to offer a live chat or the offline form."""
        async with self._app[DB].connect() as conn:
            queue_settings = (await conn.execute(sa.select(t.queues.c.settings).where(t.queues.c.tenant_id == tenant_id)
                                                 .order_by(t.queues.c.id).limit(1))).scalar_one_or_none()
            available = (await conn.execute(
                sa.select(t.agent_states.c.user_id)
                .join(t.memberships, t.memberships.c.user_id == t.agent_states.c.user_id)
                .where(t.memberships.c.tenant_id == tenant_id, t.agent_states.c.presence == "available").limit(1))).first()
            hours = await opening_hours(conn, tenant_id, QueueSettings.model_validate(queue_settings) if queue_settings is not None else None)
        return {"open": is_open(hours, utcnow()), "agents_available": available is not None}

    async def live(self, event: DomainEvent) -> None:
        """Push a live, unrecorded update (typing...) to whoever should hear it."""
        await self._publish([event])


class Channel(abc.ABC):
    """One adapter in `channels/NAME/`; its module exposes `create_channel(settings) -> Channel`."""

    name: ClassVar[str]
    # Whether an agent's reply leaves through `deliver` and is marked with how it fared
    # (meta.delivery, see ChannelUnit.mark_delivery): one stored without a mark never reached the
    # channel, and the registry hands it over again (ChannelRegistry.recover_lost_replies).
    tracks_delivery: ClassVar[bool] = False
    # Whether the channel carries calls through the media layer (gateway/media): the gateway then
    # starts its media workers, and hands the channel the events of its calls.
    uses_media: ClassVar[bool] = False

    @abc.abstractmethod
    async def start(self, ctx: ChannelContext) -> None:
        """Begin intake (connect mailboxes, listen for SIP...). Must return once started."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop intake and release everything; called on shutdown."""

    @abc.abstractmethod
    async def deliver(self, reply: OutboundMessage) -> None:
        """Send an agent's reply out. Raise DeliveryError when it could not be sent."""

    def visitor_events(self) -> Mapping[str, VisitorHandler]:
        """Socket events this channel answers on the widget's /visitor connection (the chat's
        messages, later the call's signalling), by event name. None by default."""
        return {}

    def widget_features(self) -> Mapping[str, bool]:
        """What the channel adds to the visitor's widget (e.g. {"calls": True}), for the tenants it
        serves; the tenant's widget settings may still switch each off."""
        return {}

    def agent_events(self) -> Mapping[str, AgentHandler]:
        """Socket events this channel answers on the inbox's /agent connection (a call's
        signalling and controls), by event name. None by default."""
        return {}

    def held_object(self, data: Any) -> str | None:
        """Which object held in one gateway process (a call) an agent event is about, if any:
        the event then runs in the process that holds it (gateway/forwarding.py)."""
        return None

    def holds(self, key: str) -> bool:
        """Whether this process holds the object (see held_object and ChannelContext.hold)."""
        return False

    def mail_consumer(self) -> MailConsumer | None:
        """The channel's part in reading tenants' mailboxes (email, fax), if it takes mail."""
        return None

    async def on_media_event(self, event: MediaEvent) -> None:
        """What happened to one of this channel's calls in the media layer (a leg connected,
        failed or closed). Only channels with `uses_media` hear them."""

    async def on_event(self, event: DomainEvent) -> None:
        """Every domain event, as it is published (a caller's new place in line...); most
        channels need none. Keep it quick: it runs in the publisher's path."""

    def mailbox_problems(self, mailbox: Mapping[str, Any]) -> list[tuple[str, str]]:
        """What is wrong with a mailbox's settings in this channel's eyes (the fax channel reads
        its fax rules), as (field, problem) pairs for the admin; none by default."""
        return []


class DeliveryError(Exception):
    pass


def _load_channel(config: Config, name: str, settings: ChannelConfig) -> Channel:
    module_name = getattr(settings, "module", None) or f"channels.{name}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(config.source, f"channels.{name}", f"no channel module {module_name!r} ({exc})") from None
    factory = getattr(module, "create_channel", None)
    if factory is None:
        raise ConfigError(config.source, f"channels.{name}", f"{module_name} has no create_channel(settings)")
    try:
        channel = factory(settings)
    except (TypeError, ValueError) as exc:
        raise ConfigError(config.source, f"channels.{name}", str(exc)) from None
    if not isinstance(channel, Channel) or channel.name != name:
        raise ConfigError(config.source, f"channels.{name}", f"{module_name}.create_channel did not return the {name!r} channel")
    return channel


class ChannelRegistry:
    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.channels: dict[str, Channel] = {}
        self.visitor_handlers: dict[str, VisitorHandler] = {}
        self.agent_handlers: dict[str, AgentHandler] = {}
        self._visitor_channels: dict[str, Channel] = {}
        self._agent_channels: dict[str, Channel] = {}
        self.forwarding: Forwarding | None = None
        self._contexts: dict[str, ChannelContext] = {}
        self._deliveries: set[asyncio.Task[None]] = set()

    def load(self, config: Config) -> None:
        for name, settings in config.channels.items():
            if settings.enabled:
                channel = self.channels[name] = _load_channel(config, name, settings)
                self._contexts[name] = ChannelContext(self._app, name, settings)
                for event, handler in channel.visitor_events().items():
                    if event in CORE_VISITOR_EVENTS or event in self.visitor_handlers:
                        raise ConfigError(config.source, f"channels.{name}", f"the visitor event {event!r} is taken")
                    self.visitor_handlers[event] = handler
                    self._visitor_channels[event] = channel
                for event, agent_handler in channel.agent_events().items():
                    if event in CORE_AGENT_EVENTS or event in self.agent_handlers:
                        raise ConfigError(config.source, f"channels.{name}", f"the agent event {event!r} is taken")
                    self.agent_handlers[event] = agent_handler
                    self._agent_channels[event] = channel

    async def start(self) -> None:
        started: list[Channel] = []
        for name, channel in self.channels.items():
            try:
                await channel.start(self._contexts[name])
            except BaseException:
                for earlier in reversed(started):  # leave nothing half-running behind
                    await earlier.stop()
                raise
            started.append(channel)
            log.info("channel started", extra={"channel": name})

    async def stop(self) -> None:
        if self._deliveries:  # let replies already handed over finish going out
            await asyncio.wait(self._deliveries, timeout=10)
        for name, channel in reversed(list(self.channels.items())):
            try:
                await channel.stop()
            except Exception:
                log.exception("channel failed to stop", extra={"channel": name})

    def mailbox_problems(self, mailbox: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [problem for channel in self.channels.values() for problem in channel.mailbox_problems(mailbox)]

    async def run_visitor_event(self, event: str, who: VisitorCall, data: Any) -> dict[str, Any]:
        """A visitor's event for a channel, run in the process that holds what it is about (a
        caller's socket may have reconnected to another process than the one carrying the call)."""
        sender = {"kind": "visitor", "tenant_id": who.tenant_id, "visitor_id": who.visitor_id,
                  "user_id": who.user_id, "ip": who.ip}
        forwarded = await self._forward_if_held_elsewhere(self._visitor_channels[event], event, sender, data)
        return forwarded if forwarded is not None else await self.visitor_handlers[event](who, data)

    async def run_agent_event(self, event: str, who: AgentCall, data: Any) -> dict[str, Any]:
        """An agent's event for a channel, run in the process that holds what it is about."""
        sender = {"kind": "agent", "user_id": who.user_id}
        forwarded = await self._forward_if_held_elsewhere(self._agent_channels[event], event, sender, data)
        return forwarded if forwarded is not None else await self.agent_handlers[event](who, data)

    async def _forward_if_held_elsewhere(self, channel: Channel, event: str, who: dict[str, Any],
                                         data: Any) -> dict[str, Any] | None:
        """The holding process's ack, or None when the event is to run here."""
        key = channel.held_object(data)
        if key is None or self.forwarding is None or channel.holds(key):
            return None
        try:
            holder = await self.forwarding.holder(key)
        except Exception:  # Redis away: only what this process holds can be reached
            return None
        if holder is None or holder == self.forwarding.process_id:
            return None
        return await self.forwarding.forward(holder, event, who, data)

    async def _run_forwarded(self, event: str, who: dict[str, Any], data: Any) -> dict[str, Any]:
        if who.get("kind") == "visitor":
            visitor_handler = self.visitor_handlers.get(event)
            if visitor_handler is None:
                return {"ok": False, "code": "unknown_event", "message": f"no such event: {event}"}
            return await visitor_handler(VisitorCall(str(who["tenant_id"]), str(who["visitor_id"]), who.get("user_id"),
                                                     str(who["ip"]), _no_rooms_from_afar), data)
        handler = self.agent_handlers.get(event)
        user_id = str(who.get("user_id"))
        principal = await load_user_principal(self._app, user_id)
        if handler is None or principal is None:
            return {"ok": False, "code": "unauthenticated", "message": "your session has ended; log in again"}
        return await handler(AgentCall(user_id, principal, sid=""), data)

    def widget_features(self, tenant_slug: str) -> dict[str, bool]:
        offered: dict[str, bool] = {}
        for name, channel in self.channels.items():
            served = self._contexts[name].settings.tenants
            if not served or tenant_slug in served:
                offered.update(channel.widget_features())
        return offered

    @property
    def uses_media(self) -> bool:
        return any(channel.uses_media for channel in self.channels.values())

    async def on_media_event(self, event: MediaEvent) -> None:
        """The media layer's events go to the channels that carry calls; each knows its own."""
        for channel in self.channels.values():
            if channel.uses_media:
                try:
                    await channel.on_media_event(event)
                except Exception:
                    log.exception("channel failed on a media event", extra={"channel": channel.name, "kind": event.kind})

    def mail_consumers(self) -> list[MailConsumer]:
        return [c for c in (channel.mail_consumer() for channel in self.channels.values()) if c is not None]

    async def on_event(self, event: DomainEvent) -> None:
        """Hand an agent's reply to the channel its conversation lives on, in the background so
        a slow mail or SIP server never holds up the agent's request."""
        for channel in self.channels.values():
            try:
                await channel.on_event(event)
            except Exception:
                log.exception("channel failed on an event", extra={"channel": channel.name, "event_type": event.type})
        if event.type != "message.created" or event.tenant_id is None:
            return
        message = event.data["message"]
        if message["kind"] != "message" or message["author_type"] != "agent":
            return
        self.redeliver(event.tenant_id, event.conversation_id or "", message)

    async def recover_lost_replies(self, since: datetime) -> datetime:
        """Hand over again every agent reply stored since `since` (and at least the grace time
        ago) on a channel that tracks delivery but carrying no delivery mark: the process that
        stored it stopped or died before its background hand-over (on_event) reached the channel.
        Handing one over twice is harmless (channels queue a reply once). Returns where the next
        sweep starts."""
        tracked = [name for name, channel in self.channels.items() if channel.tracks_delivery]
        upto = utcnow() - _HAND_OVER_GRACE
        if not tracked or upto <= since:
            return since
        m, c = t.messages, t.conversations
        async with self._app[DB].connect() as conn:
            rows = (await conn.execute(
                sa.select(m).join(c, sa.and_(c.c.id == m.c.conversation_id, c.c.tenant_id == m.c.tenant_id))
                .where(m.c.id >= first_id_at(since), m.c.id < first_id_at(upto), m.c.kind == "message",
                       m.c.author_type == "agent", c.c.channel.in_(tracked)))).all()
        lost = [row for row in rows if "delivery" not in (row.meta or {})]
        if lost:
            log.warning("replies that never reached their channel are handed over again", extra={"replies": len(lost)})
        for row in lost:
            self.redeliver(row.tenant_id, row.conversation_id, conversations.message_json(row))
        return upto

    async def recover_lost_replies_forever(self) -> None:
        since = utcnow() - _LOST_REPLY_HORIZON
        while True:
            try:
                since = await self.recover_lost_replies(since)
            except Exception:  # the database is away: the next sweep covers this one's window too
                log.exception("could not look for replies that never reached their channel")
            await asyncio.sleep(_LOST_REPLY_SWEEP_SECONDS)

    def redeliver(self, tenant_id: str, conversation_id: str, message: dict[str, Any]) -> None:
        """Hand a reply to its channel (again: an agent retries one that failed), in the background."""
        task = asyncio.create_task(self._deliver(tenant_id, conversation_id, message))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, tenant_id: str, conversation_id: str, message: dict[str, Any]) -> None:
        async with self._app[DB].connect() as conn:
            row = (
                await conn.execute(
                    sa.select(t.conversations.c.channel, t.conversations.c.contact_id, t.tenants.c.slug)
                    .join(t.tenants, t.tenants.c.id == t.conversations.c.tenant_id)
                    .where(t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id)
                )
            ).first()
        if row is None or row.channel not in self.channels:
            return
        context = self._contexts[row.channel]
        if context.settings.tenants and row.slug not in context.settings.tenants:
            return
        reply = OutboundMessage(tenant_id, conversation_id, row.contact_id, message)
        try:
            await self.channels[row.channel].deliver(reply)
        except IntegrityError:
            return  # handed to the outbox by a delivery running at the same time (a double "Try again")
        except Exception as exc:  # the agent must see that the reply did not go out
            log.warning("reply delivery failed", extra={"channel": row.channel, "error": str(exc)})
            async with self._app[DB].begin() as conn:
                failed = await conversations.mark_delivery(conn, tenant_id, message["id"], "failed", error=str(exc),
                                                           actor=f"channel:{row.channel}")
            if failed is not None:
                await self._app[EVENTS].publish(failed)


async def channels_ctx(app: web.Application) -> Any:
    registry = app[CHANNELS]
    media = None
    if registry.uses_media:  # the media workers run before the channels that carry calls, and after them
        media = app[MEDIA] = MediaService(app[CONFIG].media, on_event=registry.on_media_event)
        await media.start()
    registry.forwarding = Forwarding(app[REDIS], registry._run_forwarded)
    await registry.forwarding.start()
    app[EVENTS].subscribe(registry.on_event)
    try:
        await registry.start()
    except BaseException:
        await registry.forwarding.stop()
        if media is not None:
            await media.stop()
        raise
    recovery = asyncio.create_task(registry.recover_lost_replies_forever())
    yield
    recovery.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await recovery
    await registry.stop()
    await registry.forwarding.stop()
    if media is not None:
        await media.stop()


def setup_channels(app: web.Application) -> None:
    registry = ChannelRegistry(app)
    registry.load(app[CONFIG])  # bad channel config stops the start before anything runs
    app[CHANNELS] = registry
    app.cleanup_ctx.append(channels_ctx)

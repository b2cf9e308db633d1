"""Which conversation an incoming email belongs to.

In order: a Message-ID it answers (In-Reply-To, then References, newest first) that we sent or
received; else the conversation token in its subject (`[#K7Q2XM]`), which survives clients that
rewrite In-Reply-To (chatwoot#10028); else none, and a new conversation is opened. A thread found
that way is only joined by someone who belongs in it — its customer (any of the contact's
addresses) or someone it was addressed to — so a stranger answering a forwarded mail never lands
in another customer's conversation (zammad#5064)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.core.contacts import resolve_contact
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import utcnow

# No 0/O or 1/I: agents read tokens out on the phone.
_TOKEN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_TOKEN_LENGTH = 6
_SUBJECT_TOKEN = re.compile(r"\[#([2-9A-HJ-NP-Z]{6,12})\]")
# How many referenced ids are looked up: a References header can list hundreds.
_MAX_REFERENCES = 50


@dataclass(frozen=True)
class Thread:
    conversation_id: str
    contact_id: str
    token: str
    customer_address: str
    participants: list[str]


def subject_with_token(subject: str, token: str) -> str:
    """The subject our replies carry, token appended once."""
    tag = f"[#{token}]"
    return subject if tag in subject else f"{subject} {tag}".strip()


def subject_token(subject: str) -> str | None:
    found = _SUBJECT_TOKEN.search(subject.upper())
    return found.group(1) if found else None


def _thread_query() -> sa.Select:
    e = t.email_threads
    return sa.select(e, t.conversations.c.contact_id).join(t.conversations, t.conversations.c.id == e.c.conversation_id)


def _thread(row: sa.Row) -> Thread:
    return Thread(row.conversation_id, row.contact_id, row.token, row.customer_address, list(row.participants))


async def find_thread(conn: AsyncConnection, tenant_id: str, in_reply_to: list[str], references: list[str],
                      subject: str) -> Thread | None:
    """The thread an email continues."""
    # References lists the oldest first: the newest ids are the ones worth keeping.
    ids = [i for i in in_reply_to + references[-_MAX_REFERENCES:] if i]
    if ids:
        m = t.email_messages
        row = (await conn.execute(
            _thread_query().join(m, m.c.conversation_id == t.email_threads.c.conversation_id)
            .where(m.c.tenant_id == tenant_id, m.c.rfc_message_id.in_(ids))
            .order_by(m.c.created_at.desc()).limit(1))).first()
        if row is not None:
            return _thread(row)
    token = subject_token(subject)
    if token:
        row = (await conn.execute(_thread_query().where(
            t.email_threads.c.tenant_id == tenant_id, t.email_threads.c.token == token))).first()
        if row is not None:
            return _thread(row)
    return None


async def find_sent_thread(conn: AsyncConnection, tenant_id: str, rfc_message_id: str | None) -> Thread | None:
    """The thread of a mail we sent, by its Message-ID (what a bounce returns)."""
    if not rfc_message_id:
        return None
    m = t.email_messages
    row = (await conn.execute(
        _thread_query().join(m, m.c.conversation_id == t.email_threads.c.conversation_id)
        .where(m.c.tenant_id == tenant_id, m.c.direction == "out", m.c.rfc_message_id == rfc_message_id).limit(1))).first()
    return _thread(row) if row is not None else None


async def belongs_in(conn: AsyncConnection, tenant_id: str, thread: Thread, sender: str, sender_contact_id: str) -> bool:
    """Whether this sender may write in the thread: its customer, or someone it was addressed to."""
    if sender == thread.customer_address or sender in thread.participants:
        return True
    return await resolve_contact(conn, tenant_id, sender_contact_id) == await resolve_contact(conn, tenant_id, thread.contact_id)


def new_token() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))


async def start_thread(conn: AsyncConnection, tenant_id: str, conversation_id: str, *, token: str, mailbox_id: str | None,
                       customer_address: str, participants: list[str]) -> str:
    """Give a new email conversation its token (this one unless the tenant has it already);
    returns the token it got."""
    while not await insert_ignoring_conflicts(conn, t.email_threads, {
        "conversation_id": conversation_id, "tenant_id": tenant_id, "mailbox_id": mailbox_id, "token": token,
        "customer_address": customer_address, "participants": sorted(set(participants)), "created_at": utcnow(),
    }, ["tenant_id", "token"]):
        token = new_token()  # 32^6 tokens per tenant: a clash is rare, and simply drawn again
    return token


async def add_participants(conn: AsyncConnection, thread: Thread, addresses: list[str]) -> None:
    merged = sorted(set(thread.participants) | set(addresses))
    if merged != sorted(thread.participants):
        await conn.execute(sa.update(t.email_threads).where(t.email_threads.c.conversation_id == thread.conversation_id)
                           .values(participants=merged))

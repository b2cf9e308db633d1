"""The core's storage verbs on SQLite and PostgreSQL: contacts, conversations, messages."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core import contacts as contacts_module
from gateway.core.contacts import add_identity, find_contact, identify_contact, merge_contacts, resolve_contact
from gateway.core.conversations import append_message, enqueue_task, open_conversation
from gateway.core.html import sanitise_html
from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.db import schema as t

from .conftest import add_tenant


async def count(engine: AsyncEngine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one()


async def new_conversation(engine: AsyncEngine, tenant_id: str, email: str = "ann@example.com") -> str:
    async with engine.begin() as conn:
        contact = await identify_contact(conn, tenant_id, "email", email)
        conversation_id, _ = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
    return conversation_id


# --- contacts ---------------------------------------------------------------------------------


async def test_identify_contact_finds_or_creates(engine: AsyncEngine, tenant_id: str) -> None:
    async with engine.begin() as conn:
        first = await identify_contact(conn, tenant_id, "email", "Ann.Smith@Example.COM", name="Ann")
    assert first.created
    assert [e.type for e in first.events] == ["contact.created"]
    async with engine.begin() as conn:
        again = await identify_contact(conn, tenant_id, "email", "  ann.smith@example.com ")
    assert (again.contact_id, again.created, again.events) == (first.contact_id, False, [])
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(t.contact_identities.c.kind, t.contact_identities.c.value))).all()
        name = (await conn.execute(sa.select(t.contacts.c.name))).scalar_one()
    assert [tuple(row) for row in stored] == [("email", "ann.smith@example.com")]
    assert name == "Ann"


async def test_phone_numbers_are_stored_in_e164(engine: AsyncEngine, tenant_id: str) -> None:
    async with engine.begin() as conn:
        first = await identify_contact(conn, tenant_id, "phone", "+1 (415) 555-2671")
        second = await identify_contact(conn, tenant_id, "phone", "+14155552671")
        fax = await identify_contact(conn, tenant_id, "fax", "+44 20 7946 0958")
        value = (
            await conn.execute(sa.select(t.contact_identities.c.value).where(t.contact_identities.c.kind == "phone"))
        ).scalar_one()
    assert second.contact_id == first.contact_id and not second.created
    assert value == "+14155552671"
    assert fax.created  # another kind is another identity


async def test_identities_are_per_tenant(engine: AsyncEngine, tenant_id: str) -> None:
    other = await add_tenant(engine, "other")
    async with engine.begin() as conn:
        mine = await identify_contact(conn, tenant_id, "email", "ann@example.com")
        theirs = await identify_contact(conn, other, "email", "ann@example.com")
    assert theirs.created and theirs.contact_id != mine.contact_id


def test_normalise_identity() -> None:
    assert normalise_identity("email", " Bob@Example.org ") == "bob@example.org"
    assert normalise_identity("phone", "+49 30 901820") == "+4930901820"
    assert normalise_identity("phone", "030 901820", default_region="DE") == "+4930901820"
    assert normalise_identity("visitor", "v-123:abc") == "v-123:abc"
    for kind, value in [("email", "not an address"), ("phone", "call me"), ("phone", "+1 2"), ("visitor", "a b"), ("sms", "x")]:
        with pytest.raises(InvalidIdentity):
            normalise_identity(kind, value)


async def test_concurrent_identify_of_a_new_identity_makes_one_contact(
    engine: AsyncEngine, tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name == "postgresql":
        # Hold both callers after their lookup found nothing, so that both really try to create
        # the contact. (SQLite takes its write lock at BEGIN, so there the second simply waits.)
        barrier = asyncio.Barrier(2)
        real_find = contacts_module.find_contact
        waited: set[int] = set()

        async def find_then_wait(conn, *args, **kwargs):  # type: ignore[no-untyped-def]
            found = await real_find(conn, *args, **kwargs)
            if id(conn) not in waited:
                waited.add(id(conn))
                await asyncio.wait_for(barrier.wait(), 10)
            return found

        monkeypatch.setattr(contacts_module, "find_contact", find_then_wait)

    async def identify() -> contacts_module.Identified:
        async with engine.begin() as conn:
            return await identify_contact(conn, tenant_id, "email", "race@example.com")

    a, b = await asyncio.gather(identify(), identify())
    assert a.contact_id == b.contact_id
    assert sorted([a.created, b.created]) == [False, True]
    assert await count(engine, t.contacts) == 1
    assert await count(engine, t.contact_identities) == 1
    assert await count(engine, t.events, t.events.c.type == "contact.created") == 1


async def test_add_identity_refuses_one_owned_by_another_contact(engine: AsyncEngine, tenant_id: str) -> None:
    async with engine.begin() as conn:
        ann = await identify_contact(conn, tenant_id, "email", "ann@example.com")
        bob = await identify_contact(conn, tenant_id, "email", "bob@example.com")
        assert await add_identity(conn, tenant_id, ann.contact_id, "phone", "+1 415 555 2671")
        assert not await add_identity(conn, tenant_id, bob.contact_id, "phone", "+14155552671")
        assert await find_contact(conn, tenant_id, "phone", "+14155552671") == ann.contact_id


async def test_merge_contacts_moves_identities_and_conversations(engine: AsyncEngine, tenant_id: str) -> None:
    async with engine.begin() as conn:
        keep = await identify_contact(conn, tenant_id, "email", "ann@example.com", name="Ann")
        other = await identify_contact(conn, tenant_id, "phone", "+14155552671", name="A. Smith")
        await conn.execute(
            sa.update(t.contacts).where(t.contacts.c.id == other.contact_id).values(attributes={"plan": "gold"}, vip_tier=2)
        )
        conversation_id, _ = await open_conversation(conn, tenant_id, other.contact_id, "voice")
        event = await merge_contacts(conn, tenant_id, keep.contact_id, other.contact_id, actor="user:1")
    assert event.type == "contact.merged"
    assert event.data == {"contact_id": keep.contact_id, "merged_id": other.contact_id}
    async with engine.connect() as conn:
        assert await find_contact(conn, tenant_id, "phone", "+14155552671") == keep.contact_id
        assert await resolve_contact(conn, tenant_id, other.contact_id) == keep.contact_id
        owner = (await conn.execute(sa.select(t.conversations.c.contact_id).where(t.conversations.c.id == conversation_id))).scalar_one()
        kept = (await conn.execute(sa.select(t.contacts).where(t.contacts.c.id == keep.contact_id))).one()
        merged = (await conn.execute(sa.select(t.contacts).where(t.contacts.c.id == other.contact_id))).one()
    assert owner == keep.contact_id
    assert (kept.name, kept.attributes, kept.vip_tier, kept.merged_into_id) == ("Ann", {"plan": "gold"}, 2, None)
    assert merged.merged_into_id == keep.contact_id
    # The next chat from that phone number lands on the kept contact.
    async with engine.begin() as conn:
        again = await identify_contact(conn, tenant_id, "phone", "+1 415 555 2671")
    assert (again.contact_id, again.created) == (keep.contact_id, False)


# --- conversations and messages -----------------------------------------------------------------


async def test_append_message_stores_a_retried_send_once(engine: AsyncEngine, tenant_id: str) -> None:
    conversation_id = await new_conversation(engine, tenant_id)
    async with engine.begin() as conn:
        first = await append_message(
            conn, tenant_id, conversation_id, kind="message", author_type="contact", author_id=None,
            body_text="hello", client_id="c-1",
        )
    async with engine.begin() as conn:
        retry = await append_message(
            conn, tenant_id, conversation_id, kind="message", author_type="contact", author_id=None,
            body_text="hello (sent twice)", client_id="c-1",
        )
    assert first.created and [e.type for e in first.events] == ["message.created"]
    assert not retry.created and retry.events == []
    assert retry.message == first.message
    assert retry.message["body_text"] == "hello"
    assert await count(engine, t.messages) == 1


async def test_concurrent_retries_store_one_message(engine: AsyncEngine, tenant_id: str) -> None:
    conversation_id = await new_conversation(engine, tenant_id)

    async def send() -> bool:
        async with engine.begin() as conn:
            appended = await append_message(
                conn, tenant_id, conversation_id, kind="message", author_type="contact", author_id=None,
                body_text="hi", client_id="same",
            )
        return appended.created

    assert sorted(await asyncio.gather(send(), send(), send())) == [False, False, True]
    assert await count(engine, t.messages) == 1


async def test_client_ids_are_per_conversation(engine: AsyncEngine, tenant_id: str) -> None:
    one = await new_conversation(engine, tenant_id)
    two = await new_conversation(engine, tenant_id)
    async with engine.begin() as conn:
        for conversation_id in (one, two):
            appended = await append_message(
                conn, tenant_id, conversation_id, kind="message", author_type="contact", author_id=None,
                body_text="hi", client_id="c-1",
            )
            assert appended.created
        # Without a client id nothing is deduplicated.
        for _ in range(2):
            await append_message(conn, tenant_id, one, kind="message", author_type="contact", author_id=None, body_text="hi")
    assert await count(engine, t.messages, t.messages.c.conversation_id == one) == 3
    assert await count(engine, t.messages, t.messages.c.conversation_id == two) == 1


async def test_append_sanitises_html_and_stamps_the_conversation(engine: AsyncEngine, tenant_id: str) -> None:
    conversation_id = await new_conversation(engine, tenant_id)
    async with engine.begin() as conn:
        note = await append_message(
            conn, tenant_id, conversation_id, kind="note", author_type="agent", author_id=None, body_text="internal",
        )
        last_after_note = (
            await conn.execute(sa.select(t.conversations.c.last_message_at).where(t.conversations.c.id == conversation_id))
        ).scalar_one()
        message = await append_message(
            conn, tenant_id, conversation_id, kind="message", author_type="contact", author_id=None,
            body_text="see", body_html='<p onclick="x()">see <b>this</b><script>alert(1)</script></p>',
        )
        last = (
            await conn.execute(sa.select(t.conversations.c.last_message_at).where(t.conversations.c.id == conversation_id))
        ).scalar_one()
    assert note.events[0].audience == "internal" and message.events[0].audience == "public"
    assert last_after_note is None  # a note is not customer activity
    assert last is not None
    assert message.message["body_html"] == "<p>see <b>this</b></p>"


async def test_datetimes_come_back_timezone_aware_utc(engine: AsyncEngine, tenant_id: str) -> None:
    conversation_id = await new_conversation(engine, tenant_id)
    before = datetime.now(timezone.utc)
    async with engine.begin() as conn:
        appended = await append_message(
            conn, tenant_id, conversation_id, kind="message", author_type="contact", author_id=None, body_text="x"
        )
        task_id, _ = await enqueue_task(conn, tenant_id, conversation_id, "chat")
    async with engine.connect() as conn:
        message = (await conn.execute(sa.select(t.messages.c.created_at))).scalar_one()
        conversation = (await conn.execute(sa.select(t.conversations))).one()
        task = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == task_id))).one()
    for value in (message, conversation.created_at, conversation.last_message_at, task.enqueued_at):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        assert abs(value - before) < timedelta(minutes=5)
    assert appended.message["created_at"].endswith("+00:00")


async def test_utc_column_converts_other_offsets_and_refuses_naive(engine: AsyncEngine, tenant_id: str) -> None:
    tokyo = timezone(timedelta(hours=9))
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(t.tenants).where(t.tenants.c.id == tenant_id).values(created_at=datetime(2030, 1, 1, 9, 0, tzinfo=tokyo))
        )
        stored = (await conn.execute(sa.select(t.tenants.c.created_at).where(t.tenants.c.id == tenant_id))).scalar_one()
    assert stored == datetime(2030, 1, 1, 0, 0, tzinfo=timezone.utc)
    assert stored.utcoffset() == timedelta(0)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        async with engine.begin() as conn:
            await conn.execute(sa.update(t.tenants).values(created_at=datetime(2030, 1, 1)))


async def test_enqueue_task_prefers_the_agent_who_served_the_contact(engine: AsyncEngine, tenant_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            t.users.insert().values(id="u1", email="a@x.org", name="A", password_hash="-", created_at=datetime.now(timezone.utc))
        )
        contact = await identify_contact(conn, tenant_id, "email", "ann@example.com")
        earlier, _ = await open_conversation(conn, tenant_id, contact.contact_id, "email")
        await conn.execute(sa.update(t.conversations).where(t.conversations.c.id == earlier).values(assignee_id="u1"))
        now_id, _ = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
        task_id, events = await enqueue_task(conn, tenant_id, now_id, "chat", priority=42)
        task = (await conn.execute(sa.select(t.tasks).where(t.tasks.c.id == task_id))).one()
    assert (task.state, task.preferred_agent_id, task.priority) == ("queued", "u1", 9)
    assert [e.type for e in events] == ["task.queued"]
    assert await count(engine, t.task_events, t.task_events.c.task_id == task_id) == 1


# --- HTML from outside ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<script>alert(1)</script>ok", "ok"),
        ('<img src="cid:logo" onerror="alert(1)">', '<img src="cid:logo">'),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<a href="JaVa&#x09;ScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<a href="data:text/html,<script>x</script>">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<svg onload="alert(1)"></svg><iframe src="https://evil.example"></iframe>t', "t"),
        ('<div style="background:url(javascript:x)" onclick="x()">s</div>', "<div>s</div>"),
    ],
)
def test_sanitise_html_removes_anything_that_runs(dirty: str, clean: str) -> None:
    assert sanitise_html(dirty) == clean


def test_sanitise_html_keeps_basic_formatting() -> None:
    html = (
        '<p>Hi <b>there</b>, <i>see</i> <strong>the</strong> <em>list</em>:</p><ul><li>one</li></ul><br>'
        '<blockquote>quoted</blockquote><table><tbody><tr><td colspan="2">cell</td></tr></tbody></table>'
    )
    assert sanitise_html(html) == html
    assert sanitise_html('<a href="https://example.org/x?a=1&amp;b=2">link</a>') == (
        '<a href="https://example.org/x?a=1&amp;b=2" rel="noopener noreferrer nofollow">link</a>'
    )
    assert sanitise_html('<a href="mailto:ann@example.com">mail</a>').startswith('<a href="mailto:ann@example.com"')

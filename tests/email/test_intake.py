"""Email intake end to end, against a real Dovecot: mail delivered to a tenant's mailbox becomes a
conversation with a task in the inbox, threaded with what came before, and nothing is lost or
stored twice — across Dovecot restarts, gateway restarts, a reset UIDVALIDITY and a second
gateway process reading the same mailbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient

from gateway.mail.mailboxes import rfc_message_id
from gateway.mail.parse import parse_email
from gateway.app import create_app
from gateway.config import Config
from gateway.db import schema as t
from gateway.keys import DB
from tests.email.support import add_mailbox, count_is, email_config, email_conversations, eventually, mail, messages
from tests.helpers import Api
from tests.mail.dovecot import Dovecot

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "emails"


@pytest.fixture
def config(tmp_path: Path, dovecot: Dovecot) -> Config:
    return email_config(tmp_path / "data", dovecot)


async def stored_ids(client: TestClient) -> list[str]:
    async with client.app[DB].connect() as conn:
        return list((await conn.execute(sa.select(t.email_messages.c.rfc_message_id).where(t.email_messages.c.direction == "in"))).scalars())


async def test_a_customers_mail_becomes_a_conversation_with_a_task_and_replies_thread_onto_it(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot):
    mailbox = await add_mailbox(operator, dovecot, "intake-basic")
    first = mail("My order #77 never came", "Hello,\nwhere is my parcel?\nAnn")
    first.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf")
    await dovecot.append("intake-basic", first.as_bytes())

    found = await eventually(lambda: email_conversations(agent))
    assert [c["subject"] for c in found] == ["My order #77 never came"]
    conversation = found[0]
    assert conversation["contact"]["name"] == "Ann Customer"
    [message] = await messages(agent, conversation["id"])
    assert "where is my parcel?" in message["body_text"]
    assert message["meta"]["email"]["from"] == "ann@customer.example"
    [attachment] = message["meta"]["attachments"]
    assert attachment["filename"] == "receipt.pdf"
    download = await agent.request("GET", f"/api/v1/attachments/{attachment['id']}")
    assert download.status == 200 and await download.read() == b"%PDF-1.4 receipt"
    tasks = (await agent.get(f"/api/v1/conversations/{conversation['id']}/tasks"))["items"]
    assert [(task["channel"], task["state"]) for task in tasks] == [("email", "queued")]
    # Stored, then marked as seen in the mailbox; the mailbox reports itself connected.
    assert await eventually(lambda: unseen_is(dovecot, "intake-basic", 0))
    tid = conversation["tenant_id"]
    health = await operator.get(f"/api/v1/tenants/{tid}/mailboxes/{mailbox['id']}")
    assert health["state"] == "connected" and health["last_error"] is None

    # A reply to our thread (In-Reply-To) joins it; the work already queued is not queued twice.
    reply = mail("Re: My order #77 never came", "Any news?", In_Reply_To=first["Message-ID"], References=first["Message-ID"])
    await dovecot.append("intake-basic", reply.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, conversation["id"]), 2))
    assert len(await email_conversations(agent)) == 1
    assert len((await agent.get(f"/api/v1/conversations/{conversation['id']}/tasks"))["items"]) == 1

    # A client that rewrites In-Reply-To still threads by the subject's token (chatwoot#10028).
    token = conversation["attributes"]["email"]["token"]
    assert conversation["attributes"]["email"]["customer_address"] == "ann@customer.example"
    rewritten = mail(f"Re: My order #77 never came [#{token}]", "Hello again", In_Reply_To="<unknown@elsewhere.example>")
    await dovecot.append("intake-basic", rewritten.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, conversation["id"]), 3))

    # A stranger answering the thread gets a conversation of their own, linked (zammad#5064).
    stranger = mail("Re: My order #77 never came", "I am not Ann", sender="mallory@elsewhere.example",
                    In_Reply_To=first["Message-ID"])
    await dovecot.append("intake-basic", stranger.as_bytes())
    both = await eventually(lambda: count_is(email_conversations(agent), 2))
    theirs = next(c for c in both if c["id"] != conversation["id"])
    assert theirs["attributes"]["replied_to_conversation_id"] == conversation["id"]
    assert len(await messages(agent, conversation["id"])) == 3

    # An out-of-office answer is kept on the conversation, flagged, and queues no work.
    await agent.patch(f"/api/v1/conversations/{conversation['id']}", json={"status": "closed"})
    away = mail("Automatic reply: My order", "I am away until Monday.", Auto_Submitted="auto-replied",
                In_Reply_To=first["Message-ID"])
    await dovecot.append("intake-basic", away.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, conversation["id"]), 4))
    stored = (await messages(agent, conversation["id"]))[-1]
    assert stored["meta"]["email"]["auto_reply"] is True
    assert (await agent.get(f"/api/v1/conversations/{conversation['id']}"))["status"] == "closed"

    # The customer writing again reopens the closed conversation, with new work.
    again = mail("Re: My order #77 never came", "Still nothing! 📦\n\nOn Mon, 23 Nov 2026, Support wrote:\n> Any news?\n",
                 In_Reply_To=first["Message-ID"])
    await dovecot.append("intake-basic", again.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, conversation["id"]), 5))
    assert (await agent.get(f"/api/v1/conversations/{conversation['id']}"))["status"] == "open"
    # The quoted history is marked (in the browser's UTF-16 positions) for the inbox to fold.
    latest = (await messages(agent, conversation["id"]))[-1]
    utf16 = latest["body_text"].encode("utf-16-le")
    assert utf16[2 * latest["meta"]["email"]["quote_at"]:].decode("utf-16-le").startswith("On Mon, 23 Nov 2026")
    # The mail as it arrived stays downloadable; another tenant's agent can't get it.
    original = await agent.request("GET", f"/api/v1/messages/{latest['id']}/original")
    assert original.status == 200 and b"Still nothing!" in await original.read()
    assert original.headers["Content-Type"] == "message/rfc822"


async def unseen_is(dovecot: Dovecot, user: str, n: int) -> bool:
    return await dovecot.unseen(user) == n


async def test_nothing_is_lost_or_stored_twice_across_restarts_of_dovecot_and_the_gateway(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot, config: Config, aiohttp_client):
    await add_mailbox(operator, dovecot, "intake-restart")
    sent = [mail(f"Question {i}", f"Body {i}") for i in range(40)]
    for message in sent[:25]:
        await dovecot.append("intake-restart", message.as_bytes())
    # Dovecot goes away while the gateway is reading, and comes back.
    await eventually(lambda: stored_ids(client), timeout=30)
    dovecot.restart()  # blocks the loop for a moment: the gateway's connection drops meanwhile
    for message in sent[25:]:
        await dovecot.append("intake-restart", message.as_bytes())
    expected = {m["Message-ID"].strip("<>") for m in sent}
    assert await eventually(lambda: has_exactly(client, expected), timeout=60)

    # The gateway restarts; then the server says its UIDs were reset (UIDVALIDITY changed).
    await client.close()
    again = await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())
    async with again.app[DB].begin() as conn:
        await conn.execute(sa.update(t.mailboxes).values(uidvalidity=1, last_uid=0))
    extra = mail("One more", "after the restart")
    await dovecot.append("intake-restart", extra.as_bytes())
    assert await eventually(lambda: has_exactly(again, expected | {extra["Message-ID"].strip("<>")}), timeout=60)
    await asyncio.sleep(1)  # a late duplicate would show up here
    assert sorted(await stored_ids(again)) == sorted(expected | {extra["Message-ID"].strip("<>")})
    subjects = [c["subject"] for c in await email_conversations(await Api.login(again, config.demo.agent_email, config.demo.agent_password))]
    assert sorted(subjects) == sorted([f"Question {i}" for i in range(40)] + ["One more"])


async def has_exactly(client: TestClient, expected: set[str]) -> bool:
    ids = await stored_ids(client)
    assert len(ids) == len(set(ids)), "a mail was stored twice"
    assert set(ids) <= expected, set(ids) - expected
    return set(ids) == expected


@pytest.mark.external_redis
async def test_two_gateway_processes_share_a_mailbox_without_double_intake(
        tmp_path: Path, dovecot: Dovecot, external_redis_url: str, aiohttp_client):
    # Two gateways on one database and one Redis, as in production.
    shared = email_config(tmp_path / "shared", dovecot).model_copy(deep=True)
    shared.redis.url = external_redis_url
    # IDLE longer than the lease: the reader must come back to renew it in time, or the other
    # process takes over mid-read and both fail on the same mail.
    shared.mailboxes.idle_seconds = 60.0
    client = await aiohttp_client(create_app(shared), cookie_jar=DummyCookieJar())
    second = await aiohttp_client(create_app(shared), cookie_jar=DummyCookieJar())
    operator = await Api.login(client, shared.demo.operator_email, shared.demo.operator_password)
    await add_mailbox(operator, dovecot, "intake-shared")
    sent = [mail(f"Shared {i}", f"Body {i}") for i in range(20)]
    for message in sent:
        await dovecot.append("intake-shared", message.as_bytes())
    expected = {m["Message-ID"].strip("<>") for m in sent}
    assert await eventually(lambda: has_exactly(client, expected), timeout=60)
    assert await has_exactly(second, expected)
    more = [mail(f"Later {i}", f"Body {i}") for i in range(5)]
    await asyncio.sleep(shared.mailboxes.lease_seconds * 1.5)  # past a lease: still one reader, still healthy
    for message in more:
        await dovecot.append("intake-shared", message.as_bytes())
    assert await eventually(lambda: has_exactly(second, expected | {m["Message-ID"].strip("<>") for m in more}), timeout=60)
    async with client.app[DB].connect() as conn:
        health = (await conn.execute(sa.select(t.mailboxes.c.state, t.mailboxes.c.last_error))).one()
    assert tuple(health) == ("connected", None)


async def test_every_real_world_mail_in_the_test_data_is_stored_and_readable(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot):
    await add_mailbox(operator, dovecot, "intake-realworld")
    files = sorted(p for p in TESTDATA.rglob("*") if p.is_file() and p.suffix not in (".md",) and not p.name.startswith("LICENSE"))
    assert len(files) > 40
    expected = set()
    for path in files:
        raw = path.read_bytes()
        expected.add(rfc_message_id(parse_email(raw), raw))
        await dovecot.append("intake-realworld", raw)
    assert await eventually(lambda: has_exactly(client, expected), timeout=120)
    for conversation in await email_conversations(agent):
        for message in await messages(agent, conversation["id"]):
            assert message["body_text"] or message["meta"].get("attachments") or message["meta"]["email"].get("problems")


async def test_a_fake_bounce_naming_a_threads_token_does_not_get_into_that_thread(
        client: TestClient, operator: Api, agent: Api, dovecot: Dovecot):
    await add_mailbox(operator, dovecot, "intake-forged")
    await dovecot.append("intake-forged", mail("Refund please", "My refund?").as_bytes())
    [conversation] = await eventually(lambda: email_conversations(agent))
    token = conversation["attributes"]["email"]["token"]
    forged = (
        "From: MAILER-DAEMON@evil.example\r\nTo: support@demo.example\r\n"
        f"Subject: Undelivered Mail Returned to Sender [#{token}]\r\nMessage-ID: <forged@evil.example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nPlease pay at http://evil.example to get your refund.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@evil.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n--B--\r\n").encode()
    await dovecot.append("intake-forged", forged)
    both = await eventually(lambda: count_is(email_conversations(agent), 2))
    assert len(await messages(agent, conversation["id"])) == 1  # the customer's thread holds only their mail
    assert any(c["id"] != conversation["id"] for c in both)


@pytest.mark.postgres
async def test_mail_with_oversized_headers_is_stored_on_postgresql_too(
        tmp_path: Path, dovecot: Dovecot, postgres_url: str, aiohttp_client):
    config = email_config(tmp_path / "pg", dovecot).model_copy(deep=True)
    config.database.url = postgres_url
    client = await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())
    operator = await Api.login(client, config.demo.operator_email, config.demo.operator_password)
    agent = await Api.login(client, config.demo.agent_email, config.demo.agent_password)
    await add_mailbox(operator, dovecot, "intake-postgres")
    odd = mail("Odd headers", "Still a customer.", Reply_To="x" * 250 + "@customer.example")
    odd.add_attachment(b"data", maintype="application", subtype="x-" + "y" * 200, filename="f" * 300 + ".bin")
    await dovecot.append("intake-postgres", odd.as_bytes())
    await dovecot.append("intake-postgres", mail("Next one", "Behind it.").as_bytes())
    found = await eventually(lambda: count_is(email_conversations(agent), 2))
    odd_one = next(c for c in found if c["subject"] == "Odd headers")
    assert odd_one["attributes"]["email"]["customer_address"] == "ann@customer.example"  # the unusable Reply-To is ignored
    [stored] = await messages(agent, odd_one["id"])
    [attachment] = stored["meta"]["attachments"]
    assert len(attachment["content_type"]) <= 128 and len(attachment["filename"]) <= 255

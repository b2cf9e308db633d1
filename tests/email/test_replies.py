"""An agent answers a mail from the inbox: the customer gets a mail that threads in their client
(In-Reply-To, References, the conversation's token in the subject) from the tenant's mailbox,
through its SMTP server (a real one here, aiosmtpd), with the mailbox's signature and the files
the agent attached. A send that fails is retried; one that can't be delivered — the server keeps
refusing, or the mail bounces — is marked on the agent's message."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.email.support import add_mailbox, count_is, email_config, email_conversations, eventually, mail, messages
from tests.helpers import Api
from tests.mail.dovecot import Dovecot


@pytest.fixture
def config(tmp_path: Path, dovecot: Dovecot) -> Config:
    config = email_config(tmp_path / "data", dovecot)
    config.mail.first_retry_seconds = 0.2
    config.mail.poll_seconds = 0.1
    config.mail.max_attempts = 3
    return config


async def a_customer_writes(agent: Api, operator: Api, dovecot: Dovecot, user: str, smtp_port: int) -> tuple[dict[str, Any], EmailMessage]:
    await add_mailbox(operator, dovecot, user, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none",
                      signature="Kind regards,\nDemo Company support")
    first = mail("Broken kettle", "My kettle leaks.\nAnn")
    await dovecot.append(user, first.as_bytes())
    [conversation] = await eventually(lambda: email_conversations(agent))
    return conversation, first


async def test_the_agents_reply_reaches_the_customer_threaded_and_their_answer_comes_back_to_the_conversation(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    conversation, first = await a_customer_writes(agent, operator, dovecot, "replies-basic", port)
    cid = conversation["id"]
    sent = await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "Sorry! A new one is on its way.", "client_id": "r1"})
    upload = FormData()
    upload.add_field("file", b"%PDF-1.4 label", filename="return-label.pdf", content_type="application/pdf")
    await agent.post(f"/api/v1/conversations/{cid}/attachments", expect=201, data=upload)

    assert await eventually(lambda: len(server.mails) == 2)
    sender, recipients, reply = server.mails[0]
    assert sender == "support@demo.example" and recipients == ["ann@customer.example"]
    assert reply["From"].addresses[0].addr_spec == "support@demo.example"
    assert reply["To"] == "ann@customer.example"
    assert reply["Subject"].startswith("Re: Broken kettle [#")
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in reply["References"]
    body = reply.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "A new one is on its way." in body and "-- \nKind regards,\nDemo Company support" in body
    [label] = list(server.mails[1][2].iter_attachments())
    assert label.get_filename() == "return-label.pdf" and label.get_content() == b"%PDF-1.4 label"
    # The agent sees it went out.
    stored = await eventually(lambda: delivered(agent, cid, sent["id"], "sent"))
    assert stored["meta"]["email"]["to"] == ["ann@customer.example"]
    assert stored["meta"]["email"]["subject"] == reply["Subject"]
    assert stored["meta"]["email"]["message_id"] == reply["Message-ID"].strip("<>")

    # The customer answers our mail: it threads by our Message-ID into the same conversation.
    answer = mail(f"{reply['Subject']}", "Thanks, received!", In_Reply_To=reply["Message-ID"], References=reply["Message-ID"])
    await dovecot.append("replies-basic", answer.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, cid), 4))
    assert len(await email_conversations(agent)) == 1


async def test_a_reply_with_two_files_reaches_the_customer_as_one_mail_carrying_both(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    conversation, first = await a_customer_writes(agent, operator, dovecot, "replies-files", port)
    cid = conversation["id"]
    upload = FormData()
    upload.add_field("body_text", "Here are the label and the receipt.")
    upload.add_field("client_id", "two-files")
    upload.add_field("file", b"%PDF-1.4 label", filename="return-label.pdf", content_type="application/pdf")
    upload.add_field("file", b"Receipt 1182: 1 kettle\n", filename="receipt.txt", content_type="text/plain")
    sent = await agent.post(f"/api/v1/conversations/{cid}/attachments", expect=201, data=upload)

    assert await eventually(lambda: delivered(agent, cid, sent["id"], "sent"))
    [(_, recipients, reply)] = server.mails
    assert recipients == ["ann@customer.example"] and reply["In-Reply-To"] == first["Message-ID"]
    assert "Here are the label and the receipt." in reply.get_body(("plain",)).get_content()
    files = [(part.get_filename(), part.get_content()) for part in reply.iter_attachments()]
    assert files == [("return-label.pdf", b"%PDF-1.4 label"), ("receipt.txt", "Receipt 1182: 1 kettle\n")]  # in the agent's order


async def delivered(agent: Api, conversation_id: str, message_id: str, status: str) -> dict[str, Any] | None:
    for message in await messages(agent, conversation_id):
        if message["id"] == message_id and message["meta"].get("delivery", {}).get("status") == status:
            return message
    return None


async def test_a_refused_send_is_retried_and_one_that_never_goes_through_is_marked_failed(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    conversation, _ = await a_customer_writes(agent, operator, dovecot, "replies-retry", port)
    cid = conversation["id"]
    server.refusing = True
    first = await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "First try", "client_id": "a"})
    retrying = await eventually(lambda: delivered(agent, cid, first["id"], "retrying"))
    assert "451" in retrying["meta"]["delivery"]["error"]
    server.refusing = False
    assert await eventually(lambda: delivered(agent, cid, first["id"], "sent"))
    assert [m[2].get_body(("plain",)).get_content().splitlines()[0] for m in server.mails] == ["First try"]

    server.refusing = True  # and stays so: after max_attempts the agent's message is marked failed
    second = await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "Second", "client_id": "b"})
    failed = await eventually(lambda: delivered(agent, cid, second["id"], "failed"))
    assert "451" in failed["meta"]["delivery"]["error"]
    tid = conversation["tenant_id"]
    events = (await operator.get(f"/api/v1/tenants/{tid}/events?type=message.delivery_failed"))["items"]
    assert [e["data"]["message_id"] for e in events] == [second["id"]]

    # The server works again: the agent sends the failed reply once more, from the inbox.
    server.refusing = False
    retried = await agent.post(f"/api/v1/conversations/{cid}/messages/{second['id']}/retry")
    assert retried["meta"]["delivery"]["status"] == "queued"
    assert await eventually(lambda: delivered(agent, cid, second["id"], "sent"))
    assert [m[2].get_body(("plain",)).get_content().splitlines()[0] for m in server.mails] == ["First try", "Second"]
    refused = await agent.post(f"/api/v1/conversations/{cid}/messages/{second['id']}/retry", expect=409)
    assert refused["code"] == "not_failed"


async def test_a_bounce_of_a_reply_marks_it_failed_and_is_kept_on_the_conversation_without_new_work(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    conversation, _ = await a_customer_writes(agent, operator, dovecot, "replies-bounce", port)
    cid = conversation["id"]
    sent = await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "Here you go", "client_id": "x"})
    assert await eventually(lambda: len(server.mails) == 1)
    ours = server.mails[0][2]
    tasks_before = (await agent.get(f"/api/v1/conversations/{cid}/tasks"))["items"]

    # As Postfix writes them (RFC 3464): a report with the status and the returned mail's headers.
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        "To: support@demo.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.customer.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; ann@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ours['Message-ID']}\r\nSubject: {ours['Subject']}\r\n"
        "--B--\r\n"
    ).encode()
    await dovecot.append("replies-bounce", bounce)

    failed = await eventually(lambda: delivered(agent, cid, sent["id"], "failed"))
    assert "550 5.1.1 User unknown" in failed["meta"]["delivery"]["error"]
    notice = (await messages(agent, cid))[-1]
    assert notice["kind"] == "system" and notice["meta"]["email"]["bounce"]["recipients"][0]["address"] == "ann@customer.example"
    assert (await agent.get(f"/api/v1/conversations/{cid}/tasks"))["items"] == tasks_before


async def test_a_reply_goes_to_the_address_the_customer_asked_for(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    await add_mailbox(operator, dovecot, "replies-reply-to", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    await dovecot.append("replies-reply-to", mail("Invoice copy", "Please send it to accounts.", Reply_To="accounts@customer.example").as_bytes())
    [conversation] = await eventually(lambda: email_conversations(agent))
    assert conversation["attributes"]["email"]["customer_address"] == "accounts@customer.example"
    await agent.post(f"/api/v1/conversations/{conversation['id']}/messages", expect=201, json={"body_text": "Attached."})
    assert await eventually(lambda: len(server.mails) == 1)
    assert server.mails[0][1] == ["accounts@customer.example"]
    # The sender, who asked for it, still belongs in the thread.
    again = mail("Re: Invoice copy", "Got it?", In_Reply_To=server.mails[0][2]["Message-ID"])
    await dovecot.append("replies-reply-to", again.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, conversation["id"]), 3))


async def test_a_conversation_that_did_not_come_by_mail_says_why_a_reply_cannot_be_mailed(client: TestClient, agent: Api):
    tid = agent.tenant_id()
    contact = await agent.post("/api/v1/contacts", expect=201, json={"tenant_id": tid, "name": "Phone caller"})
    conversation = await agent.post("/api/v1/conversations", expect=201, json={
        "tenant_id": tid, "contact_id": contact["id"], "channel": "email", "subject": "Typed in by hand"})
    sent = await agent.post(f"/api/v1/conversations/{conversation['id']}/messages", expect=201, json={"body_text": "Hello"})
    failed = await eventually(lambda: delivered(agent, conversation["id"], sent["id"], "failed"))
    assert "did not come in by mail" in failed["meta"]["delivery"]["error"]

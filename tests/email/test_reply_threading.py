"""A reply answers the customer's own latest mail: when their mail server's out-of-office note
came in after it, the next reply is still In-Reply-To what the customer wrote, so their client
shows it under their question and not under an automatic note."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.email.support import add_mailbox, count_is, email_config, email_conversations, eventually, mail, messages
from tests.helpers import Api
from tests.mail.dovecot import Dovecot


@pytest.fixture
def config(tmp_path: Path, dovecot: Dovecot) -> Config:
    config = email_config(tmp_path / "data", dovecot)
    config.mail.poll_seconds = 0.1
    return config


async def test_the_next_reply_answers_the_customers_mail_not_their_out_of_office_note(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    await add_mailbox(operator, dovecot, "reply-threading", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    question = mail("Refund", "Where is my refund?")
    await dovecot.append("reply-threading", question.as_bytes())
    [conversation] = await eventually(lambda: email_conversations(agent))
    cid = conversation["id"]
    await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "It is on its way."})
    assert await eventually(lambda: len(server.mails) == 1)
    first_reply = server.mails[0][2]
    away = mail(f"Out of office: {first_reply['Subject']}", "I am away until Monday.", Auto_Submitted="auto-replied",
                In_Reply_To=first_reply["Message-ID"], References=f"{question['Message-ID']} {first_reply['Message-ID']}")
    await dovecot.append("reply-threading", away.as_bytes())
    assert await eventually(lambda: count_is(messages(agent, cid), 3))

    await agent.post(f"/api/v1/conversations/{cid}/messages", expect=201, json={"body_text": "Refund sent today."})
    assert await eventually(lambda: len(server.mails) == 2)
    second_reply = server.mails[1][2]
    assert second_reply["In-Reply-To"] == question["Message-ID"]
    assert away["Message-ID"] in second_reply["References"] and question["Message-ID"] in second_reply["References"]

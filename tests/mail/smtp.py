"""A real SMTP server for the tests (aiosmtpd), standing for a tenant's or the center's mail
server: it keeps what it received, and can be told to refuse for a while."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage


class SmtpServer:
    """What the tenant's SMTP server received; `refusing` makes it answer 451 (try again later)."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.refusing = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.refusing:
            return "451 4.3.0 try again later"
        self.mails.append((envelope.mail_from, envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

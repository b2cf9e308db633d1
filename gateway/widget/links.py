"""Signed links for the visitor's browser, which has no login: an upload ticket (this visitor may
send a file into this conversation for a few minutes) and a download link per attachment of their
conversation. Both are HMAC-SHA256 with the tenant's widget secret, so rotating the secret
revokes every link handed out before (the widget asks for fresh ones with the history).

Links are paths on the gateway (`/api/v1/widget/...`): the widget resolves them against the
gateway's origin, which it knows from its own script tag."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

UPLOADS_PATH = "/api/v1/widget/uploads"
TICKET_SECONDS = 300


def _sign(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def attachment_path(secret: str, attachment_id: str) -> str:
    return f"/api/v1/widget/attachments/{attachment_id}/{_sign(secret, 'file', attachment_id)}"


def attachment_signed(secret: str, attachment_id: str, signature: str) -> bool:
    return hmac.compare_digest(_sign(secret, "file", attachment_id), signature)


def with_links(message: dict[str, Any], secret: str) -> dict[str, Any]:
    """A visitor's form of a message with a download link on each attachment."""
    if not message.get("attachments"):
        return message
    return {**message, "attachments": [{**a, "url": attachment_path(secret, a["id"])} for a in message["attachments"]]}


class BadTicket(ValueError):
    pass


def upload_ticket(secret: str, conversation_id: str, now: float | None = None) -> tuple[str, int]:
    """A token letting its holder send files into this conversation (as its customer) until the
    returned expiry. Handed only to the conversation's own visitor, over their socket."""
    expires = str(int((now or time.time()) + TICKET_SECONDS))
    return ".".join((conversation_id, expires, _sign(secret, "upload", conversation_id, expires))), int(expires)


def conversation_of_ticket(token: str) -> str:
    """Which conversation a ticket is for (to find the tenant and its secret), before checking it."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        raise BadTicket("the upload ticket is malformed")
    return parts[0]


def check_ticket(secret: str, token: str, now: float | None = None) -> str:
    """The conversation the ticket is for, or BadTicket."""
    conversation_id, expires, signature = token.split(".")
    if not hmac.compare_digest(_sign(secret, "upload", conversation_id, expires), signature):
        raise BadTicket("the upload ticket is not valid")
    if int(expires) < (now or time.time()):
        raise BadTicket("the upload ticket has expired; ask for a new one")
    return conversation_id

"""An agent's own SIP phone, for a remote seat: the credentials it registers with and where it is.

The agent asks for credentials in the inbox and types them into the phone once; the gateway keeps
only HA1 = MD5(username:realm:password), all that SIP digest needs to check the phone (RFC 3261
§22), so the password can't be read back. The phone registers with the gateway (the voice
channel's registrar), which keeps its binding here: offers of calls then ring it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.db.schema import utcnow

# The digest realm of agents' phones: fixed, so credentials outlive a change of the gateway's address.
PHONE_REALM = "wecc"


def ha1(username: str, password: str) -> str:
    return hashlib.md5(f"{username}:{PHONE_REALM}:{password}".encode()).hexdigest()  # noqa: S324 - what SIP digest is


async def issue(conn: AsyncConnection, user_id: str) -> tuple[str, str]:
    """New credentials for the user's phone, replacing any earlier ones (whose registration ends): (username, password)."""
    username, password, now = f"agent-{secrets.token_hex(5)}", secrets.token_urlsafe(18), utcnow()
    await conn.execute(sa.delete(t.sip_phones).where(t.sip_phones.c.user_id == user_id))
    await conn.execute(sa.insert(t.sip_phones).values(user_id=user_id, username=username, ha1=ha1(username, password),
                                                      created_at=now, updated_at=now))
    return username, password


async def remove(conn: AsyncConnection, user_id: str) -> bool:
    return bool((await conn.execute(sa.delete(t.sip_phones).where(t.sip_phones.c.user_id == user_id))).rowcount)


async def of_user(conn: AsyncConnection, user_id: str) -> Any | None:
    return (await conn.execute(sa.select(t.sip_phones).where(t.sip_phones.c.user_id == user_id))).first()


def is_registered(row: Any) -> bool:
    return row is not None and row.registered_until is not None and row.registered_until > utcnow()

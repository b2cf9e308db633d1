"""The gateway as registrar for agents' own SIP phones (remote seats, RFC 3261 §10).

A phone registers with the credentials its agent got in the inbox (gateway/core/sip_phones.py),
proving them by digest against the HA1 kept for it; its binding — the Contact it gave, the
address its REGISTER came from (where calls to it are sent: through its NAT), its user agent and
when the binding runs out — is kept on the agent's phone row, so any gateway process sees it.

- A REGISTER without credentials gets 401 and a challenge whose nonce is good only from the
  address that asked, answered statelessly (a flood leaves nothing behind); a wrong answer or an
  unknown username is refused the same way. After FAILURE_LIMIT failures from one address in
  FAILURE_WINDOW seconds everything from it gets 403 until the window ends, and more than
  REQUEST_LIMIT REGISTERs a minute from one address are refused before any lookup.
- The credentials must be for the registered address's user (To), else 403.
- Expiry: the Contact's expires, else Expires, else ten minutes; at most ten minutes, at least
  MIN_EXPIRES (less gets 423 with Min-Expires). 0, or `Contact: *` with Expires 0, unregisters.
- One binding per phone: a new registration replaces the last.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gateway.core.sip_phones import PHONE_REALM
from gateway.db import schema as t
from gateway.db.schema import utcnow

from channels.voice.sip.digest import Credentials, DigestRealm, username_of
from channels.voice.sip.endpoint import Address
from channels.voice.sip.message import SipMessage, uri_of, user_of

if TYPE_CHECKING:
    from gateway.channel import ChannelContext

log = logging.getLogger(__name__)

# At most ten minutes: a phone behind NAT must refresh its binding (and the NAT's) that often,
# and an idle TCP connection is closed after as long (endpoint.TCP_IDLE_SECONDS).
MIN_EXPIRES, MAX_EXPIRES, DEFAULT_EXPIRES = 60, 600, 600
FAILURE_LIMIT, FAILURE_WINDOW = 10, 300
REQUEST_LIMIT, REQUEST_WINDOW = 120, 60  # REGISTERs per address (a whole office behind one NAT)
Answer = tuple[int, str, list[tuple[str, str]]]


class Registrar:
    def __init__(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        self.realm = DigestRealm(PHONE_REALM)

    async def register(self, request: SipMessage, source: Address) -> Answer:
        """The response to a REGISTER: (status, reason, headers). 401 and 403 are sent statelessly."""
        ip = source[0]
        if await self._ctx.within_limits([(f"sip-register:{ip}", REQUEST_LIMIT, REQUEST_WINDOW)]):
            return 403, "Forbidden (too many requests)", []  # a flood is refused before any lookup
        authorization = request.get("authorization")
        username = username_of(authorization)
        if username is None:
            return self._challenge(ip)
        if await self._ctx.budget_spent(f"sip-register-failed:{ip}", FAILURE_LIMIT):
            return 403, "Forbidden", []  # guessing stopped: even a right answer waits for the window
        async with self._ctx.unit() as unit:
            phone = (await unit.conn.execute(
                sa.select(t.sip_phones.c.user_id, t.sip_phones.c.ha1).join(t.users, t.users.c.id == t.sip_phones.c.user_id)
                .where(t.sip_phones.c.username == username, t.users.c.status == "active"))).first()  # a disabled account's phone is refused
        verdict = "bad" if phone is None else self.realm.check(
            authorization, "REGISTER", {username: Credentials(username, ha1=phone.ha1)}, bound_to=ip)
        if verdict == "stale":
            return self._challenge(ip, stale=True)
        if verdict != "ok":
            log.info("a SIP phone's registration was refused", extra={"source": ip})
            if await self._ctx.within_limits([(f"sip-register-failed:{ip}", FAILURE_LIMIT, FAILURE_WINDOW)]):
                return 403, "Forbidden", []
            return self._challenge(ip)
        if user_of(uri_of(request.get("to") or "")) != username:
            return 403, "Forbidden (the credentials are for another address)", []
        return await self._bind(request, source, phone.user_id)

    def _challenge(self, ip: str, stale: bool = False) -> Answer:
        # The nonce is good only from this address: an answer captured on the way can't be replayed from elsewhere.
        return 401, "Unauthorized", [("www-authenticate", self.realm.challenge(stale=stale, bound_to=ip))]

    async def _bind(self, request: SipMessage, source: Address, user_id: str) -> Answer:
        contacts = request.get_all("contact")
        expires_header = (request.get("expires") or "").strip()
        if contacts == ["*"]:
            if expires_header != "0":
                return 400, "Bad Request (Contact: * needs Expires: 0)", []
            contacts, seconds = [], 0
        elif not contacts:  # a query of the bindings
            return await self._current(user_id)
        else:
            seconds = _expires(contacts[0], expires_header)
            if 0 < seconds < MIN_EXPIRES:
                return 423, "Interval Too Brief", [("min-expires", str(MIN_EXPIRES))]
            seconds = min(seconds, MAX_EXPIRES)
        now = utcnow()
        values = {"contact": None, "source": None, "registered_until": None, "updated_at": now}
        if seconds:
            values.update(contact=uri_of(contacts[0])[:500], source="|".join(map(str, source)),
                          user_agent=(request.get("user-agent") or "")[:200] or None,
                          registered_until=now + timedelta(seconds=seconds))
        async with self._ctx.unit() as unit:
            await unit.conn.execute(sa.update(t.sip_phones).where(t.sip_phones.c.user_id == user_id).values(**values))
        return await self._current(user_id)

    async def _current(self, user_id: str) -> Answer:
        async with self._ctx.unit() as unit:
            row = (await unit.conn.execute(sa.select(t.sip_phones).where(t.sip_phones.c.user_id == user_id))).one()
        if row.contact is None or row.registered_until is None or row.registered_until <= utcnow():
            return 200, "OK", []
        left = max(0, int((row.registered_until - utcnow()).total_seconds()))
        return 200, "OK", [("contact", f"<{row.contact}>;expires={left}")]


def _expires(contact: str, header: str) -> int:
    for parameter in contact.rsplit(">", 1)[-1].split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "expires" and value.strip().isdigit():
            return int(value)
    return int(header) if header.isdigit() else DEFAULT_EXPIRES


def phone_address(source: str) -> Address | None:
    """Where a registered phone is reached (the `source` kept with its binding)."""
    ip, _, rest = source.partition("|")
    port, _, transport = rest.partition("|")
    if not port.isdigit() or transport not in ("udp", "tcp"):
        return None
    return ip, int(port), transport

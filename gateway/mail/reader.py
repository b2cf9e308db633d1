"""Reading one mailbox over IMAP: new mail in, as it arrives, handed to the channel that
claims it (see mailboxes.MailConsumer).

One gateway process at a time reads a mailbox: it holds the mailbox's lease (a conditional UPDATE
on its row) and renews it while it works; a process that dies lets the lease run out and another
takes over. The place in the folder is durable: UIDVALIDITY and the last UID stored (written
with each mail, see mailboxes.py), so a restart reads on from there — never re-reading a whole
window as the peers do (chatwoot#14983). A changed UIDVALIDITY starts the folder over, and
de-duplication by Message-ID keeps what was stored from being stored again.

New mail is waited for with IMAP IDLE where the server offers it, else by polling; IDLE is
bounded by timeouts on our side (aioimaplib's idle can hang when the server answers BYE). Mail is
fetched in batches of UIDs (one huge FETCH slows aioimaplib sharply), and a mail larger than the
limit is stored from its headers, with a warning, and left in the mailbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aioimaplib
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import MailboxesConfig
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.events.targets import UnsafeTarget, vetted_address
from gateway.mail.imap import connect_imap
from gateway.mail.mailboxes import Mailbox, MailConsumer, already_received, read_upto, rfc_message_id
from gateway.mail.parse import ParsedEmail

log = logging.getLogger(__name__)

Parse = Callable[[bytes], Awaitable[ParsedEmail]]
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]", re.IGNORECASE)
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_LITERAL = re.compile(rb"\{(\d+)\}$")
_FETCH_LINE = re.compile(rb"^\d+ FETCH ")
# What, of a mailbox row, a live IMAP session depends on: a change reconnects.
_SESSION_FIELDS = ("imap_host", "imap_port", "imap_security", "imap_username", "imap_password", "folder", "after_store", "move_to")


class MailboxError(Exception):
    """A mailbox that cannot be read as configured; the message is shown to admins (no secrets)."""


def _select_code(lines: list[Any], code: re.Pattern[bytes]) -> int | None:
    for line in lines:
        if isinstance(line, (bytes, bytearray)):
            found = code.search(line)
            if found:
                return int(found.group(1))
    return None


def uidvalidity_of(lines: list[Any]) -> int | None:
    return _select_code(lines, _UIDVALIDITY)


def fetched_messages(lines: list[Any]) -> list[tuple[int, int | None, bytes]]:
    """(uid, size, literal) of each message in a UID FETCH answer. aioimaplib hands the answer as
    lines with each literal as its own item after the line announcing it."""
    found: list[tuple[int, int | None, bytes]] = []
    items = list(lines)
    for i, line in enumerate(items):
        if not isinstance(line, bytes) or not _FETCH_LINE.match(line):
            continue
        literal = _LITERAL.search(line)
        body = bytes(items[i + 1]) if literal and i + 1 < len(items) else b""
        # Servers may put UID after the literal, on the closing line.
        tail = items[i + 2] if literal and i + 2 < len(items) and isinstance(items[i + 2], bytes) else b""
        uid = _FETCH_UID.search(line) or _FETCH_UID.search(tail)
        size = _FETCH_SIZE.search(line) or _FETCH_SIZE.search(tail)
        if uid:
            found.append((int(uid.group(1)), int(size.group(1)) if size else None, body))
    return found


class LeaseLost(Exception):
    """Another process took the mailbox over (or it was switched off or reconfigured)."""


_STORE_ATTEMPTS = 3


def _describe(exc: BaseException) -> str:
    """What admins see of a failure: never SQL (it may quote mail content) or secrets."""
    if isinstance(exc, MailboxError):
        return str(exc)
    if isinstance(exc, asyncio.TimeoutError):
        return "the mail server did not answer in time"
    if isinstance(exc, SQLAlchemyError):
        return "a mail could not be stored (database error; see the gateway's log)"
    if isinstance(exc, (OSError, ssl.SSLError, aioimaplib.Abort, aioimaplib.Error)):
        return f"{type(exc).__name__}: {exc}"[:500]
    return f"unexpected {type(exc).__name__} (see the gateway's log)"


class MailboxReader:
    def __init__(self, db: AsyncEngine, mailbox_id: str, settings: MailboxesConfig, *, owner: str, parse: Parse,
                 consumers: list[MailConsumer], ssl_context: ssl.SSLContext, private_servers_allowed: bool) -> None:
        self._db = db
        self.mailbox_id = mailbox_id
        self._settings = settings
        self._owner = owner
        self._parse = parse
        self._consumers = sorted(consumers, key=lambda c: -c.priority)
        self._ssl_context = ssl_context
        self._private_servers_allowed = private_servers_allowed
        # A mail that fails to be stored again and again must not hold up the ones behind it.
        self._failed_uid: tuple[int, int] | None = None  # (uid, failures)

    async def run(self) -> None:
        failures = 0
        while True:
            row = await self._claim()
            if row is None:  # another process reads it, or it was switched off
                await asyncio.sleep(self._settings.lease_seconds / 3)
                continue
            try:
                await self._session(row)
                failures = 0
            except asyncio.CancelledError:
                raise
            except LeaseLost:
                continue
            except Exception as exc:
                failures += 1
                log.warning("mailbox failed", extra={"mailbox_id": self.mailbox_id, "error": _describe(exc)},
                            exc_info=not isinstance(exc, (MailboxError, asyncio.TimeoutError, OSError)))
                await self._set_state("error", _describe(exc))
                # Back off, with jitter so many mailboxes of one down server don't retry in step.
                await asyncio.sleep(min(self._settings.max_backoff_seconds, 2 ** min(failures, 10)) * random.uniform(0.5, 1.0))

    async def release(self) -> None:
        """Give the lease up (on shutdown) so another process takes over at once."""
        b = t.mailboxes
        async with self._db.begin() as conn:
            await conn.execute(sa.update(b).where(b.c.id == self.mailbox_id, b.c.lease_owner == self._owner)
                                    .values(lease_owner=None, lease_until=None))

    # ---- the lease ----
    async def _claim(self) -> Any | None:
        """Take or renew the lease; the mailbox's row when this process holds it."""
        b = t.mailboxes
        now = utcnow()
        async with self._db.begin() as conn:
            taken = await conn.execute(sa.update(b).where(
                b.c.id == self.mailbox_id, b.c.enabled.is_(True),
                sa.or_(b.c.lease_owner.is_(None), b.c.lease_owner == self._owner, b.c.lease_until < now),
            ).values(lease_owner=self._owner, lease_until=now + timedelta(seconds=self._settings.lease_seconds)))
            if taken.rowcount != 1:
                return None
            return (await conn.execute(sa.select(b).where(b.c.id == self.mailbox_id))).one()

    async def _renew(self, row: Any) -> Any:
        """Keep the lease (often enough that it never runs out while this process reads), or
        stop: another process has the mailbox, or it was switched off or its connection was
        reconfigured. Returns the mailbox's settings as they are now."""
        current = await self._claim()
        if current is None or any(getattr(current, f) != getattr(row, f) for f in _SESSION_FIELDS):
            raise LeaseLost()
        return current

    async def _warn(self, warning: str) -> None:
        """Tell the admin something a later good read must not wipe (last_error is the state's)."""
        b = t.mailboxes
        async with self._db.begin() as conn:
            await conn.execute(sa.update(b).where(b.c.id == self.mailbox_id).values(warning=warning[:500]))

    async def _set_state(self, state: str, error: str | None) -> None:
        b = t.mailboxes
        values: dict[str, Any] = {"state": state, "last_error": error}
        if state == "connected":
            values["last_synced_at"] = utcnow()
        async with self._db.begin() as conn:
            await conn.execute(sa.update(b).where(b.c.id == self.mailbox_id).values(**values))

    # ---- one IMAP session ----
    async def _session(self, row: Any) -> None:
        timeout = self._settings.timeout_seconds
        address = None  # connect by name: private servers are allowed anyway
        if not self._private_servers_allowed:
            try:  # checked at each connection, and the checked address is the one connected to (no second lookup to rebind)
                address = await vetted_address(row.imap_host.strip("[]"))
            except UnsafeTarget as exc:
                raise MailboxError(str(exc)) from None
        lost = asyncio.Event()  # set when the connection drops: the IDLE wait below ends at once
        client = await connect_imap(row.imap_host, row.imap_port, row.imap_security, ssl_context=self._ssl_context,
                                    timeout=timeout, conn_lost_cb=lambda exc: lost.set(), address=address)
        try:
            if (await client.login(row.imap_username, row.imap_password)).result != "OK":
                raise MailboxError("the mail server refused the login")
            selected = await asyncio.wait_for(client.select(row.folder), timeout)
            if selected.result != "OK":
                raise MailboxError(f"the mail server has no folder {row.folder!r}")
            last_uid, import_upto = await self._check_uidvalidity(client, row, selected.lines)
            await self._set_state("connected", None)
            while not lost.is_set():
                # Read fresh before each batch: a queue or address the admin changed applies to the
                # next mail without reconnecting.
                current = await self._renew(row)
                mailbox = Mailbox(row.id, row.tenant_id, current.address, current.queue_id)
                last_uid = await self._read_new(client, row, mailbox, last_uid, import_upto)
                await self._set_state("connected", None)
                await self._wait_for_mail(client, lost)
            raise MailboxError("the mail server closed the connection")
        finally:
            await self._close(client)

    async def _check_uidvalidity(self, client: aioimaplib.IMAP4, row: Any, selected: list[Any]) -> tuple[int, int | None]:
        """Where to read on from: (the last UID read, the import bound). A folder read for the first
        time, or whose UIDVALIDITY changed (its UIDs were reset), starts over, taking of the mail
        already there what the mailbox's import_existing says."""
        uidvalidity = uidvalidity_of(selected)
        if uidvalidity is None:
            raise MailboxError("the mail server sent no UIDVALIDITY")
        if row.uidvalidity == uidvalidity:
            return int(row.last_uid), row.import_upto
        if row.uidvalidity is not None:
            log.warning("mailbox UIDVALIDITY changed; reading the folder again",
                        extra={"mailbox_id": row.id, "old": row.uidvalidity, "new": uidvalidity})
        last_uid, import_upto = 0, None
        if row.import_existing != "all":
            newest = await self._newest_uid(client, selected)
            if row.import_existing == "none":
                last_uid = newest
            elif newest:
                import_upto = newest
        b = t.mailboxes
        async with self._db.begin() as conn:
            await conn.execute(sa.update(b).where(b.c.id == row.id).values(
                uidvalidity=uidvalidity, last_uid=last_uid, import_upto=import_upto))
        return last_uid, import_upto

    async def _newest_uid(self, client: aioimaplib.IMAP4, selected: list[Any]) -> int:
        uidnext = _select_code(selected, _UIDNEXT)
        if uidnext is not None:
            return uidnext - 1
        found = await asyncio.wait_for(client.uid_search("ALL", charset=None), self._settings.timeout_seconds)
        if found.result != "OK":
            raise MailboxError("the mail server refused to search the folder")
        return max(_search_uids(found.lines), default=0)

    async def _read_new(self, client: aioimaplib.IMAP4, row: Any, mailbox: Mailbox, last_uid: int, import_upto: int | None) -> int:
        importing = import_upto is not None and last_uid < import_upto
        uids = await self._search(client, f"UID {last_uid + 1}:{import_upto} UNSEEN") if importing else []
        # "n:*" always matches the newest message, even one below n.
        after = max(last_uid, import_upto or 0)
        uids += [u for u in await self._search(client, f"UID {after + 1}:*") if u > after]
        uids = sorted(u for u in set(uids) if u > last_uid)
        for start in range(0, len(uids), self._settings.batch_size):
            batch = uids[start:start + self._settings.batch_size]
            stored = await self._read_batch(client, mailbox, batch)
            await self._after_store(client, row, stored)
            last_uid = max(batch)
            await self._renew(row)
        if importing and last_uid < after:  # the unseen mail of the import is all in: read past the seen
            async with self._db.begin() as conn:
                await read_upto(conn, mailbox.id, after)
            last_uid = after
        return last_uid

    async def _search(self, client: aioimaplib.IMAP4, criteria: str) -> list[int]:
        found = await asyncio.wait_for(client.uid_search(criteria, charset=None), self._settings.timeout_seconds)
        if found.result != "OK":
            raise MailboxError("the mail server refused to search the folder")
        return _search_uids(found.lines)

    async def _read_batch(self, client: aioimaplib.IMAP4, mailbox: Mailbox, batch: list[int]) -> list[int]:
        timeout = self._settings.fetch_timeout_seconds
        limit = self._settings.max_message_bytes
        wanted = set(batch)
        answer = await asyncio.wait_for(client.uid("fetch", _uid_set(batch), "(UID RFC822.SIZE)"), timeout)
        sizes = {uid: size or 0 for uid, size, _ in fetched_messages(answer.lines) if uid in wanted}
        too_big = sorted(uid for uid, size in sizes.items() if size > limit)
        messages = []
        # Whole mails in groups of at most one largest mail's worth of bytes: a batch of big
        # mails is not all held in memory at once.
        group: list[int] = []
        fitting = [u for u in batch if u in sizes and u not in too_big]
        for i, uid in enumerate(fitting):
            group.append(uid)
            if i + 1 == len(fitting) or sum(sizes[u] for u in group) + sizes[fitting[i + 1]] > limit:
                answer = await asyncio.wait_for(client.uid("fetch", _uid_set(group), "(UID BODY.PEEK[])"), timeout)
                messages += [(u, raw, False) for u, _, raw in fetched_messages(answer.lines) if u in wanted]
                group = []
        if too_big:
            answer = await asyncio.wait_for(client.uid("fetch", _uid_set(too_big), "(UID BODY.PEEK[HEADER])"), timeout)
            messages += [(u, raw, True) for u, _, raw in fetched_messages(answer.lines) if u in wanted]
        stored = []
        messages.sort()
        # Parsed side by side (in the parser pool's processes), stored one by one, in UID order.
        parsed_all = await asyncio.gather(*(self._parse(raw) for _, raw, _ in messages))
        for (uid, raw, truncated), parsed in zip(messages, parsed_all):
            if truncated:
                parsed = dataclasses.replace(parsed, problems=[*parsed.problems, (
                    f"This mail is larger than {limit // 1_000_000} MB: only its headers were read; "
                    "the whole mail is still in the mailbox")])
            # A mail only partly read, or that no channel took, stays where it is, unseen.
            if await self._hand_over(mailbox, uid, raw, parsed) and not truncated:
                stored.append(uid)
        return stored

    async def _hand_over(self, mailbox: Mailbox, uid: int, raw: bytes, parsed: ParsedEmail) -> bool:
        """To the first channel that claims the mail; False when none does (it stays in the
        mailbox as it is). One already stored is only read past."""
        async with self._db.connect() as conn:
            known = await already_received(conn, mailbox.tenant_id, rfc_message_id(parsed, raw))
        if not known:
            try:
                for consumer in self._consumers:
                    if await consumer.claims(mailbox, parsed):
                        await consumer.store(mailbox, raw, parsed, uid=uid)
                        return True
            except Exception as exc:
                async with self._db.connect() as conn:  # stored a moment ago by another reader (the same mail in two mailboxes)?
                    known = await already_received(conn, mailbox.tenant_id, rfc_message_id(parsed, raw))
                if not known and not self._give_up_on(uid):
                    raise
                if not known:
                    await self._warn(f"mail UID {uid} could not be stored ({_describe(exc)}); "
                                     "it was left in the mailbox, unseen, and the mail after it was read on")
                    log.error("mail skipped after repeated failures", extra={"mailbox_id": mailbox.id, "uid": uid}, exc_info=True)
        async with self._db.begin() as conn:
            await read_upto(conn, mailbox.id, uid)
        return known

    def _give_up_on(self, uid: int) -> bool:
        failures = self._failed_uid[1] + 1 if self._failed_uid and self._failed_uid[0] == uid else 1
        self._failed_uid = (uid, failures)
        return failures >= _STORE_ATTEMPTS

    async def _after_store(self, client: aioimaplib.IMAP4, row: Any, uids: list[int]) -> None:
        """Mark what was stored as seen, or move it away, as the mailbox is set up. Done after the
        mail is stored: if this fails the mail is already safe, and the UID is past."""
        if not uids:
            return
        timeout = self._settings.timeout_seconds
        uid_set = _uid_set(uids)
        if row.after_store == "move" and row.move_to:
            if "MOVE" in client.protocol.capabilities:
                answer = await asyncio.wait_for(client.uid("move", uid_set, row.move_to), timeout)
            else:
                answer = await asyncio.wait_for(client.uid("copy", uid_set, row.move_to), timeout)
                if answer.result == "OK":
                    await asyncio.wait_for(client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), timeout)
                    # Only our own: a plain EXPUNGE would remove whatever else is marked \Deleted.
                    if "UIDPLUS" in client.protocol.capabilities:
                        await asyncio.wait_for(client.uid("expunge", uid_set), timeout)
        else:
            answer = await asyncio.wait_for(client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Seen)"), timeout)
        if answer.result != "OK":
            log.warning("mailbox refused to mark mail", extra={"mailbox_id": row.id, "after_store": row.after_store})

    async def _wait_for_mail(self, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        # Back in time to renew the lease before it runs out.
        wait = min(self._settings.idle_seconds, self._settings.lease_seconds / 3)
        if "IDLE" not in client.protocol.capabilities:
            try:
                await asyncio.wait_for(lost.wait(), min(self._settings.poll_seconds, wait))
            except asyncio.TimeoutError:
                pass
            return
        timeout = self._settings.timeout_seconds
        idle = await asyncio.wait_for(client.idle_start(timeout=wait + timeout), timeout)
        push = asyncio.ensure_future(client.wait_server_push(timeout=wait))
        dropped = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({push, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            push.cancel()
            dropped.cancel()
        if lost.is_set():
            idle.cancel()
            return
        client.idle_done()
        await asyncio.wait_for(idle, timeout)

    async def _close(self, client: aioimaplib.IMAP4) -> None:
        try:
            if client.has_pending_idle():  # stopped while waiting in IDLE: the server hears nothing else before DONE
                client.idle_done()
            await asyncio.wait_for(client.logout(), 5)
        except Exception:  # already gone: nothing to say goodbye to
            pass
        transport = client.protocol.transport
        if transport is not None:
            transport.close()


def _search_uids(lines: list[Any]) -> list[int]:
    uids: list[int] = []
    for line in lines[:-1]:  # the last is the server's closing words
        if isinstance(line, bytes):
            text = line.decode("ascii", "replace")
            uids += [int(w) for w in text.replace("SEARCH", " ").split() if w.isdigit()]
    return uids


def _uid_set(uids: list[int]) -> str:
    return ",".join(map(str, uids))

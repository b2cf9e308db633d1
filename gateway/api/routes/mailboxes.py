"""A tenant's mailboxes (tenant admins; operators on any tenant): where the email channel reads
customers' mail (IMAP) and sends the agents' replies from (SMTP). Passwords are write-only: the
API says whether one is set, never what it is, and the audit log never records them.

Mail servers must be public hosts unless the operator allows private ones
(`mail.tenant_servers_may_be_private`): otherwise a tenant admin could make the gateway connect
into the center's own network."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import phonenumbers
import sqlalchemy as sa
from pydantic import BaseModel, EmailStr, Field, SecretStr, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Items
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.targets import UnsafeTarget, check_public_host
from gateway.keys import CHANNELS, CONFIG, DB

Security = Literal["tls", "starttls", "none"]
AfterStore = Literal["seen", "move"]
ImportExisting = Literal["all", "unseen", "none"]
_IMPORT_EXISTING = ("what of the mail already in the folder is taken when intake first reads it (or the folder starts over): "
                    "all of it, only the unseen (default), or none (only mail that arrives from then on)")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]{2,45}\]?$")
_SECRETS = ("imap_password", "smtp_password")
# What a PATCH may clear by sending null; everything else a mailbox always has.
_CLEARABLE = {"move_to", "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password", "queue_id", "fax_rules",
              "warning"}


def _host(value: str | None) -> str | None:
    if value is not None and not _HOST.match(value):
        raise ValueError("a host name or IP address, without scheme or port")
    return value


class FaxRule(Input):
    """Which of a mailbox's mail is a fax from a fax-to-email service, and how to read it. Its
    shape is checked here; what its patterns mean, by the fax channel (mailbox_problems)."""

    profile: Literal["hylafax", "efax", "generic"]
    sender_pattern: str = Field("", max_length=254, description="glob on the From address, e.g. *@fax.example; empty: any")
    subject_pattern: str = Field("", max_length=300, description="regular expression the subject must match")
    number_pattern: str = Field("", max_length=300, description="generic: a regex whose first group is the sender's fax number")
    csid_pattern: str = Field("", max_length=300, description="generic: a regex whose first group is the station id")
    pages_pattern: str = Field("", max_length=300, description="generic: a regex whose first group is the page count")
    default_region: str = Field("", max_length=2, description="country (ISO 3166) of numbers written without one, e.g. DE")
    reply_address: str = Field("", max_length=254, description="where replies by fax go, e.g. {number}@fax.example")
    queue_id: str | None = Field(None, max_length=36)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a country code phonenumbers knows (e.g. US, DE, CN)")
        return value.upper()

    @field_validator("reply_address")
    @classmethod
    def _reply(cls, value: str) -> str:
        if value and ("{number}" not in value or "@" not in value or value.count("{") != 1):
            raise ValueError("an address with {number} in it, e.g. {number}@fax.example")
        return value


class MailboxOut(BaseModel):
    id: str
    name: str
    address: str
    imap_host: str
    imap_port: int
    imap_security: Security
    imap_username: str
    imap_password_set: bool
    folder: str
    after_store: AfterStore
    move_to: str | None
    smtp_host: str | None
    smtp_port: int | None
    smtp_security: Security | None
    smtp_username: str | None
    smtp_password_set: bool
    queue_id: str | None
    signature: str
    fax_rules: list[FaxRule]
    enabled: bool
    import_existing: ImportExisting
    # Health: idle (not read yet), connected, error (with last_error).
    state: str
    last_error: str | None
    # What the admin should know until they dismiss it (a mail that could not be stored).
    warning: str | None
    last_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class _MailboxFields(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    address: EmailStr | None = None
    imap_host: str | None = Field(None, max_length=255)
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_security: Security | None = None
    imap_username: str | None = Field(None, min_length=1, max_length=255)
    imap_password: SecretStr | None = Field(None, max_length=500)
    folder: str | None = Field(None, min_length=1, max_length=200)
    after_store: AfterStore | None = None
    move_to: str | None = Field(None, min_length=1, max_length=200)
    smtp_host: str | None = Field(None, max_length=255)
    smtp_port: int | None = Field(None, ge=1, le=65535)
    smtp_security: Security | None = None
    smtp_username: str | None = Field(None, max_length=255)
    smtp_password: SecretStr | None = Field(None, max_length=500)
    queue_id: str | None = Field(None, max_length=36)
    signature: str | None = Field(None, max_length=5000)
    fax_rules: list[FaxRule] | None = Field(None, max_length=10)
    enabled: bool | None = None
    import_existing: ImportExisting | None = Field(None, description=_IMPORT_EXISTING)

    _hosts = field_validator("imap_host", "smtp_host")(_host)


class MailboxCreate(_MailboxFields):
    name: str = Field(min_length=1, max_length=100)
    address: EmailStr
    imap_host: str = Field(max_length=255)
    imap_port: int = Field(993, ge=1, le=65535)
    imap_security: Security = "tls"
    imap_username: str = Field(min_length=1, max_length=255)
    imap_password: SecretStr = Field(max_length=500)
    folder: str = Field("INBOX", min_length=1, max_length=200)
    after_store: AfterStore = "seen"
    enabled: bool = True
    import_existing: ImportExisting = Field("unseen", description=_IMPORT_EXISTING)


class MailboxUpdate(_MailboxFields):
    warning: None = Field(None, description="null dismisses the mailbox's warning")


def _out(row: Any) -> MailboxOut:
    values = {k: v for k, v in row._asdict().items() if k in MailboxOut.model_fields}
    values["fax_rules"] = row.fax_rules or []
    return MailboxOut(**values, imap_password_set=bool(row.imap_password), smtp_password_set=bool(row.smtp_password))


def _columns(body: _MailboxFields, *, exclude_unset: bool) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=exclude_unset)
    for key in _SECRETS:
        if isinstance(values.get(key), SecretStr):
            values[key] = values[key].get_secret_value()
    if values.get("address"):
        values["address"] = values["address"].lower()
    return values


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("(set)" if k in _SECRETS and v else v) for k, v in values.items()}


async def _load(conn: AsyncConnection, tenant_id: str, mailbox_id: str) -> Any:
    row = (await conn.execute(sa.select(t.mailboxes).where(t.mailboxes.c.tenant_id == tenant_id, t.mailboxes.c.id == mailbox_id))).first()
    if row is None:
        raise not_found("mailbox")
    return row


async def _check(call: Call, conn: AsyncConnection, tenant_id: str, merged: dict[str, Any]) -> None:
    """What a single field can't say: the whole mailbox makes sense, in this tenant."""
    if merged.get("after_store") == "move" and not merged.get("move_to"):
        raise ApiError(422, "invalid", "after_store 'move' needs move_to, the folder to move stored mail to",
                       details=[{"field": "move_to", "message": "required when after_store is 'move'"}])
    if merged.get("smtp_host") and (not merged.get("smtp_port") or not merged.get("smtp_security")):
        raise ApiError(422, "invalid", "an SMTP server needs smtp_port and smtp_security as well",
                       details=[{"field": "smtp_port", "message": "required with smtp_host"}])
    queues = [("queue_id", merged.get("queue_id"))]
    queues += [(f"fax_rules.{i}.queue_id", rule.get("queue_id")) for i, rule in enumerate(merged.get("fax_rules") or [])]
    for field, queue_id in queues:
        if queue_id and (await conn.execute(sa.select(t.queues.c.id).where(
                t.queues.c.tenant_id == tenant_id, t.queues.c.id == queue_id))).first() is None:
            raise ApiError(422, "invalid", "no such queue in this tenant", details=[{"field": field, "message": "unknown queue"}])
    problems = call.app[CHANNELS].mailbox_problems(merged)
    if problems:
        raise ApiError(422, "invalid", "; ".join(f"{field}: {words}" for field, words in problems),
                       details=[{"field": field, "message": words} for field, words in problems])
    if call.app[CONFIG].mail.tenant_servers_may_be_private:
        return
    # Without TLS the passwords cross the network in clear: only for a server on the center's
    # own network, which is refused here anyway.
    for field in ("imap_security", "smtp_security"):
        if merged.get(field) == "none":
            raise ApiError(422, "insecure", f"{field} 'none' would send the password in clear; use 'tls' or 'starttls'",
                           details=[{"field": field, "message": "'none' is only for a server on the center's own network"}])
    for field in ("imap_host", "smtp_host"):
        if merged.get(field):
            try:
                await check_public_host(merged[field].strip("[]"))
            except UnsafeTarget as exc:
                raise ApiError(422, "unsafe_host", str(exc), details=[{"field": field, "message": str(exc)}]) from None


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/mailboxes", summary="The tenant's mailboxes and their health (never passwords)",
               tag="mailboxes", response=Items[MailboxOut], errors=(404,))
    async def list_mailboxes(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "mailbox")
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(t.mailboxes).where(t.mailboxes.c.tenant_id == tenant_id).order_by(t.mailboxes.c.name))).all()
        return Items[MailboxOut](items=[_out(r) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/mailboxes", summary="Add a mailbox; intake starts within the email channel's refresh",
               tag="mailboxes", body=MailboxCreate, response=MailboxOut, status=201, errors=(404, 409))
    async def create_mailbox(call: Call) -> MailboxOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "mailbox")
        values = _columns(call.body, exclude_unset=False)
        mailbox_id, now = new_id(), utcnow()
        async with call.app[DB].begin() as conn:
            await _check(call, conn, tenant_id, values)
            taken = (await conn.execute(sa.select(t.mailboxes.c.id).where(
                t.mailboxes.c.tenant_id == tenant_id, t.mailboxes.c.name == values["name"]))).first()
            if taken is not None:
                raise ApiError(409, "name_taken", f"the tenant has a mailbox named {values['name']!r} already")
            await conn.execute(sa.insert(t.mailboxes).values(
                **{k: v for k, v in values.items() if v is not None}, id=mailbox_id, tenant_id=tenant_id, created_at=now, updated_at=now))
            await audit(conn, "mailbox.created", principal=call.user, tenant_id=tenant_id, target_type="mailbox", target_id=mailbox_id,
                        data=_audited(values))
            return _out(await _load(conn, tenant_id, mailbox_id))

    @api.route("GET", "/tenants/{tenant_id}/mailboxes/{mailbox_id}", summary="One mailbox and its health", tag="mailboxes",
               response=MailboxOut, errors=(404,))
    async def get_mailbox(call: Call) -> MailboxOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "mailbox")
        async with call.app[DB].connect() as conn:
            return _out(await _load(conn, tenant_id, call.path("mailbox_id")))

    @api.route("PATCH", "/tenants/{tenant_id}/mailboxes/{mailbox_id}",
               summary="Change a mailbox; a reader connected with the old settings reconnects", tag="mailboxes",
               body=MailboxUpdate, response=MailboxOut, errors=(404, 409))
    async def update_mailbox(call: Call) -> MailboxOut:
        tenant_id, mailbox_id = call.path("tenant_id"), call.path("mailbox_id")
        call.user.require(tenant_id, ADMIN, "mailbox")
        changes = _columns(call.body, exclude_unset=True)
        required = sorted(k for k, v in changes.items() if v is None and k not in _CLEARABLE)
        if required:
            raise ApiError(422, "invalid", f"{', '.join(required)} cannot be cleared",
                           details=[{"field": k, "message": "cannot be null"} for k in required])
        async with call.app[DB].begin() as conn:
            row = await _load(conn, tenant_id, mailbox_id)
            await _check(call, conn, tenant_id, {**row._asdict(), **changes})
            if "name" in changes and changes["name"] != row.name and (await conn.execute(sa.select(t.mailboxes.c.id).where(
                    t.mailboxes.c.tenant_id == tenant_id, t.mailboxes.c.name == changes["name"]))).first():
                raise ApiError(409, "name_taken", f"the tenant has a mailbox named {changes['name']!r} already")
            if changes:
                place = {}
                if any(k in changes and changes[k] != getattr(row, k) for k in ("imap_host", "imap_username", "folder")):
                    place = {"uidvalidity": None, "last_uid": 0, "import_upto": None}  # another folder: its UIDs mean nothing here
                await conn.execute(sa.update(t.mailboxes).where(t.mailboxes.c.id == mailbox_id).values(
                    **changes, **place, updated_at=utcnow()))
                await audit(conn, "mailbox.updated", principal=call.user, tenant_id=tenant_id, target_type="mailbox",
                            target_id=mailbox_id, data=_audited(changes))
            return _out(await _load(conn, tenant_id, mailbox_id))

    @api.route("DELETE", "/tenants/{tenant_id}/mailboxes/{mailbox_id}",
               summary="Remove a mailbox; its conversations and mail stay", tag="mailboxes", errors=(404,))
    async def delete_mailbox(call: Call) -> None:
        tenant_id, mailbox_id = call.path("tenant_id"), call.path("mailbox_id")
        call.user.require(tenant_id, ADMIN, "mailbox")
        async with call.app[DB].begin() as conn:
            result = await conn.execute(sa.delete(t.mailboxes).where(t.mailboxes.c.tenant_id == tenant_id, t.mailboxes.c.id == mailbox_id))
            if result.rowcount == 0:
                raise not_found("mailbox")
            await audit(conn, "mailbox.deleted", principal=call.user, tenant_id=tenant_id, target_type="mailbox", target_id=mailbox_id)

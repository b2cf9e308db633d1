"""Contacts: search, edit, merge, and the whole cross-channel history of one customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Page, PageQuery, decode_cursor, encode_cursor, page_of
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.conversations import ConversationOut, conversation_out, like_pattern, select_conversations
from gateway.auth.principal import CONTACTS_READ, CONTACTS_WRITE, CONVERSATIONS_READ, Principal
from gateway.core.contacts import add_identity, merge_contacts
from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import DomainEvent, record_event
from gateway.keys import DB, EVENTS

IdentityKind = Literal["email", "phone", "fax", "visitor", "external"]
Attributes = dict[str, str | int | float | bool | None]


class IdentityIn(Input):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class IdentityOut(BaseModel):
    id: str
    kind: str
    value: str


class ContactOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    attributes: dict[str, Any]
    vip_tier: int
    identities: list[IdentityOut]
    merged_into_id: str | None
    created_at: datetime
    updated_at: datetime


class ContactQuery(PageQuery):
    tenant_id: str | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="part of the name or of any identity")


class ContactCreate(Input):
    tenant_id: str
    name: str = Field("", max_length=200)
    attributes: Attributes = Field(default_factory=dict, max_length=100)
    vip_tier: int = Field(0, ge=0, le=9)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


class ContactUpdate(Input):
    name: str | None = Field(None, max_length=200)
    attributes: Attributes | None = Field(None, max_length=100)
    vip_tier: int | None = Field(None, ge=0, le=9)
    add_identities: list[IdentityIn] = Field(default_factory=list, max_length=50)
    remove_identity_ids: list[str] = Field(default_factory=list, max_length=50)


class MergeInput(Input):
    other_contact_id: str


async def _load(conn: AsyncConnection, principal: Principal, contact_id: str, permission: str) -> ContactOut:
    row = (
        await conn.execute(
            sa.select(t.contacts).where(t.contacts.c.id == contact_id, principal.tenant_filter(t.contacts.c.tenant_id, CONTACTS_READ))
        )
    ).first()
    if row is None:
        raise not_found("contact")
    principal.require(row.tenant_id, permission, "contact")
    identities = (
        await conn.execute(
            sa.select(t.contact_identities).where(t.contact_identities.c.contact_id == row.id).order_by(t.contact_identities.c.kind, t.contact_identities.c.value)
        )
    ).all()
    return ContactOut(
        id=row.id, tenant_id=row.tenant_id, name=row.name, attributes=row.attributes, vip_tier=row.vip_tier,
        identities=[IdentityOut(id=i.id, kind=i.kind, value=i.value) for i in identities],
        merged_into_id=row.merged_into_id, created_at=row.created_at, updated_at=row.updated_at,
    )


async def _add_identities(conn: AsyncConnection, tenant_id: str, contact_id: str, identities: list[IdentityIn]) -> None:
    for identity in identities:
        try:
            added = await add_identity(conn, tenant_id, contact_id, identity.kind, identity.value)
        except InvalidIdentity as exc:
            raise ApiError(422, "invalid_identity", str(exc)) from None
        if not added:
            owner = (await conn.execute(sa.select(t.contact_identities.c.contact_id).where(
                t.contact_identities.c.tenant_id == tenant_id, t.contact_identities.c.kind == identity.kind,
                t.contact_identities.c.value == normalise_identity(identity.kind, identity.value)))).scalar_one()
            if owner != contact_id:
                raise ApiError(409, "identity_taken", f"{identity.kind} {identity.value} belongs to another contact; merge the two instead",
                               details={"contact_id": owner})


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/contacts", summary="Search contacts by name or identity", tag="contacts",
               query=ContactQuery, response=Page[ContactOut])
    async def list_contacts(call: Call) -> BaseModel:
        query: ContactQuery = call.query
        c = t.contacts.c
        stmt = sa.select(c.id).where(call.user.tenant_filter(c.tenant_id, CONTACTS_READ), c.merged_into_id.is_(None))
        if query.tenant_id:
            stmt = stmt.where(c.tenant_id == query.tenant_id)
        if query.q:
            pattern = like_pattern(query.q)
            by_identity = sa.exists().where(
                t.contact_identities.c.contact_id == c.id, t.contact_identities.c.value.ilike(pattern, escape="\\"))
            stmt = stmt.where(sa.or_(c.name.ilike(pattern, escape="\\"), by_identity))
        if query.cursor:
            stmt = stmt.where(c.id < decode_cursor(query.cursor, 1)[0])
        async with call.app[DB].connect() as conn:
            ids = (await conn.execute(stmt.order_by(c.id.desc()).limit(query.limit + 1))).scalars().all()
            items = [await _load(conn, call.user, cid, CONTACTS_READ) for cid in ids[: query.limit]]
        more = len(ids) > query.limit and bool(items)  # contacts load one by one, so no page_of here
        return Page[ContactOut](items=items, next_cursor=encode_cursor(items[-1].id) if more else None)

    @api.route("POST", "/contacts", summary="Create a contact", tag="contacts", body=ContactCreate,
               response=ContactOut, status=201, errors=(404, 409))
    async def create_contact(call: Call) -> ContactOut:
        body: ContactCreate = call.body
        call.user.require(body.tenant_id, CONTACTS_WRITE, "tenant")
        contact_id = new_id()
        now = utcnow()
        async with call.app[DB].begin() as conn:
            await conn.execute(sa.insert(t.contacts).values(
                id=contact_id, tenant_id=body.tenant_id, name=body.name, attributes=body.attributes, vip_tier=body.vip_tier,
                created_at=now, updated_at=now))
            await _add_identities(conn, body.tenant_id, contact_id, body.identities)
            event = await record_event(conn, "contact.created", body.tenant_id, {"contact_id": contact_id, "name": body.name}, actor=call.user.actor)
            out = await _load(conn, call.user, contact_id, CONTACTS_READ)
        await call.app[EVENTS].publish(event)
        return out

    @api.route("GET", "/contacts/{contact_id}", summary="One contact with its identities", tag="contacts",
               response=ContactOut, errors=(404,))
    async def get_contact(call: Call) -> ContactOut:
        async with call.app[DB].connect() as conn:
            return await _load(conn, call.user, call.path("contact_id"), CONTACTS_READ)

    @api.route("PATCH", "/contacts/{contact_id}", summary="Edit a contact's fields and identities", tag="contacts",
               body=ContactUpdate, response=ContactOut, errors=(404, 409))
    async def update_contact(call: Call) -> ContactOut:
        body: ContactUpdate = call.body
        async with call.app[DB].begin() as conn:
            contact = await _load(conn, call.user, call.path("contact_id"), CONTACTS_WRITE)
            if contact.merged_into_id:
                raise ApiError(409, "contact_merged", "this contact was merged; edit the one it was merged into", details={"contact_id": contact.merged_into_id})
            fields = body.model_dump(include={"name", "attributes", "vip_tier"}, exclude_none=True)
            await conn.execute(sa.update(t.contacts).where(t.contacts.c.id == contact.id).values(**fields, updated_at=utcnow()))
            if body.remove_identity_ids:
                await conn.execute(sa.delete(t.contact_identities).where(
                    t.contact_identities.c.contact_id == contact.id, t.contact_identities.c.id.in_(body.remove_identity_ids)))
            await _add_identities(conn, contact.tenant_id, contact.id, body.add_identities)
            event = await record_event(conn, "contact.updated", contact.tenant_id, {"contact_id": contact.id}, actor=call.user.actor)
            out = await _load(conn, call.user, contact.id, CONTACTS_READ)
        await call.app[EVENTS].publish(event)
        return out

    @api.route("POST", "/contacts/{contact_id}/merge", summary="Merge another contact of the same tenant into this one",
               tag="contacts", body=MergeInput, response=ContactOut, errors=(404, 409))
    async def merge(call: Call) -> ContactOut:
        keep_id, other_id = call.path("contact_id"), call.body.other_contact_id
        if keep_id == other_id:
            raise ApiError(409, "same_contact", "a contact cannot be merged into itself")
        async with call.app[DB].begin() as conn:
            keep = await _load(conn, call.user, keep_id, CONTACTS_WRITE)
            other = await _load(conn, call.user, other_id, CONTACTS_WRITE)
            if other.tenant_id != keep.tenant_id:
                raise not_found("contact")  # contacts of two tenants are never merged
            if keep.merged_into_id or other.merged_into_id:
                raise ApiError(409, "contact_merged", "one of the contacts was already merged")
            event: DomainEvent = await merge_contacts(conn, keep.tenant_id, keep_id, other_id, call.user.actor)
            out = await _load(conn, call.user, keep_id, CONTACTS_READ)
        await call.app[EVENTS].publish(event)
        return out

    @api.route("GET", "/contacts/{contact_id}/conversations", summary="The contact's whole history on every channel, newest first",
               tag="contacts", query=PageQuery, response=Page[ConversationOut], errors=(404,))
    async def contact_history(call: Call) -> BaseModel:
        query: PageQuery = call.query
        c = t.conversations.c
        async with call.app[DB].connect() as conn:
            contact = await _load(conn, call.user, call.path("contact_id"), CONTACTS_READ)
            stmt = select_conversations(call.user, CONVERSATIONS_READ).where(c.contact_id == contact.id, c.tenant_id == contact.tenant_id)
            if query.cursor:
                stmt = stmt.where(c.id < decode_cursor(query.cursor, 1)[0])
            rows = (await conn.execute(stmt.order_by(c.id.desc()).limit(query.limit + 1))).all()
        return page_of(ConversationOut, rows, query.limit, conversation_out)

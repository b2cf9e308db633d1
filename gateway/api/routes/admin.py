"""Tenant administration: members (an agent's role, skills and capacity there), skills, queues and
API tokens. Tenant admins act on their own tenant; operators on any."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Items, Page, PageQuery, decode_cursor, page_of
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.tenants import seats_used
from gateway.audit import audit
from gateway.auth.middleware import token_digest
from gateway.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from gateway.auth.principal import ADMIN, TOKEN_SCOPES
from gateway.core.upsert import insert_ignoring_conflicts
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.events.bus import DomainEvent, record_event
from gateway.keys import DB, EVENTS
from gateway.routing.model import ACTIVE_STATES
from gateway.routing.queues import QueueSettings
from gateway.tenancy import DEFAULT_CAPACITY, SEAT_ROLES

Role = Literal["tenant_admin", "supervisor", "agent"]
Channel = Literal["voice", "chat", "email", "fax", "callback", "sip"]
SkillName = str


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    skills: dict[str, int]
    capacity: dict[str, int]


class MemberCreate(Input):
    email: EmailStr
    name: str = Field("", max_length=200)
    # Needed when the e-mail is new: the account is created with it.
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    role: Role = "agent"
    skills: dict[SkillName, int] = Field(default_factory=dict)
    capacity: dict[Channel, int] = Field(default_factory=dict)


class MemberUpdate(Input):
    role: Role | None = None
    skills: dict[SkillName, int] | None = None
    capacity: dict[Channel, int] | None = None


class SkillOut(BaseModel):
    id: str
    name: str
    description: str


class SkillCreate(Input):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    description: str = Field("", max_length=500)


class QueueOut(BaseModel):
    id: str
    name: str
    settings: QueueSettings


class QueueCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    settings: QueueSettings = Field(default_factory=QueueSettings)


class QueueUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    settings: QueueSettings | None = None


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)


class TokenCreated(TokenOut):
    token: str  # shown once; only its hash is stored


async def _check_skills(conn: AsyncConnection, tenant_id: str, skills: dict[str, int]) -> None:
    bad_levels = [name for name, level in skills.items() if not 1 <= level <= 10]
    if bad_levels:
        raise ApiError(422, "validation_error", "skill levels are 1-10", details=[{"field": f"skills.{n}", "message": "1-10"} for n in bad_levels])
    known = set(
        (await conn.execute(sa.select(t.skills.c.name).where(t.skills.c.tenant_id == tenant_id, t.skills.c.name.in_(list(skills))))).scalars()
    )
    unknown = sorted(set(skills) - known)
    if unknown:
        raise ApiError(422, "unknown_skill", f"define these skills first: {', '.join(unknown)}")


def _check_capacity(capacity: dict[str, int]) -> dict[str, int]:
    if any(not 0 <= n <= 100 for n in capacity.values()):
        raise ApiError(422, "validation_error", "capacity per channel is 0-100")
    return {**DEFAULT_CAPACITY, **capacity}


async def _member(conn: AsyncConnection, tenant_id: str, user_id: str) -> MemberOut:
    row = (
        await conn.execute(
            sa.select(t.memberships, t.users.c.email, t.users.c.name)
            .join(t.users, t.users.c.id == t.memberships.c.user_id)
            .where(t.memberships.c.tenant_id == tenant_id, t.memberships.c.user_id == user_id)
        )
    ).first()
    if row is None:
        raise not_found("member")
    return MemberOut(user_id=row.user_id, email=row.email, name=row.name, role=row.role, skills=row.skills, capacity=row.capacity)


async def _check_queue_settings(conn: AsyncConnection, tenant_id: str, settings: QueueSettings, queue_id: str | None) -> None:
    await _check_skills(conn, tenant_id, settings.required_skills)
    if (settings.overflow_after_seconds is None) != (settings.overflow_queue_id is None):
        raise ApiError(422, "validation_error", "overflow needs both overflow_after_seconds and overflow_queue_id")
    if (settings.relax_skills_after_seconds is None) != (settings.relaxed_skills is None):
        raise ApiError(422, "validation_error", "relaxing skills needs both relax_skills_after_seconds and relaxed_skills")
    if settings.relaxed_skills is not None:
        await _check_skills(conn, tenant_id, settings.relaxed_skills)
    if settings.overflow_queue_id is not None:
        if settings.overflow_queue_id == queue_id:
            raise ApiError(422, "validation_error", "a queue cannot overflow into itself")
        found = (await conn.execute(sa.select(t.queues.c.id).where(
            t.queues.c.id == settings.overflow_queue_id, t.queues.c.tenant_id == tenant_id))).first()
        if found is None:
            raise ApiError(422, "unknown_queue", "the overflow queue is not one of this tenant's queues")


async def _check_seat(conn: AsyncConnection, tenant_id: str, role: str) -> None:
    if role not in SEAT_ROLES:
        return
    limit = (await conn.execute(sa.select(t.tenants.c.seat_limit).where(t.tenants.c.id == tenant_id))).scalar_one()
    if await seats_used(conn, tenant_id) >= limit:
        raise ApiError(409, "seat_limit_reached", f"all {limit} rented seats are taken; ask the center for more")


async def _member_event(conn: AsyncConnection, type: str, tenant_id: str, user_id: str, call: Call) -> DomainEvent:
    """Routing listens: an agent's skills, capacity or tenants changed."""
    return await record_event(conn, type, tenant_id, {"user_id": user_id}, actor=call.user.actor)


def _queue_out(row: Any) -> QueueOut:
    return QueueOut(id=row.id, name=row.name, settings=QueueSettings.model_validate(row.settings))


def _token_out(row: Any) -> TokenOut:
    return TokenOut(id=row.id, name=row.name, scopes=row.scopes, created_at=row.created_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at)


def register(api: ApiRegistry) -> None:  # noqa: C901 - one flat list of routes reads best
    register_audit(api)
    # ---- members ----
    @api.route("GET", "/tenants/{tenant_id}/members", summary="The tenant's agents, supervisors and admins", tag="admin",
               response=Items[MemberOut], errors=(404,))
    async def list_members(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.memberships, t.users.c.email, t.users.c.name)
                    .join(t.users, t.users.c.id == t.memberships.c.user_id)
                    .where(t.memberships.c.tenant_id == tenant_id)
                    .order_by(t.users.c.name, t.users.c.email)
                )
            ).all()
        return Items[MemberOut](items=[
            MemberOut(user_id=r.user_id, email=r.email, name=r.name, role=r.role, skills=r.skills, capacity=r.capacity) for r in rows
        ])

    @api.route("POST", "/tenants/{tenant_id}/members", summary="Add a member; a new e-mail creates the account",
               tag="admin", body=MemberCreate, response=MemberOut, status=201, errors=(404, 409))
    async def add_member(call: Call) -> MemberOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: MemberCreate = call.body
        email = body.email.lower()
        password_hash = await hash_password(body.password) if body.password else None
        async with call.app[DB].begin() as conn:
            await _check_skills(conn, tenant_id, body.skills)
            user_id = (await conn.execute(sa.select(t.users.c.id).where(t.users.c.email == email))).scalar_one_or_none()
            if user_id is None:
                if password_hash is None:
                    raise ApiError(422, "password_required", "a new account needs an initial password")
                user_id = new_id()
                await conn.execute(sa.insert(t.users).values(
                    id=user_id, email=email, name=body.name or email, password_hash=password_hash, is_operator=False,
                    status="active", locale="en", created_at=utcnow(),
                ))
            elif not call.user.is_operator:
                # Putting someone else's existing account on this tenant is the center's decision.
                raise ApiError(409, "account_exists", "this e-mail already has an account; the center's operator can add it to your tenant")
            await _check_seat(conn, tenant_id, body.role)
            inserted = await insert_ignoring_conflicts(conn, t.memberships, {
                "id": new_id(), "tenant_id": tenant_id, "user_id": user_id, "role": body.role, "skills": body.skills,
                "capacity": _check_capacity(body.capacity), "created_at": utcnow(),
            }, ["tenant_id", "user_id"])
            if not inserted:
                raise ApiError(409, "already_member", "this account is already a member of the tenant")
            await audit(conn, "member.added", principal=call.user, tenant_id=tenant_id, target_type="user", target_id=user_id, data={"role": body.role})
            event = await _member_event(conn, "member.added", tenant_id, user_id, call)
            member = await _member(conn, tenant_id, user_id)
        await call.app[EVENTS].publish(event)
        return member

    @api.route("PATCH", "/tenants/{tenant_id}/members/{user_id}", summary="Change a member's role, skills or capacity",
               tag="admin", body=MemberUpdate, response=MemberOut, errors=(404, 409))
    async def update_member(call: Call) -> MemberOut:
        tenant_id, user_id = call.path("tenant_id"), call.path("user_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: MemberUpdate = call.body
        async with call.app[DB].begin() as conn:
            current = await _member(conn, tenant_id, user_id)
            changes: dict[str, Any] = {}
            events = []
            if body.role is not None and body.role != current.role:
                if current.role not in SEAT_ROLES:
                    await _check_seat(conn, tenant_id, body.role)
                changes["role"] = body.role
            if body.skills is not None:
                await _check_skills(conn, tenant_id, body.skills)
                changes["skills"] = body.skills
            if body.capacity is not None:
                changes["capacity"] = _check_capacity(body.capacity)
            if changes:
                await conn.execute(sa.update(t.memberships).where(
                    t.memberships.c.tenant_id == tenant_id, t.memberships.c.user_id == user_id).values(**changes))
                await audit(conn, "member.updated", principal=call.user, tenant_id=tenant_id, target_type="user", target_id=user_id, data=changes)
                events.append(await _member_event(conn, "member.updated", tenant_id, user_id, call))
            member = await _member(conn, tenant_id, user_id)
        await call.app[EVENTS].publish(*events)
        return member

    @api.route("DELETE", "/tenants/{tenant_id}/members/{user_id}", summary="Remove a member from the tenant", tag="admin", errors=(404,))
    async def remove_member(call: Call) -> None:
        tenant_id, user_id = call.path("tenant_id"), call.path("user_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].begin() as conn:
            result = await conn.execute(sa.delete(t.memberships).where(
                t.memberships.c.tenant_id == tenant_id, t.memberships.c.user_id == user_id))
            if result.rowcount == 0:
                raise not_found("member")
            await audit(conn, "member.removed", principal=call.user, tenant_id=tenant_id, target_type="user", target_id=user_id)
            event = await _member_event(conn, "member.removed", tenant_id, user_id, call)
        await call.app[EVENTS].publish(event)

    # ---- skills ----
    @api.route("GET", "/tenants/{tenant_id}/skills", summary="Skills defined for routing", tag="admin",
               response=Items[SkillOut], errors=(404,))
    async def list_skills(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(t.skills).where(t.skills.c.tenant_id == tenant_id).order_by(t.skills.c.name))).all()
        return Items[SkillOut](items=[SkillOut(id=r.id, name=r.name, description=r.description) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/skills", summary="Define a skill", tag="admin", body=SkillCreate,
               response=SkillOut, status=201, errors=(404, 409))
    async def create_skill(call: Call) -> SkillOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        skill = SkillOut(id=new_id(), name=call.body.name, description=call.body.description)
        async with call.app[DB].begin() as conn:
            if not await insert_ignoring_conflicts(conn, t.skills, {**skill.model_dump(), "tenant_id": tenant_id, "created_at": utcnow()}, ["tenant_id", "name"]):
                raise ApiError(409, "skill_exists", f"skill {skill.name!r} exists")
            await audit(conn, "skill.created", principal=call.user, tenant_id=tenant_id, target_type="skill", target_id=skill.id)
        return skill

    @api.route("DELETE", "/tenants/{tenant_id}/skills/{skill_id}", summary="Delete a skill", tag="admin", errors=(404,))
    async def delete_skill(call: Call) -> None:
        tenant_id, skill_id = call.path("tenant_id"), call.path("skill_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.delete(t.skills).where(t.skills.c.tenant_id == tenant_id, t.skills.c.id == skill_id))).rowcount == 0:
                raise not_found("skill")
            await audit(conn, "skill.deleted", principal=call.user, tenant_id=tenant_id, target_type="skill", target_id=skill_id)

    # ---- queues ----
    @api.route("GET", "/tenants/{tenant_id}/queues", summary="The tenant's queues", tag="admin", response=Items[QueueOut], errors=(404,))
    async def list_queues(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(t.queues).where(t.queues.c.tenant_id == tenant_id).order_by(t.queues.c.name))).all()
        return Items[QueueOut](items=[_queue_out(r) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/queues", summary="Create a queue", tag="admin", body=QueueCreate,
               response=QueueOut, status=201, errors=(404, 409))
    async def create_queue(call: Call) -> QueueOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: QueueCreate = call.body
        queue_id = new_id()
        async with call.app[DB].begin() as conn:
            await _check_queue_settings(conn, tenant_id, body.settings, None)
            if not await insert_ignoring_conflicts(conn, t.queues, {
                "id": queue_id, "tenant_id": tenant_id, "name": body.name, "settings": body.settings.model_dump(mode="json"), "created_at": utcnow(),
            }, ["tenant_id", "name"]):
                raise ApiError(409, "queue_exists", f"queue {body.name!r} exists")
            await audit(conn, "queue.created", principal=call.user, tenant_id=tenant_id, target_type="queue", target_id=queue_id)
            return _queue_out((await conn.execute(sa.select(t.queues).where(t.queues.c.id == queue_id))).one())

    @api.route("PATCH", "/tenants/{tenant_id}/queues/{queue_id}", summary="Rename a queue or change its settings", tag="admin",
               body=QueueUpdate, response=QueueOut, errors=(404, 409))
    async def update_queue(call: Call) -> QueueOut:
        tenant_id, queue_id = call.path("tenant_id"), call.path("queue_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: QueueUpdate = call.body
        where = sa.and_(t.queues.c.tenant_id == tenant_id, t.queues.c.id == queue_id)
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.select(t.queues.c.id).where(where))).first() is None:
                raise not_found("queue")
            changes: dict[str, Any] = {}
            if body.name is not None:
                clash = (await conn.execute(sa.select(t.queues.c.id).where(
                    t.queues.c.tenant_id == tenant_id, t.queues.c.name == body.name, t.queues.c.id != queue_id))).first()
                if clash:
                    raise ApiError(409, "queue_exists", f"queue {body.name!r} exists")
                changes["name"] = body.name
            if body.settings is not None:
                await _check_queue_settings(conn, tenant_id, body.settings, queue_id)
                changes["settings"] = body.settings.model_dump(mode="json")
            if changes:
                await conn.execute(sa.update(t.queues).where(where).values(**changes))
                await audit(conn, "queue.updated", principal=call.user, tenant_id=tenant_id, target_type="queue", target_id=queue_id, data=changes)
            return _queue_out((await conn.execute(sa.select(t.queues).where(where))).one())

    @api.route("DELETE", "/tenants/{tenant_id}/queues/{queue_id}", summary="Delete a queue with no work in it", tag="admin", errors=(404, 409))
    async def delete_queue(call: Call) -> None:
        tenant_id, queue_id = call.path("tenant_id"), call.path("queue_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].begin() as conn:
            busy = (await conn.execute(sa.select(t.tasks.c.id).where(
                t.tasks.c.queue_id == queue_id, t.tasks.c.state.in_(ACTIVE_STATES)).limit(1))).first()
            if busy:
                raise ApiError(409, "queue_busy", "the queue still has work in it; move or finish it first")
            if (await conn.execute(sa.delete(t.queues).where(t.queues.c.tenant_id == tenant_id, t.queues.c.id == queue_id))).rowcount == 0:
                raise not_found("queue")
            await audit(conn, "queue.deleted", principal=call.user, tenant_id=tenant_id, target_type="queue", target_id=queue_id)

    # ---- API tokens ----
    @api.route("GET", "/tenants/{tenant_id}/api-tokens", summary="The tenant's API tokens (never their secrets)", tag="admin",
               response=Items[TokenOut], errors=(404,))
    async def list_tokens(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(sa.select(t.api_tokens).where(t.api_tokens.c.tenant_id == tenant_id).order_by(t.api_tokens.c.id))).all()
        return Items[TokenOut](items=[_token_out(r) for r in rows])

    @api.route("POST", "/tenants/{tenant_id}/api-tokens", summary="Create an API token; its secret is shown once", tag="admin",
               body=TokenCreate, response=TokenCreated, status=201, errors=(404,))
    async def create_token(call: Call) -> TokenCreated:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: TokenCreate = call.body
        unknown = sorted(set(body.scopes) - TOKEN_SCOPES)
        if unknown:
            raise ApiError(422, "unknown_scope", f"unknown scopes {unknown}; choose from {sorted(TOKEN_SCOPES)}")
        secret = "wecc_" + secrets.token_urlsafe(32)
        token_id = new_id()
        async with call.app[DB].begin() as conn:
            await conn.execute(sa.insert(t.api_tokens).values(
                id=token_id, tenant_id=tenant_id, name=body.name, token_hash=token_digest(secret), scopes=sorted(set(body.scopes)),
                created_by=call.user.user_id, created_at=utcnow(),
            ))
            await audit(conn, "api_token.created", principal=call.user, tenant_id=tenant_id, target_type="api_token", target_id=token_id)
            row = (await conn.execute(sa.select(t.api_tokens).where(t.api_tokens.c.id == token_id))).one()
        return TokenCreated(**_token_out(row).model_dump(), token=secret)

    @api.route("DELETE", "/tenants/{tenant_id}/api-tokens/{token_id}", summary="Revoke an API token", tag="admin", errors=(404,))
    async def revoke_token(call: Call) -> None:
        tenant_id, token_id = call.path("tenant_id"), call.path("token_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        async with call.app[DB].begin() as conn:
            result = await conn.execute(sa.update(t.api_tokens).where(
                t.api_tokens.c.tenant_id == tenant_id, t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None)
            ).values(revoked_at=utcnow()))
            if result.rowcount == 0:
                raise not_found("API token")
            await audit(conn, "api_token.revoked", principal=call.user, tenant_id=tenant_id, target_type="api_token", target_id=token_id)


class AuditEntryOut(BaseModel):
    id: int
    action: str
    actor_user_id: str | None
    actor_token_id: str | None
    target_type: str | None
    target_id: str | None
    data: dict[str, Any]
    ip: str | None
    created_at: datetime


def register_audit(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/audit-log", summary="Who changed what in the tenant, newest first", tag="admin",
               query=PageQuery, response=Page[AuditEntryOut], errors=(404,))
    async def audit_log(call: Call) -> BaseModel:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        query: PageQuery = call.query
        a = t.audit_log.c
        stmt = sa.select(t.audit_log).where(a.tenant_id == tenant_id)
        if query.cursor:
            (before,) = decode_cursor(query.cursor, 1)
            stmt = stmt.where(a.id < before)
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(stmt.order_by(a.id.desc()).limit(query.limit + 1))).all()
        return page_of(AuditEntryOut, rows, query.limit, lambda r: AuditEntryOut.model_validate(r._asdict()))

"""Resolves the caller of every request — a session cookie or a bearer API token — into a
Principal. Unauthenticated requests pass through with none; routes decide what they need."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from gateway.api.errors import ApiError
from gateway.api.registry import CSRF_TOKEN, PRINCIPAL, SESSION_AUTH
from gateway.auth.principal import ROLE_PERMISSIONS, Principal, token_permissions
from gateway.auth.sessions import COOKIE_NAME
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.keys import DB, SESSIONS


async def load_user_principal(app: web.Application, user_id: str) -> Principal | None:
    """A user's principal, or None when the account is disabled or gone."""
    async with app[DB].connect() as conn:
        user = (await conn.execute(sa.select(t.users.c.id, t.users.c.is_operator, t.users.c.status).where(t.users.c.id == user_id))).first()
        if user is None or user.status != "active":
            return None
        rows = (
            await conn.execute(
                sa.select(t.memberships.c.tenant_id, t.memberships.c.role)
                .join(t.tenants, t.tenants.c.id == t.memberships.c.tenant_id)
                .where(t.memberships.c.user_id == user_id, t.tenants.c.status == "active")
            )
        ).all()
    return Principal(
        kind="user",
        user_id=user_id,
        is_operator=user.is_operator,
        tenants={row.tenant_id: ROLE_PERMISSIONS[row.role] for row in rows},
        roles={row.tenant_id: row.role for row in rows},
    )


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _token_principal(app: web.Application, secret: str) -> Principal:
    async with app[DB].begin() as conn:
        row = (
            await conn.execute(
                sa.select(t.api_tokens.c.id, t.api_tokens.c.tenant_id, t.api_tokens.c.scopes)
                .join(t.tenants, t.tenants.c.id == t.api_tokens.c.tenant_id)
                .where(
                    t.api_tokens.c.token_hash == token_digest(secret),
                    t.api_tokens.c.revoked_at.is_(None),
                    t.tenants.c.status == "active",
                )
            )
        ).first()
        if row is None:
            raise ApiError(401, "invalid_token", "the API token is unknown or revoked")
        await conn.execute(sa.update(t.api_tokens).where(t.api_tokens.c.id == row.id).values(last_used_at=utcnow()))
    return Principal(kind="token", token_id=row.id, tenants={row.tenant_id: token_permissions(row.scopes)})


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    authorization = request.headers.get("Authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "invalid_token", "use 'Authorization: Bearer <token>'")
        request[PRINCIPAL] = await _token_principal(request.app, secret.strip())
        return await handler(request)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        session = await request.app[SESSIONS].get(cookie)
        if session is not None:
            principal = await load_user_principal(request.app, session.user_id)
            if principal is not None:
                request[PRINCIPAL] = principal
                request[SESSION_AUTH] = True
                request[CSRF_TOKEN] = session.csrf_token
    return await handler(request)

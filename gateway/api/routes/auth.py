"""Login, logout and "who am I" for the inbox (session cookie + CSRF token)."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, Field

from gateway.api.errors import ApiError
from gateway.api.models import Input
from gateway.api.registry import CSRF_TOKEN, SESSION_AUTH, ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.passwords import verify_password
from gateway.auth.sessions import COOKIE_NAME
from gateway.db import schema as t
from gateway.keys import CONFIG, DB, LIMITER, SESSIONS


class LoginInput(Input):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    is_operator: bool
    locale: str


class MembershipOut(BaseModel):
    tenant_id: str
    tenant_name: str
    tenant_slug: str
    tenant_color: str = Field(description='the business\'s brand colour, "#RRGGBB" or "" (marks its work in the inbox)')
    role: str


class SessionOut(BaseModel):
    user: UserOut
    memberships: list[MembershipOut]
    csrf_token: str | None = None


async def session_info(app: web.Application, user_id: str, csrf_token: str | None) -> SessionOut:
    async with app[DB].connect() as conn:
        user = (await conn.execute(sa.select(t.users).where(t.users.c.id == user_id))).one()
        rows = (
            await conn.execute(
                sa.select(t.memberships.c.tenant_id, t.memberships.c.role, t.tenants.c.name, t.tenants.c.slug, t.tenants.c.settings)
                .join(t.tenants, t.tenants.c.id == t.memberships.c.tenant_id)
                .where(t.memberships.c.user_id == user_id, t.tenants.c.status == "active")
                .order_by(t.tenants.c.name)
            )
        ).all()
    return SessionOut(
        user=UserOut(id=user.id, email=user.email, name=user.name, is_operator=user.is_operator, locale=user.locale),
        memberships=[MembershipOut(tenant_id=r.tenant_id, tenant_name=r.name, tenant_slug=r.slug, role=r.role,
                                   tenant_color=((r.settings or {}).get("branding") or {}).get("color", "")) for r in rows],
        csrf_token=csrf_token,
    )


def _check_origin(request: web.Request) -> None:
    """Login carries no CSRF token yet; refuse it from another site's page instead."""
    origin = request.headers.get("Origin")
    if not origin:
        return
    allowed = {f"{request.scheme}://{request.host}", request.app[CONFIG].public_url}
    parts = urlsplit(origin)
    if f"{parts.scheme}://{parts.netloc}" not in allowed:
        raise ApiError(403, "bad_origin", "log in from the inbox page itself")


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/auth/login", summary="Log in with e-mail and password; sets the session cookie",
               tag="auth", body=LoginInput, response=SessionOut, auth="public", errors=(401, 403, 429))
    async def login(call: Call) -> web.StreamResponse:
        request, body = call.request, call.body
        _check_origin(request)
        config = call.app[CONFIG].auth
        limiter = call.app[LIMITER]
        email = body.email.lower()
        ip = request.remote or "unknown"
        per_ip = await limiter.hit(f"login-ip:{ip}", config.login_attempts_per_ip, config.login_window_seconds)
        per_account = await limiter.peek(f"login-account:{email}", config.login_attempts_per_account)
        for decision in (per_ip, per_account):
            if not decision.allowed:
                raise ApiError(429, "rate_limited", f"too many login attempts; try again in {decision.retry_after} s",
                               headers={"Retry-After": str(decision.retry_after)})
        async with call.app[DB].connect() as conn:
            user = (await conn.execute(sa.select(t.users).where(t.users.c.email == email))).first()
        ok = await verify_password(user.password_hash if user else None, body.password)
        if not ok or user is None or user.status != "active":
            await limiter.hit(f"login-account:{email}", config.login_attempts_per_account, config.login_window_seconds)
            async with call.app[DB].begin() as conn:
                await audit(conn, "auth.login_failed", user_id=user.id if user else None, data={"email": email}, ip=ip)
            raise ApiError(401, "invalid_credentials", "wrong e-mail or password")
        await limiter.reset(f"login-account:{email}")
        token, session = await call.app[SESSIONS].create(user.id)
        async with call.app[DB].begin() as conn:
            await audit(conn, "auth.login", user_id=user.id, ip=ip)
        info = await session_info(call.app, user.id, session.csrf_token)
        response = web.json_response(text=info.model_dump_json())
        response.set_cookie(
            COOKIE_NAME, token, httponly=True, samesite="Lax", secure=call.app[CONFIG].server.secure_cookies,
            path="/", max_age=call.app[CONFIG].auth.session_ttl_seconds,
        )
        return response

    @api.route("POST", "/auth/logout", summary="End this session", tag="auth")
    async def logout(call: Call) -> web.StreamResponse:
        request = call.request
        if request.get(SESSION_AUTH):
            session = await call.app[SESSIONS].get(request.cookies.get(COOKIE_NAME, ""))
            if session is not None:
                await call.app[SESSIONS].delete(session)
        response = web.Response(status=204)
        response.del_cookie(COOKIE_NAME, path="/")
        return response

    @api.route("GET", "/auth/me", summary="The logged-in user, their tenants and roles, and the CSRF token",
               tag="auth", response=SessionOut)
    async def me(call: Call) -> SessionOut:
        if call.user.user_id is None:
            raise ApiError(400, "not_a_user", "this is an API token, not a user session")
        return await session_info(call.app, call.user.user_id, call.request.get(CSRF_TOKEN))

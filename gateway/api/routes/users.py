"""Accounts: a user changes their own password; the center's operators find, rename, disable
and reset accounts (an account can serve several tenants, so it is the center's to manage)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field

from gateway.api.errors import ApiError, not_found
from gateway.api.models import Input, Page, PageQuery, decode_cursor, page_of
from gateway.api.registry import ApiRegistry, Call
from gateway.api.routes.conversations import like_pattern
from gateway.audit import audit
from gateway.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from gateway.db import schema as t
from gateway.keys import DB, SESSIONS


class AccountOut(BaseModel):
    id: str
    email: str
    name: str
    is_operator: bool
    status: str
    locale: str
    created_at: datetime


class AccountQuery(PageQuery):
    q: str | None = Field(None, min_length=1, max_length=200, description="part of the name or e-mail")


class AccountUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    status: Literal["active", "disabled"] | None = None
    locale: Literal["en", "zh-CN"] | None = None
    # Sets a new password and logs the account out everywhere.
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


def _out(row: sa.Row) -> AccountOut:
    return AccountOut(id=row.id, email=row.email, name=row.name, is_operator=row.is_operator, status=row.status,
                      locale=row.locale, created_at=row.created_at)


def register(api: ApiRegistry) -> None:
    @api.route("POST", "/auth/password", summary="Change your own password; your other sessions end",
               tag="auth", body=PasswordChange, errors=(400, 401))
    async def change_password(call: Call) -> None:
        if call.user.user_id is None:
            raise ApiError(400, "not_a_user", "API tokens have no password")
        body: PasswordChange = call.body
        async with call.app[DB].connect() as conn:
            current = (await conn.execute(sa.select(t.users.c.password_hash).where(t.users.c.id == call.user.user_id))).scalar_one()
        if not await verify_password(current, body.current_password):
            raise ApiError(400, "wrong_password", "the current password is not right")
        new_hash = await hash_password(body.new_password)
        async with call.app[DB].begin() as conn:
            await conn.execute(sa.update(t.users).where(t.users.c.id == call.user.user_id).values(password_hash=new_hash))
            await audit(conn, "user.password_changed", principal=call.user, target_type="user", target_id=call.user.user_id)
        await call.app[SESSIONS].delete_all_for_user(call.user.user_id)
        # This session ended too; the client logs in again with the new password.

    @api.route("GET", "/users", summary="All accounts (operator)", tag="users", query=AccountQuery, response=Page[AccountOut])
    async def list_users(call: Call) -> BaseModel:
        call.user.require_operator()
        query: AccountQuery = call.query
        u = t.users.c
        stmt = sa.select(t.users)
        if query.q:
            pattern = like_pattern(query.q)
            stmt = stmt.where(sa.or_(u.name.ilike(pattern, escape="\\"), u.email.ilike(pattern, escape="\\")))
        if query.cursor:
            stmt = stmt.where(u.id > decode_cursor(query.cursor, 1)[0])
        async with call.app[DB].connect() as conn:
            rows = (await conn.execute(stmt.order_by(u.id).limit(query.limit + 1))).all()
        return page_of(AccountOut, rows, query.limit, _out)

    @api.route("PATCH", "/users/{user_id}", summary="Rename, disable or reset an account (operator)", tag="users",
               body=AccountUpdate, response=AccountOut, errors=(404,))
    async def update_user(call: Call) -> AccountOut:
        call.user.require_operator()
        user_id = call.path("user_id")
        body: AccountUpdate = call.body
        changes = body.model_dump(exclude_none=True, exclude={"password"})
        if body.password:
            changes["password_hash"] = await hash_password(body.password)
        async with call.app[DB].begin() as conn:
            if (await conn.execute(sa.select(t.users.c.id).where(t.users.c.id == user_id))).first() is None:
                raise not_found("user")
            if changes:
                await conn.execute(sa.update(t.users).where(t.users.c.id == user_id).values(**changes))
                await audit(conn, "user.updated", principal=call.user, target_type="user", target_id=user_id,
                            data={k: v for k, v in changes.items() if k != "password_hash"} | ({"password": "reset"} if body.password else {}))
            row = (await conn.execute(sa.select(t.users).where(t.users.c.id == user_id))).one()
        if body.password or body.status == "disabled":
            await call.app[SESSIONS].delete_all_for_user(user_id)
        return _out(row)

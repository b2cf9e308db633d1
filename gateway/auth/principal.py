"""Who is calling and what they may do, per tenant. Every query an agent, tenant admin or API
token can reach is filtered through `Principal.tenant_filter`, so scoping lives in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa

from gateway.api.errors import ApiError, forbidden, not_found

ROLES = ("tenant_admin", "supervisor", "agent")

CONVERSATIONS_READ = "conversations:read"
CONVERSATIONS_WRITE = "conversations:write"
CONTACTS_READ = "contacts:read"
CONTACTS_WRITE = "contacts:write"
SUPERVISE = "supervise"
ADMIN = "admin"

ALL_PERMISSIONS = frozenset({CONVERSATIONS_READ, CONVERSATIONS_WRITE, CONTACTS_READ, CONTACTS_WRITE, SUPERVISE, ADMIN})
_AGENT = frozenset({CONVERSATIONS_READ, CONVERSATIONS_WRITE, CONTACTS_READ, CONTACTS_WRITE})
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": _AGENT,
    "supervisor": _AGENT | {SUPERVISE},
    "tenant_admin": ALL_PERMISSIONS,
}
# What an API token may be granted (server-to-server; a token never acts as an operator).
TOKEN_SCOPES = ALL_PERMISSIONS
# Writing implies reading back what was written.
_IMPLIED = {CONVERSATIONS_WRITE: CONVERSATIONS_READ, CONTACTS_WRITE: CONTACTS_READ}


def token_permissions(scopes: list[str]) -> frozenset[str]:
    granted = set(scopes) & TOKEN_SCOPES
    return frozenset(granted | {_IMPLIED[s] for s in granted if s in _IMPLIED})


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "token"]
    user_id: str | None = None
    token_id: str | None = None
    is_operator: bool = False
    # tenant id -> permissions there (active tenants only)
    tenants: dict[str, frozenset[str]] = field(default_factory=dict)
    # tenant id -> the user's role there (users only)
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        """Who did it, as events and the audit log name them."""
        return f"user:{self.user_id}" if self.user_id else f"token:{self.token_id}"

    def can(self, tenant_id: str, permission: str) -> bool:
        return self.is_operator or permission in self.tenants.get(tenant_id, frozenset())

    def tenant_ids(self, permission: str) -> list[str]:
        return [tid for tid, perms in self.tenants.items() if permission in perms]

    def tenant_filter(self, column: sa.ColumnElement[str], permission: str) -> sa.ColumnElement[bool]:
        """SQL condition limiting `column` (a tenant_id) to the tenants where this caller holds
        `permission`. Operators see every tenant."""
        if self.is_operator:
            return sa.true()
        ids = self.tenant_ids(permission)
        return column.in_(ids) if ids else sa.false()

    def require(self, tenant_id: str, permission: str, what: str = "resource") -> None:
        """404 when the tenant is not one of the caller's (they learn nothing about it), 403 when
        it is but the role does not allow this."""
        if self.is_operator:
            return
        perms = self.tenants.get(tenant_id)
        if perms is None:
            raise not_found(what)
        if permission not in perms:
            raise forbidden()

    def require_operator(self) -> None:
        if not self.is_operator:
            raise ApiError(403, "forbidden", "only the center's operators can do this")

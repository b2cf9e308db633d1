"""A small client for the REST API as the inbox uses it: cookie session plus CSRF header."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient


@dataclass
class Api:
    client: TestClient
    csrf: str | None = None
    token: str | None = None
    cookies: Any = None
    me: dict[str, Any] | None = None

    @classmethod
    async def login(cls, client: TestClient, email: str, password: str) -> "Api":
        """Logs in on a cookie jar of its own, so several users can act side by side."""
        api = cls(client, cookies=SimpleCookie())
        resp = await api.request("POST", "/api/v1/auth/login", json={"email": email, "password": password})
        body = await resp.json()
        assert resp.status == 200, body
        api.csrf = body["csrf_token"]
        api.me = body
        return api

    def tenant_id(self, slug: str = "demo") -> str:
        assert self.me is not None
        return next(m["tenant_id"] for m in self.me["memberships"] if m["tenant_slug"] == slug)

    async def request(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.csrf and method in ("POST", "PUT", "PATCH", "DELETE"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        cookies = {k: m.value for k, m in self.cookies.items() if m.value} if self.cookies is not None else None
        resp = await self.client.request(method, path, headers=headers, cookies=cookies, **kwargs)
        if self.cookies is not None:
            self.cookies.update(resp.cookies)
        return resp

    async def json(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        resp = await self.request(method, path, **kwargs)
        body = await resp.json() if resp.status != 204 else None
        assert resp.status == expect, f"{method} {path}: {resp.status} {body}"
        return body

    get = lambda self, path, expect=200, **kw: self.json("GET", path, expect, **kw)  # noqa: E731
    post = lambda self, path, expect=200, **kw: self.json("POST", path, expect, **kw)  # noqa: E731
    patch = lambda self, path, expect=200, **kw: self.json("PATCH", path, expect, **kw)  # noqa: E731
    put = lambda self, path, expect=200, **kw: self.json("PUT", path, expect, **kw)  # noqa: E731
    delete = lambda self, path, expect=204, **kw: self.json("DELETE", path, expect, **kw)  # noqa: E731

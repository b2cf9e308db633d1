"""What a socket.io connection's opening HTTP request tells us: the caller's session cookie, the
page's Origin and the client's address. engine.io hands handlers a WSGI-style environ that carries
the aiohttp request under "aiohttp.request"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from gateway.auth.middleware import load_user_principal
from gateway.auth.principal import Principal
from gateway.auth.sessions import COOKIE_NAME
from gateway.keys import CONFIG, SESSIONS


def _request(environ: dict[str, Any]) -> web.Request:
    return environ["aiohttp.request"]


def client_ip(environ: dict[str, Any]) -> str:
    return _request(environ).remote or "unknown"


def session_token(environ: dict[str, Any]) -> str | None:
    return _request(environ).cookies.get(COOKIE_NAME) or None


def normalise_origin(value: str) -> str | None:
    """scheme://host[:port] in lower case, or None when it is not an http(s) origin."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def request_origin(environ: dict[str, Any]) -> str | None:
    """The Origin header as sent (None when absent: not a cross-site browser request)."""
    return environ.get("HTTP_ORIGIN") or None


def is_own_origin(app: web.Application, environ: dict[str, Any]) -> bool:
    """Staff namespaces are used from the gateway's own pages only; refusing other origins keeps
    another site's page from riding an agent's cookie (cross-site WebSocket hijacking)."""
    origin = request_origin(environ)
    if origin is None:
        return True
    request = _request(environ)
    own = {f"{request.scheme}://{request.host}".lower(), app[CONFIG].public_url.lower()}
    return normalise_origin(origin) in own


async def staff_principal(app: web.Application, token: str | None) -> Principal | None:
    """The logged-in user behind a session cookie, or None (no cookie, expired, disabled account)."""
    if not token:
        return None
    session = await app[SESSIONS].get(token)
    if session is None:
        return None
    return await load_user_principal(app, session.user_id)

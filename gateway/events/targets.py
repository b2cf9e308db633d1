"""Where a webhook may point: http(s) URLs on public addresses only (unless the operator allows
private ones), so a tenant admin cannot make the gateway call into the center's own network (SSRF).

The address check runs when the webhook is saved and again at every delivery, on the addresses the
connection is actually made to: `PublicOnlyResolver` sits in the HTTP client's DNS path, so a name
that later starts resolving to 10.0.0.1 (DNS rebinding) is refused as well.

Tenants' own mail servers (IMAP, SMTP) get the same check through `public_addresses`, which
returns the vetted addresses so the mail code connects to them rather than looking the name up again.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

MAX_URL_LENGTH = 2000


class UnsafeTarget(ValueError):
    """The URL is malformed or points somewhere webhooks may not go; the message says why."""


def check_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL with a host, else UnsafeTarget."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http:// and https:// URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    return url


def is_private_address(address: str) -> bool:
    """Anything that is not a globally routable unicast address: loopback, private, link-local,
    carrier-grade NAT, multicast, reserved, unspecified (IPv4-mapped IPv6 judged as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_multicast or not ip.is_global


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_literal_host(host: str) -> None:
    """IP literals never reach a resolver, so the HTTP client needs this check before connecting."""
    literal = _literal(host)
    if literal is not None and is_private_address(literal):
        raise UnsafeTarget(f"{host} is a private or reserved address")


async def public_addresses(host: str) -> list[str]:
    """The addresses to connect to for `host`, in the resolver's order, all of them public; else
    UnsafeTarget. An IP literal (bracketed or not) gives itself. Connect to these rather than to the
    name again: a second lookup may answer differently (DNS rebinding)."""
    literal = _literal(host)
    if literal is not None:
        check_literal_host(literal)
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"the host {host!r} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeTarget(f"the host {host!r} does not resolve")
    if any(is_private_address(a) for a in addresses):
        raise UnsafeTarget(f"the host {host!r} resolves to a private or reserved address")
    return addresses


async def check_public_host(host: str) -> list[str]:
    """UnsafeTarget unless every address the host resolves to is public; those addresses."""
    return await public_addresses(host)


async def vetted_address(host: str) -> str:
    """The one public address to connect to for `host` (the resolver's first); else UnsafeTarget."""
    return (await public_addresses(host))[0]


class PublicOnlyResolver(AbstractResolver):
    """The default resolver, refusing names that resolve to any private or reserved address."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if any(is_private_address(r["host"]) for r in results):
            # With an errno, so aiohttp's connection error shows this text as the reason.
            raise OSError(errno.EACCES, f"the host {host!r} resolves to a private or reserved address")
        return results

    async def close(self) -> None:
        await self._resolver.close()

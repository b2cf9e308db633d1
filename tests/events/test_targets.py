"""Which addresses a tenant-configured host may be reached at: `public_addresses` answers the
addresses to connect to, all public, or refuses the host."""

from __future__ import annotations

import pytest

from gateway.events.targets import UnsafeTarget, check_public_host, public_addresses, vetted_address
from tests.mail.dns import FakeDns

PUBLIC = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


@pytest.mark.parametrize(("host", "expected"), [
    (PUBLIC, PUBLIC), (PUBLIC_V6, PUBLIC_V6), (f"[{PUBLIC_V6}]", PUBLIC_V6), ("2606:2800:021f::1", "2606:2800:21f::1"),
])
async def test_a_public_ip_literal_gives_itself_without_a_lookup(monkeypatch: pytest.MonkeyPatch, host: str, expected: str) -> None:
    dns = FakeDns({}).install(monkeypatch)
    assert await public_addresses(host) == [expected]
    assert await vetted_address(host) == expected
    assert dns.lookups == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "10.0.0.1", "169.254.169.254", "::ffff:192.168.0.1", "100.64.0.1", "0.0.0.0"])
async def test_a_private_ip_literal_is_refused(host: str) -> None:
    with pytest.raises(UnsafeTarget, match="private or reserved"):
        await public_addresses(host)


async def test_a_name_gives_its_public_addresses_in_the_resolvers_order(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeDns({"mail.tenant.example": [[PUBLIC_V6, PUBLIC, PUBLIC_V6]]}).install(monkeypatch)
    assert await public_addresses("mail.tenant.example") == [PUBLIC_V6, PUBLIC]
    assert await vetted_address("mail.tenant.example") == PUBLIC_V6
    assert await check_public_host("mail.tenant.example") == [PUBLIC_V6, PUBLIC]  # the webhooks' name for it


@pytest.mark.parametrize("answer", [["127.0.0.1"], [PUBLIC, "10.1.2.3"], ["::1", PUBLIC], [PUBLIC, "fe80::1"]])
async def test_a_name_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch, answer: list[str]) -> None:
    FakeDns({"mail.tenant.example": [answer]}).install(monkeypatch)
    with pytest.raises(UnsafeTarget, match="resolves to a private or reserved address"):
        await public_addresses("mail.tenant.example")
    with pytest.raises(UnsafeTarget):
        await vetted_address("mail.tenant.example")


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        await public_addresses("no-such-host.invalid")

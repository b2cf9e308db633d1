"""Which requests the SIP endpoint serves: those from a trunk, known by its source address, by
digest authentication (a username and password it answers a 401 challenge with), or both, as
each trunk is configured. Requests inside an established call are the call's own and are not
asked again."""

from __future__ import annotations

import ipaddress
from typing import Literal

from channels.voice.sip.digest import Credentials, DigestRealm
from channels.voice.sip.message import SipMessage
from channels.voice.sip.settings import TrunkSettings

Verdict = Literal["ok", "forbidden", "challenge", "stale"]


class TrunkPolicy:
    def __init__(self, trunks: list[TrunkSettings], realm: str) -> None:
        self.realm = DigestRealm(realm)
        self._open = [_networks(trunk) for trunk in trunks if not trunk.username]  # address alone suffices
        self._guarded = [(_networks(trunk), Credentials(trunk.username, trunk.password.get_secret_value()))
                         for trunk in trunks if trunk.username]

    def may_connect(self, ip: str) -> bool:
        """Whether a TCP connection from `ip` is worth reading (a stranger's is closed at once)."""
        address = _address(ip)
        return address is not None and (any(_within(address, networks) for networks in self._open)
                                        or any(_within(address, networks) or not networks for networks, _ in self._guarded))

    def admit(self, request: SipMessage, ip: str) -> Verdict:
        address = _address(ip)
        if address is None:
            return "forbidden"
        if any(_within(address, networks) for networks in self._open):
            return "ok"
        accounts = {credentials.username: credentials for networks, credentials in self._guarded
                    if not networks or _within(address, networks)}
        if not accounts:
            return "forbidden"
        verdict = self.realm.check(request.get("authorization") or request.get("proxy-authorization"),
                                   request.method, accounts)
        return "ok" if verdict == "ok" else "stale" if verdict == "stale" else "challenge"


def _networks(trunk: TrunkSettings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(address, strict=False) for address in trunk.addresses]


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def _within(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
            networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    return any(address in network for network in networks)

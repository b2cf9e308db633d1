"""Announcing a public address for a gateway behind a 1:1 NAT (config media.public_ip).

aioice has no setting for it (it learns a public address only from a STUN server), so the answer
SDP is edited instead: next to each host candidate of the same IP family, a server-reflexive
candidate with the public address and the same port is added. The host candidate stays, so peers
on the gateway's own network still connect directly; the added one has a lower priority, as a
STUN-learnt one would. Only the SDP changes: the connectivity checks that arrive at the public
address are forwarded by the NAT to the host candidate's socket, which answers them."""

from __future__ import annotations

import ipaddress

_SRFLX_TYPE_PREFERENCE = 100  # RFC 8445 5.1.2.2; host is 126


def announce_public_ip(sdp: str, public_ip: str) -> str:
    if not public_ip:
        return sdp
    public = ipaddress.ip_address(public_ip)
    lines = sdp.split("\r\n")
    out: list[str] = []
    for line in lines:
        out.append(line)
        added = _public_twin(line, public)
        if added:
            out.append(added)
    return "\r\n".join(out)


def _public_twin(line: str, public: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    # a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
    if not line.startswith("a=candidate:"):
        return None
    parts = line[len("a=candidate:"):].split()
    if len(parts) < 8 or parts[6] != "typ" or parts[7] != "host":
        return None
    foundation, component, transport, priority, address, port = parts[:6]
    # foundations are at most 32 characters; aioice's are 32 hex digits, so 'n' keeps this one distinct
    try:
        if ipaddress.ip_address(address).version != public.version or ipaddress.ip_address(address) == public:
            return None
    except ValueError:
        return None  # an mDNS name
    local_preference = int(priority) >> 8 & 0xFFFF
    srflx_priority = (_SRFLX_TYPE_PREFERENCE << 24) + (local_preference << 8) + (256 - int(component))
    extra = parts[8:]
    return (f"a=candidate:n{foundation[:31]} {component} {transport} {srflx_priority} {public} {port} "
            f"typ srflx raddr {address} rport {port}" + (" " + " ".join(extra) if extra else ""))

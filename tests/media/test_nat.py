"""media.public_ip: the answer also offers the public address, next to the machine's own."""

from __future__ import annotations

from gateway.media.nat import announce_public_ip

ANSWER = "\r\n".join([
    "v=0",
    "m=audio 40000 UDP/TLS/RTP/SAVPF 111",
    "a=candidate:0123456789abcdef0123456789abcdef 1 udp 2130706431 10.0.0.5 40000 typ host",
    "a=candidate:fedcba9876543210fedcba9876543210 1 udp 2130706431 fd00::5 40001 typ host",
    "a=candidate:aaaa 1 udp 1694498815 198.51.100.1 40002 typ srflx raddr 10.0.0.5 rport 40002",
    "a=end-of-candidates",
    "",
])


def test_each_host_candidate_of_the_same_family_gets_a_public_twin() -> None:
    rewritten = announce_public_ip(ANSWER, "203.0.113.7").split("\r\n")
    added = [line for line in rewritten if line not in ANSWER.split("\r\n")]
    assert added == [
        "a=candidate:n0123456789abcdef0123456789abcde 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 10.0.0.5 rport 40000"
    ]
    # Right after its host candidate, the rest untouched.
    assert rewritten.index(added[0]) == 3
    assert announce_public_ip(ANSWER, "") == ANSWER

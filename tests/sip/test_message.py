"""SIP message parsing as trunks and phones write them, and what is refused."""

from __future__ import annotations

import pytest

from channels.voice.sip.message import SipParseError, parse, response_to, tag_of, uri_of, user_of

INVITE = ("INVITE sip:+4930123456@gw.example;user=phone SIP/2.0\r\n"
          "v: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK776;rport\r\n"
          "Via: SIP/2.0/UDP proxy.example;branch=z9hG4bK1, SIP/2.0/TCP 10.9.9.9:5070;branch=z9hG4bK2\r\n"
          'f: "Doe, Jane" <sip:+4930555123@trunk.example;transport=udp>;tag=abc\r\n'
          "t: <sip:+4930123456@gw.example;tag=uri-param-not-a-tag>\r\n"
          "i: 8f2a@10.0.0.5\r\nCSeq: 4711 INVITE\r\n"
          "Subject: a folded\r\n  header\r\n"
          "l: 4\r\n\r\nbodyEXTRA")


def test_compact_forms_folding_and_several_vias_are_read() -> None:
    message = parse(INVITE.encode())
    assert (message.method, message.cseq, message.call_id) == ("INVITE", (4711, "INVITE"), "8f2a@10.0.0.5")
    assert message.get("subject") == "a folded header"
    assert len(message.get_all("via")) == 3
    via = message.top_via
    assert (via.host, via.port, via.branch, "rport" in via.params) == ("10.0.0.5", 5060, "z9hG4bK776", True)
    assert message.body == b"body"  # Content-Length wins over what follows
    assert message.from_tag == "abc" and message.to_tag is None  # a ;tag inside <...> is the URI's
    assert user_of(uri_of(message.get("from") or "")) == "+4930555123"
    assert user_of(message.uri) == "+4930123456"


def test_a_response_copies_what_rfc_3261_says_and_adds_our_tag() -> None:
    response = response_to(parse(INVITE.encode()), 486, "Busy Here", to_tag="ours")
    again = parse(response.serialize())
    assert (again.status, again.reason, again.cseq) == (486, "Busy Here", (4711, "INVITE"))
    assert again.get_all("via") == parse(INVITE.encode()).get_all("via")
    assert tag_of(again.get("to") or "") == "ours" and again.from_tag == "abc"


@pytest.mark.parametrize(("change", "reason"), [
    (("CSeq: 4711 INVITE", "CSeq: 4711 BYE"), "CSeq method"),
    (("CSeq: 4711 INVITE", "CSeq: INVITE"), "malformed CSeq"),
    (("CSeq: 4711 INVITE", "CSeq: 36893488147419103232 INVITE"), "malformed CSeq"),  # RFC 4475 scalar02
    (("i: 8f2a@10.0.0.5\r\n", ""), "Call-ID header is missing"),
    (("l: 4", "l: 400"), "shorter than its Content-Length"),
    (("v: SIP/2.0/UDP 10.0.0.5:5060", "v: SIP/2.0/UDP 10.0.0.5:99999"), "Via port"),
    (("INVITE sip:+4930123456@gw.example;user=phone SIP/2.0", "INVITE sip:x SIP/3.0"), "only SIP/2.0"),
    (("INVITE sip:+4930123456@gw.example;user=phone SIP/2.0", "INVITE  sip:x"), "not a SIP request"),
    (("Subject: a folded", "Subject a folded"), "malformed header line"),
])
def test_what_is_wrong_is_said(change: tuple[str, str], reason: str) -> None:
    with pytest.raises(SipParseError, match=reason):
        parse(INVITE.replace(*change).encode())


def test_limits() -> None:
    with pytest.raises(SipParseError, match="too large"):
        parse(INVITE.encode() + b"x" * 70_000)
    with pytest.raises(SipParseError, match="too many headers"):
        parse(INVITE.replace("CSeq:", "X-A: 1\r\n" * 200 + "CSeq:").encode())


def test_sip_settings_say_what_is_wrong() -> None:
    from pydantic import ValidationError

    from channels.voice.sip.settings import SipSettings

    for bad, reason in (({"listen": "localhost:5060"}, "is not IP:port"),
                        ({"trunks": [{"name": "t", "addresses": ["carrier.example"]}]}, "not an IP address or network"),
                        ({"numbers": [{"number": "030 123456", "tenant": "demo"}]}, "international form"),
                        ({"nubmers": []}, "Extra inputs are not permitted"),
                        ({"trunks": [{"name": "t"}]}, "give its addresses, or a username and password"),
                        ({"trunks": [{"name": "t", "username": "pbx"}]}, "a username needs a password"),
                        ({"trunks": [{"name": "t", "addresses": ["10.0.0.1"], "outbound": {"proxy": "carrier"}}]},
                         "is not host:port"),
                        ({"trunks": [{"name": "t", "addresses": ["10.0.0.1"], "outbound": {"proxy": "10.0.0.1:5060",
                                                                                            "registration": True}}]},
                         "registering with the trunk needs its username"),
                        ({"trunks": [{"name": "t", "addresses": ["10.0.0.1"], "outbound": {"proxy": "10.0.0.1:5060",
                                                                                            "transport": "tls"}}]},
                         "'udp' or 'tcp'"),
                        ({"trunks": [{"name": "t", "addresses": ["10.0.0.1"]}, {"name": "t", "addresses": ["10.0.0.2"]}]},
                         "a name of its own")):
        with pytest.raises(ValidationError, match=reason):
            SipSettings(**bad)
    assert SipSettings(numbers=[{"number": "+49 30 123456", "tenant": "demo"}]).numbers[0].number == "+4930123456"
    outbound = SipSettings(trunks=[{"name": "t", "addresses": ["10.0.0.1"], "outbound": {
        "proxy": "sip.carrier.example:5080", "username": "u", "password": "p"}}]).trunks[0].outbound
    assert outbound is not None and (outbound.host, outbound.port, outbound.ring_seconds) == ("sip.carrier.example", 5080, 30)

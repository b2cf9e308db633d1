"""SDP offer/answer for plain RTP legs, with offers as SIP trunks and phones write them."""

from __future__ import annotations

import pytest

from gateway.media.rtp_sdp import SdpError, answer, negotiate

BARESIP = ("v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
           "m=audio 30000 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
           "a=fmtp:101 0-15\r\na=sendrecv\r\n")


def test_the_first_offered_g711_codec_is_chosen_and_static_types_need_no_rtpmap() -> None:
    terms = negotiate(BARESIP)
    assert (terms.codec, terms.payload_type, terms.dtmf_payload_type) == ("PCMU", 0, 101)
    assert (terms.remote_address, terms.remote_port, terms.direction) == ("10.0.0.5", 30000, "sendrecv")
    assert not terms.held_by_peer


def test_a_hold_offer_is_answered_the_other_way_round() -> None:
    held = negotiate(BARESIP.replace("a=sendrecv", "a=sendonly"))
    assert held.direction == "recvonly" and held.held_by_peer
    old_style = negotiate(BARESIP.replace("c=IN IP4 10.0.0.5", "c=IN IP4 0.0.0.0"))
    assert old_style.held_by_peer  # RFC 2543's hold: no address


def test_a_media_level_address_and_direction_win_over_the_sessions() -> None:
    offer = BARESIP.replace("a=sendrecv\r\n", "a=inactive\r\nc=IN IP4 10.0.0.9\r\n").replace("t=0 0", "a=sendonly\r\nt=0 0")
    terms = negotiate(offer)
    assert (terms.remote_address, terms.direction) == ("10.0.0.9", "inactive")


def test_the_answer_carries_our_address_one_codec_and_the_offerers_telephone_event_number() -> None:
    terms = negotiate(BARESIP.replace("101", "96"))
    text = answer(terms, "192.0.2.7", 20002)
    assert "c=IN IP4 192.0.2.7\r\n" in text
    assert "m=audio 20002 RTP/AVP 0 96\r\n" in text
    assert "a=rtpmap:96 telephone-event/8000\r\n" in text and text.endswith("a=sendrecv\r\n")
    assert negotiate(text).codec == "PCMU"  # our answer reads back as valid SDP


@pytest.mark.parametrize(("offer", "reason"), [
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n", "not plain RTP"),
    ("v=0\r\nc=IN IP4 example.com\r\nm=audio 4000 RTP/AVP 0\r\n", "not an IP address"),
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n", "out of range"),
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", "malformed rtpmap"),
    ("v=0\r\nthis is not sdp\r\n", "not of the form"),
    ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=x:" + "y" * 20_000 + "\r\n", "too large"),
])
def test_bad_offers_are_refused_with_a_reason(offer: str, reason: str) -> None:
    with pytest.raises(SdpError, match=reason):
        negotiate(offer)

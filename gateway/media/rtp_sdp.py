"""SDP offer/answer for a plain RTP leg (RFC 3264): what a SIP trunk or phone offers, and our answer.

Written by hand: aiortc's SDP parser is built for WebRTC (it drops static payload types that have
no rtpmap, ignores a session-level c= line, and fails with a bare AssertionError), and the SIP
libraries' SDP code comes with the stacks the SIP issue decided against. Only what a G.711 phone
call needs is read: the first audio stream's address, port, direction, codecs and RFC 4733
telephone-event; anything malformed is refused with a reason a SIP 488 can carry.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import time
from dataclasses import dataclass
from typing import Literal

from gateway.media import g711

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSED: dict[str, Direction] = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                                   "inactive": "inactive"}
MAX_SDP_BYTES = 16_384
_session_versions = itertools.count(1)


class SdpError(ValueError):
    """The offer cannot be answered; the message says why (for people and a SIP 488)."""


@dataclass(frozen=True)
class Negotiated:
    """What both sides will use for the leg."""

    remote_address: str
    remote_port: int  # 0: the stream is refused or on hold with no address
    codec: str  # "PCMU" | "PCMA"
    payload_type: int
    dtmf_payload_type: int | None  # the offerer's number for telephone-event, when offered
    direction: Direction  # ours, the reverse of theirs

    @property
    def held_by_peer(self) -> bool:
        """The peer sends no audio or wants none (a hold re-INVITE)."""
        return self.direction != "sendrecv" or self.remote_address in ("0.0.0.0", "::")


# A leg whose offer is out and not yet answered: it sends nothing, and hears only the signalling's address.
UNANSWERED = Negotiated(remote_address="0.0.0.0", remote_port=0, codec="PCMU", payload_type=0,
                        dtmf_payload_type=None, direction="sendrecv")
_OFFERED_DTMF = 101


def negotiate(offer: str, codecs: tuple[str, ...] = ("PCMU", "PCMA")) -> Negotiated:
    """The answer's terms for `offer`: the first offered codec we have (in `codecs`)."""
    if len(offer.encode()) > MAX_SDP_BYTES:
        raise SdpError("the SDP is too large")
    session_address: str | None = None
    session_direction: str = "sendrecv"
    media: dict[str, object] | None = None
    for number, raw in enumerate(offer.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"SDP line {number} is not of the form x=value")
        kind, value = line[0], line[2:]
        if kind == "m":
            if media is not None and media["kind"] == "audio":
                break  # only the first audio stream is taken
            media = _media_line(value, number)
        elif kind == "c":
            address = _connection_address(value, number)
            if media is None:
                session_address = address
            else:
                media["address"] = address
        elif kind == "a":
            name, _, argument = value.partition(":")
            if name in _DIRECTIONS:
                if media is None:
                    session_direction = name
                else:
                    media["direction"] = name
            elif name == "rtpmap" and media is not None:
                match = re.fullmatch(r"(\d{1,3})\s+([\w.-]+)/(\d+)(?:/\d+)?", argument.strip())
                if not match:
                    raise SdpError(f"SDP line {number}: a malformed rtpmap")
                media["rtpmap"][int(match[1])] = (match[2].lower(), int(match[3]))  # type: ignore[index]
    if media is None or media["kind"] != "audio":
        raise SdpError("the SDP offers no audio")
    if media["profile"] not in ("RTP/AVP", "RTP/AVPF"):
        raise SdpError(f"the audio is offered as {media['profile']}, not plain RTP (RTP/AVP)")
    address = media.get("address") or session_address
    if address is None:
        raise SdpError("the SDP has no connection address (c=)")
    rtpmap: dict[int, tuple[str, int]] = media["rtpmap"]  # type: ignore[assignment]
    offered: list[int] = media["formats"]  # type: ignore[assignment]

    def name_of(payload_type: int) -> tuple[str, int] | None:
        if payload_type in rtpmap:
            return rtpmap[payload_type]
        return {0: ("pcmu", 8000), 8: ("pcma", 8000)}.get(payload_type)  # RFC 3551's static types

    chosen: tuple[str, int] | None = None
    for payload_type in offered:
        named = name_of(payload_type)
        if named and named[1] == g711.SAMPLE_RATE and named[0].upper() in codecs:
            chosen = (named[0].upper(), payload_type)
            break
    if chosen is None:
        raise SdpError(f"none of the offered codecs is one we speak ({', '.join(codecs)})")
    dtmf = next((pt for pt in offered if (name_of(pt) or ("", 0)) == ("telephone-event", 8000)), None)
    return Negotiated(remote_address=address, remote_port=media["port"],  # type: ignore[arg-type]
                      codec=chosen[0], payload_type=chosen[1], dtmf_payload_type=dtmf,
                      direction=_REVERSED[str(media.get("direction", session_direction))])


def answer(terms: Negotiated, local_address: str, local_port: int) -> str:
    """Our SDP answer: one audio stream with the chosen codec (and telephone-event if offered)."""
    return _describe(local_address, local_port, [(terms.payload_type, terms.codec)], terms.dtmf_payload_type, terms.direction)


def offer(local_address: str, local_port: int) -> str:
    """Our SDP offer, for a call we place: G.711 (μ-law first, then A-law) and telephone-event."""
    return _describe(local_address, local_port, [(0, "PCMU"), (8, "PCMA")], _OFFERED_DTMF, "sendrecv")


def _describe(local_address: str, local_port: int, codecs: list[tuple[int, str]], dtmf: int | None, direction: str) -> str:
    family = "IP6" if ipaddress.ip_address(local_address).version == 6 else "IP4"
    formats = [pt for pt, _ in codecs] + ([dtmf] if dtmf is not None else [])
    lines = [
        "v=0",
        f"o=wecc {int(time.time())} {next(_session_versions)} IN {family} {local_address}",
        "s=WECC",
        f"c=IN {family} {local_address}",
        "t=0 0",
        f"m=audio {local_port} RTP/AVP {' '.join(map(str, formats))}",
    ]
    lines += [f"a=rtpmap:{pt} {codec}/{g711.SAMPLE_RATE}" for pt, codec in codecs]
    if dtmf is not None:
        lines += [f"a=rtpmap:{dtmf} telephone-event/8000", f"a=fmtp:{dtmf} 0-15"]
    lines += ["a=ptime:20", f"a={direction}"]
    return "\r\n".join(lines) + "\r\n"


def _media_line(value: str, number: int) -> dict[str, object]:
    parts = value.split()
    if len(parts) < 4 or not parts[1].isdigit() or not all(p.isdigit() for p in parts[3:]):
        raise SdpError(f"SDP line {number}: a malformed m= line")
    port = int(parts[1])
    if port > 65535 or any(int(p) > 127 for p in parts[3:]):
        raise SdpError(f"SDP line {number}: a port or payload type out of range")
    return {"kind": parts[0], "port": port, "profile": parts[2], "formats": [int(p) for p in parts[3:]], "rtpmap": {}}


def _connection_address(value: str, number: int) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"SDP line {number}: a malformed c= line")
    address = parts[2].split("/")[0]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise SdpError(f"SDP line {number}: {address!r} is not an IP address") from None
    return address

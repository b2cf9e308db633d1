"""SIP messages (RFC 3261 §7): parsing what arrives, strictly enough to answer a bad request with a
400 that says what is wrong, and building requests and responses.

Written by hand after evaluating the Python SIP libraries on PyPI (aiosipua 0.7.1 was the only
asyncio one): their transaction layers lose, duplicate or revive calls under ordinary packet loss
and hang-up races, and semantic errors in a request went unanswered. The parser here is small
because a gateway reads few headers: Via, From, To, Call-ID, CSeq, Contact, Record-Route,
Content-Length, and the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_MESSAGE_BYTES = 65_535  # one UDP datagram
MAX_HEADERS = 128
_COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length",
            "c": "content-type", "k": "supported", "s": "subject", "e": "content-encoding"}
_REQUEST_LINE = re.compile(r"([A-Z][A-Z0-9_.!%*+`'~-]*) (\S+) SIP/2\.0")
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6]\d\d) ?(.*)")
_CSEQ = re.compile(r"(\d{1,10})\s+([A-Za-z][A-Za-z0-9_.!%*+`'~-]*)")
_TAG = re.compile(r";\s*tag=([^;,\s>]+)", re.I)
_VIA = re.compile(r"SIP\s*/\s*2\.0\s*/\s*(\w+)\s+([^;\s]+)(.*)", re.I)
_REQUIRED = ("via", "from", "to", "call-id", "cseq")


class SipParseError(ValueError):
    """Not a SIP message we can take; for a request, the reason goes in the response (400 unless
    `status` says otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SipMessage:
    method: str = ""  # requests
    uri: str = ""
    status: int = 0  # responses
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # (lower-case name, value), in order
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of a header that may be repeated or comma-separated (Via, Record-Route)."""
        name = name.lower()
        return [part.strip() for key, value in self.headers if key == name for part in _split_commas(value)]

    def set(self, name: str, value: str) -> None:
        name = name.lower()
        self.headers = [(key, val) for key, val in self.headers if key != name] + [(name, value)]

    @property
    def call_id(self) -> str:
        return self.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        match = _CSEQ.fullmatch((self.get("cseq") or "").strip())
        if not match:
            raise SipParseError("a malformed CSeq")
        return int(match[1]), match[2].upper()

    @property
    def from_tag(self) -> str | None:
        return tag_of(self.get("from") or "")

    @property
    def to_tag(self) -> str | None:
        return tag_of(self.get("to") or "")

    @property
    def top_via(self) -> Via:
        vias = self.get_all("via")
        if not vias:
            raise SipParseError("no Via")
        return Via.parse(vias[0])

    def serialize(self) -> bytes:
        start = f"{self.method} {self.uri} SIP/2.0" if self.is_request else f"SIP/2.0 {self.status} {self.reason}"
        lines = [start] + [f"{_canonical(key)}: {value}" for key, value in self.headers if key != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]

    @classmethod
    def parse(cls, value: str) -> Via:
        match = _VIA.fullmatch(value.strip())
        if not match:
            raise SipParseError("a malformed Via")
        sent_by = match[2]
        host, port = sent_by, None
        if sent_by.startswith("["):  # IPv6
            host, _, rest = sent_by[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        elif ":" in sent_by:
            host, _, number = sent_by.partition(":")
            if not number.isdigit() or not 0 < int(number) < 65536:
                raise SipParseError("a malformed Via port")
            port = int(number)
        params: dict[str, str | None] = {}
        for part in match[3].split(";")[1:]:
            key, has_value, val = part.strip().partition("=")
            params[key.lower()] = val.strip() if has_value else None
        return cls(match[1].upper(), host, port, params)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


def parse(data: bytes) -> SipMessage:
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("the message is too large")
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("the header is not UTF-8") from None
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():  # keep-alive CRLFs before a message
        lines.pop(0)
    if not lines:
        raise SipParseError("an empty message")
    message = SipMessage()
    if request := _REQUEST_LINE.fullmatch(lines[0].strip()):
        message.method, message.uri = request[1], request[2]
    elif status := _STATUS_LINE.fullmatch(lines[0].strip()):
        message.status, message.reason = int(status[1]), status[2]
    elif re.fullmatch(r"[A-Z]+ \S+ SIP/\d+\.\d+", lines[0].strip()):
        raise SipParseError("only SIP/2.0 is spoken here", status=505)
    else:
        raise SipParseError("not a SIP request or response line")
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and message.headers:  # folded onto the header above
            key, value = message.headers[-1]
            message.headers[-1] = (key, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name or not re.fullmatch(r"[a-z0-9!%*_+`'~.-]+", name):
            raise SipParseError(f"a malformed header line: {line[:60]!r}")
        message.headers.append((_COMPACT.get(name, name), value.strip()))
        if len(message.headers) > MAX_HEADERS:
            raise SipParseError("too many headers")
    for name in _REQUIRED:
        if message.get(name) is None:
            raise SipParseError(f"the {_canonical(name)} header is missing")
    _, cseq_method = message.cseq
    if message.is_request and cseq_method != message.method:
        raise SipParseError("the CSeq method is not the request's")
    length = message.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise SipParseError("a malformed Content-Length")
        if int(length) > len(body):
            raise SipParseError("the body is shorter than its Content-Length")
        body = body[:int(length)]
    message.body = body
    message.top_via  # noqa: B018 - raises for a malformed Via now, not when it is first used
    return message


def response_to(request: SipMessage, status: int, reason: str, *, to_tag: str | None = None,
                headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> SipMessage:
    """A response carrying the request's Via, From, Call-ID and CSeq (RFC 3261 §8.2.6)."""
    to = request.get("to") or ""
    if to_tag and tag_of(to) is None and status > 100:
        to = f"{to};tag={to_tag}"
    copied = [(key, value) for key, value in request.headers if key in ("via", "record-route")]
    copied += [("from", request.get("from") or ""), ("to", to), ("call-id", request.call_id),
               ("cseq", request.get("cseq") or "")]
    return SipMessage(status=status, reason=reason, headers=copied + (headers or []), body=body)


def tag_of(header: str) -> str | None:
    # A tag is a parameter of the header, not of the URI inside <...>.
    outside = header.rsplit(">", 1)[-1] if ">" in header else header
    match = _TAG.search(outside)
    return match[1] if match else None


def uri_of(header: str) -> str:
    """The URI in a From/To/Contact value: inside <...>, or up to its parameters."""
    if "<" in header:
        return header.split("<", 1)[1].split(">", 1)[0].strip()
    return header.split(";", 1)[0].strip()


def user_of(uri: str) -> str:
    """The user part of a sip: or tel: URI ('+4930123' of 'sip:+4930123@trunk;user=phone')."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return rest.split("@", 1)[0].split(";", 1)[0] if "@" in rest or uri.lower().startswith("tel:") else ""


def _split_commas(value: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    for char in value:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _canonical(name: str) -> str:
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name, "-".join(word.capitalize() for word in name.split("-")))

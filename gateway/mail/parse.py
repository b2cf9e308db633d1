"""An incoming e-mail as the inbox shows it: who wrote, about what, the readable text, the
sanitised HTML, the attachments, and whether it is an automatic message or a bounce.

E-mail is untrusted input (DESIGN.md), so `parse_email` never raises: what could not be read is
said in `problems` (agents see them as a warning) and the rest of the message is kept. Pure: no
I/O, no database."""

from __future__ import annotations

import codecs
import email
import email.policy
import html as htmllib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email import errors
from email.header import decode_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import unquote

from gateway.core.html import sanitise_html


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    filename: str  # safe to show and to save: no path, no control characters, at most 255 bytes
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False  # shown inside the HTML body through a cid: link, so not listed apart


@dataclass(frozen=True, slots=True)
class BounceRecipient:
    address: str
    action: str  # failed | delayed | delivered | relayed | expanded (RFC 3464)
    status: str  # enhanced status code such as "5.1.1"; "" when not given
    diagnostic: str  # the remote server's words, e.g. "550 5.1.1 User unknown"


@dataclass(frozen=True, slots=True)
class Bounce:
    original_message_id: str | None
    recipients: list[BounceRecipient]

    @property
    def failed(self) -> bool:
        """A delivery that failed for good, not a 'still trying' warning."""
        return not self.recipients or any(r.action == "failed" or r.status.startswith("5") for r in self.recipients)


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    text: str
    size: int
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str | None = None
    from_name: str = ""
    reply_to: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    html: str | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reply: bool = False
    bulk: bool = False
    bounce: Bounce | None = None
    problems: list[str] = field(default_factory=list)


def parse_email(raw: bytes) -> ParsedEmail:
    """The message in `raw` (RFC 5322 bytes as fetched from the mailbox). Never raises."""
    try:
        return _parse(bytes(raw))
    except Exception as exc:  # the last guard: a stdlib corner or a bug here must not lose the mail
        return unparsed_email(raw, f"The message could not be read as e-mail ({type(exc).__name__}); it is shown as raw text.")


def unparsed_email(raw: bytes, problem: str) -> ParsedEmail:
    """What is shown of a mail that could not be read: its bytes as text, and why."""
    try:
        data = bytes(raw)
    except Exception:
        data = b""
    return ParsedEmail(text=_lines(_decode(data, None)[0]), size=len(data), problems=[problem])


def _parse(raw: bytes) -> ParsedEmail:
    if not raw.strip():
        return ParsedEmail(text="", size=len(raw), problems=["The message is empty."])
    problems: list[str] = []
    msg = _message(raw, problems)
    found = _Found(problems)
    _collect(msg, found, 0)
    problems += _defect_notes(msg)
    html = _body_html(found.segments, problems)
    text = _body_text(found.segments)
    attachments = _finish_attachments(found.attachments, html or "")
    headers = _Headers(msg)
    subject = " ".join(_words(headers.get("subject")).split())
    from_name, from_address = (_addresses(headers.get("from")) or _addresses(headers.get("sender")) or [("", None)])[0]
    date = _date(headers.get("date"), problems)
    bounce = _bounce(msg, from_address, subject, text, attachments)
    return ParsedEmail(
        text=text, size=len(raw), html=html, attachments=attachments, subject=subject, date=date,
        message_id=next(iter(_ids(headers.get("message-id"))), None),
        in_reply_to=_ids(headers.get("in-reply-to")), references=_ids(headers.get("references")),
        from_address=from_address, from_name=from_name,
        reply_to=next((a for _, a in _addresses(headers.get("reply-to"))), None),
        to=[a for _, a in _addresses(headers.get("to"))], cc=[a for _, a in _addresses(headers.get("cc"))],
        auto_reply=bounce is not None or _is_auto(headers), bulk=_is_bulk(headers), bounce=bounce,
        problems=list(dict.fromkeys(problems)),
    )


# ---------------------------------------------------------------------------------------------
# Reading the bytes

# The stdlib's structured-header parser costs ~10 µs a character, is quadratic on pathological
# quoting and recursive on nested comments. Real headers are short, so it only ever sees this
# much of one (MIME headers, parsed for every part, less).
_PARSED_HEADER_CAP = 2048
_PARSED_MIME_HEADER_CAP = 1024
# What is read of any header for our own parsing (subject, ids, long address lists).
_RAW_HEADER_CAP = 65536


class _CappedHeaderRegistry(HeaderRegistry):
    """policy.default's header registry, but capped, and parsing each distinct header once:
    policy.default parses again on every access, and the stdlib asks for Content-Type often."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name, value)
        if key not in self._parsed:
            cap = _PARSED_MIME_HEADER_CAP if name.lower().startswith("content-") else _PARSED_HEADER_CAP
            try:
                self._parsed[key] = super().__call__(name, value[:cap])
            except Exception:  # e.g. RecursionError on ((((…: as if the header were empty
                self._parsed[key] = super().__call__(name, "")
        return self._parsed[key]


def _policy() -> email.policy.EmailPolicy:
    """A policy of one's own per message, so the parsed-header cache lives as long as the message."""
    return email.policy.default.clone(header_factory=_CappedHeaderRegistry())


# Attached messages are written back as they came: no refolding, CRLF as on the wire.
_EML_POLICY = email.policy.default.clone(refold_source="none", linesep="\r\n")
_EML_LEGACY_POLICY = email.policy.compat32.clone(linesep="\r\n")


def _message(raw: bytes, problems: list[str]) -> Message:
    """The stdlib's parse, after two repairs of what real mail gets wrong and the stdlib cannot
    recover from: a junk line among the headers (it ends the headers there), and an unquoted
    boundary with characters that need quotes (Outlook Express's `----=_NextPart…`)."""
    msg = email.message_from_bytes(raw, policy=_policy())
    if errors.MissingHeaderBodySeparatorDefect in _defects(msg):
        fixed, dropped = _drop_junk_header_lines(raw)
        if dropped:
            raw, msg = fixed, email.message_from_bytes(fixed, policy=_policy())
            problems.append(f"{dropped} malformed header line{'s were' if dropped > 1 else ' was'} ignored.")
    if errors.StartBoundaryNotFoundDefect in _defects(msg):
        fixed = _BOUNDARY_PARAM.sub(_quote_boundary, raw)
        if fixed != raw:
            repaired = email.message_from_bytes(fixed, policy=_policy())
            if errors.StartBoundaryNotFoundDefect not in _defects(repaired):
                msg = repaired
    return msg


_HEADER_LINE = re.compile(rb"^(?:From |[\x21-\x39\x3b-\x7e]+:|[ \t])")  # as the stdlib's feedparser
_BOUNDARY_PARAM = re.compile(rb'(;\s*boundary\s*=\s*)([^"\s;]+)', re.IGNORECASE)
_TSPECIALS = frozenset(b'()<>@,;:\\"/[]?=')


def _drop_junk_header_lines(raw: bytes) -> tuple[bytes, int]:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends:
        return raw, 0
    head, rest = raw[:min(ends)], raw[min(ends):]
    lines = head.splitlines(keepends=True)
    kept = [line for line in lines if _HEADER_LINE.match(line)]
    if not kept or len(kept) == len(lines):
        return raw, 0
    return b"".join(kept).rstrip(b"\r\n") + rest, len(lines) - len(kept)  # rest: the line end, then the blank line


def _quote_boundary(match: re.Match[bytes]) -> bytes:
    value = match.group(2)
    return match.group(1) + b'"' + value + b'"' if _TSPECIALS.intersection(value) else match.group(0)


def _parts(msg: Message) -> list[Message]:
    """The message and its MIME parts, not descending into attached messages (kept as .eml)."""
    out, stack = [], [msg]
    while stack and len(out) < _MAX_PARTS:
        part = stack.pop()
        out.append(part)
        if part.is_multipart() and not part.get_content_type().startswith("message/"):
            stack.extend(reversed([p for p in part.get_payload() if isinstance(p, Message)]))
    return out


def _defects(msg: Message) -> set[type]:
    return {type(d) for part in _parts(msg) for d in part.defects}


_NO_BOUNDARY = "The message's MIME structure is broken (a boundary was not found); part of it may be shown as raw text."
_BAD_HEADERS = "The message's header section is malformed; part of it may be shown as text."
_BAD_BASE64 = "Part of the message had damaged base64 encoding; the text or an attachment may be incomplete."
_DEFECT_NOTES: dict[type, str] = {
    errors.StartBoundaryNotFoundDefect: _NO_BOUNDARY,
    errors.NoBoundaryInMultipartDefect: _NO_BOUNDARY,
    errors.CloseBoundaryNotFoundDefect: "The message ends without its closing MIME boundary; it may have been cut off.",
    errors.MissingHeaderBodySeparatorDefect: _BAD_HEADERS,
    errors.FirstHeaderLineIsContinuationDefect: _BAD_HEADERS,
    errors.InvalidBase64PaddingDefect: _BAD_BASE64,
    errors.InvalidBase64CharactersDefect: _BAD_BASE64,
    errors.InvalidBase64LengthDefect: _BAD_BASE64,
}


def _defect_notes(msg: Message) -> list[str]:
    found = _defects(msg)  # after decoding: base64 defects are recorded only then
    return [note for defect, note in _DEFECT_NOTES.items() if defect in found]


# ---------------------------------------------------------------------------------------------
# Headers

class _Headers:
    """The first value of each header, unfolded and capped, as it came (no stdlib parsing)."""

    def __init__(self, msg: Message) -> None:
        self._values: dict[str, str] = {}
        for name, value in msg.raw_items():
            self._values.setdefault(name.strip().lower(), value if isinstance(value, str) else str(value))

    def get(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None else _fix_surrogates(_unfold(value[:2 * _RAW_HEADER_CAP])[:_RAW_HEADER_CAP])

    def __contains__(self, name: str) -> bool:
        return name in self._values


def _header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.strip().lower() == name:
            return _fix_surrogates(_unfold(str(value)[:2 * _RAW_HEADER_CAP])[:_RAW_HEADER_CAP])
    return None


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", " ").strip()


_SURROGATES = re.compile("[\udc80-\udcff]")


def _fix_surrogates(text: str) -> str:
    """Raw 8-bit bytes in headers reach us as surrogate escapes: read them as UTF-8 (RFC 6532),
    else as Windows-1252."""
    if not _SURROGATES.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return _decode(data, None)[0]


def _words(value: str | None) -> str:
    """RFC 2047 encoded words decoded with the same charset fallbacks as bodies."""
    if not value:
        return ""
    try:
        chunks = decode_header(value)
    except Exception:  # a damaged encoded word: the stdlib's lenient header parser instead
        try:
            return _fix_surrogates(str(email.policy.default.header_factory("subject", value[:_PARSED_HEADER_CAP])))
        except Exception:
            return value
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:  # decode_header turned unencoded text into bytes this way
            out.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            out.append(_decode(chunk, charset)[0])
    return "".join(out)


_PLAIN_ADDRESS = re.compile(r'[^\s@"<>]+@[^\s@"<>]+')
_FIND_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _addresses(value: str | None) -> list[tuple[str, str]]:
    """(display name, lowercased addr-spec) of each address. Long lists and what the stdlib reads
    wrongly (e.g. `From: Big Bug bb@bug.com`) are found by pattern instead."""
    if not value:
        return []
    found: list[tuple[str, str]] = []
    if len(value) <= _PARSED_HEADER_CAP:
        try:
            header = _policy().header_factory("to", value)
            found = [(_fix_surrogates(a.display_name), _fix_surrogates(a.addr_spec)) for a in header.addresses]
        except Exception:
            found = []
    if not found or not all(_PLAIN_ADDRESS.fullmatch(addr) for _, addr in found):
        found, start = [], 0
        for match in _FIND_ADDRESS.finditer(value):
            found.append((value[start:match.start()].strip(' \t"<>,;'), match.group()))
            start = match.end()
    return [(" ".join(name.split()), addr.lower()) for name, addr in found]


_ID = re.compile(r"<([^<>]*)>|([^\s<>,;]+@[^\s<>,;]+)")


def _ids(value: str | None) -> list[str]:
    """Message ids without brackets or folding whitespace, in order, once each; junk between
    them and missing brackets are tolerated."""
    if not value:
        return []
    ids: dict[str, None] = {}
    for bracketed, bare in _ID.findall(re.sub(r"\([^()]*\)", " ", value)):
        ident = "".join((bracketed or bare).split())
        if ident and len(ident) <= 998:
            ids.setdefault(ident)
    return list(ids)


def _date(value: str | None, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except Exception:
        when = None
    if when is not None and when.tzinfo is None:  # "-0000": the zone is unknown; UTC is the best guess
        when = when.replace(tzinfo=timezone.utc)
    if when is None or not 1970 <= when.year <= datetime.now(timezone.utc).year + 1:
        problems.append(f'The message\'s date "{value[:80]}" could not be read.')
        return None
    return when.astimezone(timezone.utc)


# ---------------------------------------------------------------------------------------------
# Automatic mail

_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Present on automatic replies of various systems (X-Auto-Response-Suppress is a request to
# others, not a sign, so it is not here).
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autogenerated", "x-autoreply-from", "x-mail-autoreply",
                 "x-ms-exchange-generated-message-source", "x-fc-machinegenerated")


def _token(value: str | None) -> str:
    return re.split(r"[;(\s]", value.strip(), maxsplit=1)[0].lower() if value and value.strip() else ""


def _is_auto(headers: _Headers) -> bool:
    submitted = _token(headers.get("auto-submitted"))
    return (
        (bool(submitted) and submitted != "no")
        or _token(headers.get("precedence")) in _AUTO_PRECEDENCE
        or _token(headers.get("x-precedence")) in _AUTO_PRECEDENCE
        or any(h in headers and _token(headers.get(h)) not in ("no", "false", "0") for h in _AUTO_HEADERS)
        or (headers.get("return-path") or "").replace(" ", "") == "<>"  # null sender: must never be answered
    )


def _is_bulk(headers: _Headers) -> bool:
    return ("list-id" in headers or "list-unsubscribe" in headers
            or _token(headers.get("precedence")) in ("bulk", "list", "junk"))


# ---------------------------------------------------------------------------------------------
# Bounces

_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery (status notification|failure|failed|has failed|problem)"
    r"|failure notice|mail delivery failed|could not be delivered|not delivered|non-?delivery|delivery incomplete",
    re.IGNORECASE)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
# Postfix and qmail: "<nobody@example.org>: host … said: 550 5.1.1 …", continued on indented lines.
_POSTFIX_RECIPIENT = re.compile(r"^<([^<>\s]+@[^<>\s]+)>:?[ \t]*(.*(?:\n[ \t]+\S.*)*)", re.MULTILINE)
# Exim: after "The following address(es) failed:", the address indented, the reason below it.
_EXIM_RECIPIENT = re.compile(r"^[ \t]+([^<>\s]+@[^<>\s]+)[ \t]*\n((?:[ \t]{3,}\S.*\n?)*)", re.MULTILINE)
_DSN_FIELD = re.compile(r"^([\w-]+):[ \t]*(.*(?:\n[ \t]+.*)*)", re.MULTILINE)
_EMBEDDED_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def _bounce(msg: Message, sender: str | None, subject: str, text: str,
            attachments: list[ParsedAttachment]) -> Bounce | None:
    """A delivery report (RFC 3464), or the plain-text kind MAILER-DAEMONs still send."""
    parts = _parts(msg)
    report = next((p for p in parts if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")), None)
    if report is not None:
        return Bounce(_original_id(parts, text, attachments), _dsn_recipients(report))
    if not (_DAEMON.match(sender or "") and _BOUNCE_SUBJECT.search(subject)):
        return None
    action = "delayed" if re.search(r"delay|warning", subject, re.IGNORECASE) else "failed"
    return Bounce(_original_id(parts, text, attachments), _text_recipients(text, action))


def _original_id(parts: list[Message], text: str, attachments: list[ParsedAttachment]) -> str | None:
    """The bounced message's id: from its attached copy or headers, else from headers quoted in the text."""
    for part in parts[1:]:
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"):
            payload = part.get_payload() if part.is_multipart() else None
            if payload and isinstance(payload[0], Message):
                inner = payload[0]
            else:
                inner = email.message_from_bytes(part.get_payload(decode=True) or b"", policy=part.policy)
            ids = _ids(_header(inner, "message-id"))
            if ids:
                return ids[0]
    texts = [text] + [_decode(a.data, None)[0] for a in attachments if a.content_type.startswith("text/")]
    for match in (m for t in texts for m in [_EMBEDDED_ID.search(t)] if m):
        ids = _ids(match.group(1))
        if ids:
            return ids[0]
    return None


def _dsn_recipients(report: Message) -> list[BounceRecipient]:
    if report.is_multipart():  # the stdlib reads each field group as a message of headers
        groups = [{k.strip().lower(): _unfold(str(v)) for k, v in g.raw_items()}
                  for g in report.get_payload() if isinstance(g, Message)]
    else:
        body = _decode(report.get_payload(decode=True) or b"", None)[0]
        groups = [{k.strip().lower(): _unfold(v) for k, v in _DSN_FIELD.findall(chunk)}
                  for chunk in re.split(r"\r?\n[ \t]*\r?\n", body)]
    recipients = []
    for group in groups:
        who = group.get("final-recipient") or group.get("original-recipient")
        if not who:
            continue
        diagnostic = " ".join(group.get("diagnostic-code", "").split())
        recipients.append(BounceRecipient(
            address=who.split(";", 1)[-1].strip().strip("<>").lower(),
            action=_token(group.get("action")), status=_token(group.get("status")),
            diagnostic=diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic else diagnostic.strip()))
    return recipients


def _text_recipients(text: str, action: str) -> list[BounceRecipient]:
    failed_list = re.search(r"following address(?:es|\(es\))? failed:?\s*\n", text, re.IGNORECASE)
    matches = list(_POSTFIX_RECIPIENT.finditer(text))
    if not matches and failed_list:
        matches = list(_EXIM_RECIPIENT.finditer(text, failed_list.end()))
    recipients: dict[str, BounceRecipient] = {}
    for match in matches:
        diagnostic = " ".join(match.group(2).split())
        status = _STATUS.search(diagnostic)
        address = match.group(1).lower()
        recipients.setdefault(address, BounceRecipient(address, action, status.group(1) if status else "", diagnostic))
    return list(recipients.values())


# ---------------------------------------------------------------------------------------------
# Bodies and attachments

_MAX_DEPTH = 50
_MAX_PARTS = 1000
# Other renderings of the same text in a multipart/alternative: not attachments.
_RENDERINGS = frozenset({"text/enriched", "text/richtext", "text/watch-html", "text/x-amp-html"})
_ENCRYPTED = frozenset({"multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime"})


@dataclass(slots=True)
class _Segment:
    """One piece of body: a plain and/or an HTML rendering of it."""
    plain: str | None = None
    html: str | None = None


@dataclass(slots=True)
class _Found:
    problems: list[str]
    segments: list[_Segment] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    parts: int = 0


def _collect(part: Message, found: _Found, depth: int) -> None:
    found.parts += 1
    if depth > _MAX_DEPTH or found.parts > _MAX_PARTS:
        found.problems.append("The message has too many or too deeply nested parts; some were left out.")
        return
    ctype = "application/octet-stream"
    try:
        ctype = part.get_content_type()
        if ctype in _ENCRYPTED:
            found.problems.append("The message is encrypted; it is kept as an attachment but cannot be shown.")
        if ctype in ("message/rfc822", "message/global"):
            found.attachments.append(_eml_attachment(part))
        elif part.is_multipart() and not ctype.startswith("message/"):
            children = [c for c in part.get_payload() if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                _collect_alternative(children, found, depth)
            else:
                for child in children:
                    _collect(child, found, depth + 1)
        elif ctype.startswith("multipart/"):  # its boundary was never found: the raw text is all there is
            found.segments.append(_Segment(plain=_part_text(part, found.problems)))
        elif ctype in ("text/plain", "text/html") and part.get_content_disposition() != "attachment" and not _declared_name(part):
            text = _part_text(part, found.problems)
            found.segments.append(_Segment(html=text) if ctype == "text/html" else _Segment(plain=text))
        else:
            found.attachments.append(_attachment(part, ctype))
    except Exception as exc:  # one bad part must not lose the others
        found.problems.append(f"A part of the message ({ctype}) could not be read and was left out ({type(exc).__name__}).")


def _collect_alternative(children: list[Message], found: _Found, depth: int) -> None:
    """One segment: the first plain text worth showing, the richest (last) HTML."""
    inner = _Found(found.problems, parts=found.parts)
    for child in children:
        if child.get_content_type() not in _RENDERINGS:
            _collect(child, inner, depth + 1)
    found.parts = inner.parts
    plains = [s.plain for s in inner.segments if s.plain and s.plain.strip()]
    htmls = [s.html for s in inner.segments if s.html and s.html.strip()]
    if plains or htmls:
        found.segments.append(_Segment(plain=plains[0] if plains else None, html=htmls[-1] if htmls else None))
    found.attachments += inner.attachments


def _part_text(part: Message, problems: list[str]) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text, clean = _decode(part.get_payload(decode=True) or b"", charset)
    if not clean:
        problems.append(f"Some characters of the text could not be decoded ({charset or 'no charset'}) and are shown as �.")
    return _lines(text)


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _body_text(segments: list[_Segment]) -> str:
    texts = [s.plain if s.plain and s.plain.strip() else html_to_text(s.html or "") for s in segments]
    return "\n\n".join(t.strip("\n") for t in texts if t.strip()).rstrip()


_TITLE = re.compile(r"<title\b[^>]*>.*?</title\s*>", re.IGNORECASE | re.DOTALL)


def _body_html(segments: list[_Segment], problems: list[str]) -> str | None:
    if not any(s.html for s in segments):
        return None
    pieces = [s.html if s.html else "<p>" + htmllib.escape(s.plain or "").replace("\n", "<br>\n") + "</p>"
              for s in segments]
    try:  # nh3 drops the <title> tag but keeps its words, which would show above the body
        return sanitise_html(_TITLE.sub("", "\n".join(pieces))).strip()
    except Exception:
        problems.append("The message's HTML could not be cleaned; only its text is shown.")
        return None


def _attachment(part: Message, ctype: str) -> ParsedAttachment:
    if part.is_multipart():  # e.g. message/delivery-status: the stdlib split it into header groups
        data = b"".join(_message_bytes(m) for m in part.get_payload() if isinstance(m, Message))
    else:
        data = part.get_payload(decode=True) or b""
    # Apple Mail names some inline images only by their Content-Location.
    filename = _declared_name(part) or _safe_filename((_header(part, "content-location") or "").rsplit("/", 1)[-1])
    content_id = "".join((_header(part, "content-id") or "").split()).strip("<>") or None
    return ParsedAttachment(filename=filename, content_type=_guess_type(ctype, filename), data=data,
                            content_id=content_id,
                            inline=content_id is not None and part.get_content_disposition() != "attachment")


def _eml_attachment(part: Message) -> ParsedAttachment:
    payload = part.get_payload() if part.is_multipart() else None  # unparsed, get_payload() may raise
    if payload and isinstance(payload[0], Message):
        inner = payload[0]
        data = _message_bytes(inner)
        subject = _words(_header(inner, "subject"))
    else:
        data, subject = part.get_payload(decode=True) or b"", ""
    name = _declared_name(part) or _safe_filename(re.sub(r"[/\\]", "_", subject))  # a subject is no path
    if name and not name.lower().endswith(".eml"):
        name = _safe_filename(name + ".eml")
    return ParsedAttachment(filename=name, content_type="message/rfc822", data=data)


def _message_bytes(msg: Message) -> bytes:
    """An attached message's bytes, written again: the stdlib keeps no part's source."""
    try:
        return msg.as_bytes(policy=_EML_POLICY)
    except (UnicodeError, ValueError):  # damaged headers or multiparts: the legacy text writer copes
        return msg.as_string(policy=_EML_LEGACY_POLICY).encode("utf-8", "surrogateescape")


_PARAM = r'(?:^|;)\s*{}\s*=\s*(?:"([^"]*)"|([^;]*))'


def _raw_param(part: Message, header: str, name: str) -> str:
    match = re.search(_PARAM.format(name), _header(part, header) or "", re.IGNORECASE)
    return ((match.group(1) if match.group(1) is not None else match.group(2)) or "").strip() if match else ""


def _declared_name(part: Message) -> str:
    """The decoded, safe file name (RFC 2231, RFC 2047, raw UTF-8). The raw header is read too: the
    stdlib drops unquoted names with '=' in them and cuts unquoted ones at the first space."""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    raw = _raw_param(part, "content-disposition", "filename") or _raw_param(part, "content-type", "name")
    if raw and (not name or (len(raw) > len(name) and raw.startswith(name))):
        name = raw
    return _safe_filename(_words(name) if "=?" in name else _fix_surrogates(name))


# Control characters, characters Windows refuses in names, and bidi overrides ("gpj.exe").
_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_RESERVED_IN_NAME = re.compile(r'[<>:"|?*]')


def _safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = " ".join(_RESERVED_IN_NAME.sub("_", _UNSAFE_IN_NAME.sub("", name)).split()).strip(" .")
    if len(name.encode()) <= 255:
        return name
    _, dot, ext = name.rpartition(".")
    suffix = "." + ext if dot and len(ext.encode()) <= 16 else ""
    budget = 255 - len(suffix.encode())
    return name[: len(name) - len(suffix)].encode()[:budget].decode("utf-8", "ignore").rstrip(" .") + suffix


_GENERIC_TYPES = frozenset({"application/octet-stream", "application/octetstream", "application/x-octet-stream",
                            "binary/octet-stream", "application/unknown", "application/force-download"})
_EXTENSIONS = {"text/plain": ".txt", "text/html": ".html", "image/jpeg": ".jpg", "message/rfc822": ".eml",
               "message/delivery-status": ".txt", "text/rfc822-headers": ".txt", "image/tiff": ".tif",
               "application/pgp-signature": ".asc", "application/pkcs7-signature": ".p7s"}


def _guess_type(ctype: str, filename: str) -> str:
    if ctype in _GENERIC_TYPES and filename:
        return mimetypes.guess_type(filename, strict=False)[0] or ctype
    return ctype


def _finish_attachments(attachments: list[ParsedAttachment], html: str) -> list[ParsedAttachment]:
    """Default names for the nameless (attachment-1.pdf), and `inline` only for the images the
    HTML really shows: one it does not reference must be listed, or nobody sees it."""
    shown = unquote(html).lower()
    out = []
    for number, attachment in enumerate(attachments, 1):
        name = attachment.filename or f"attachment-{number}{_extension(attachment.content_type)}"
        inline = attachment.inline and f"cid:{attachment.content_id}".lower() in shown
        out.append(replace(attachment, filename=name, inline=inline))
    return out


def _extension(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type, strict=False) or ".bin"


# ---------------------------------------------------------------------------------------------
# Charsets

# Labels Python lacks, or maps to a narrower codec than mailers actually use.
_CODECS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("ks_c_5601-1987", "ks_c_5601", "ks_c_5601_1987", "ksc5601", "euc-kr", "windows-949",
                     "x-windows-949"), ("cp949",)),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "x-euc-cn"), ("gb18030",)),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j"), ("cp932",)),
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp"), ("iso2022_jp_2", "iso2022_jp_ext")),
    **dict.fromkeys(("big5", "x-x-big5", "csbig5"), ("big5hkscs",)),
    # Often UTF-8 in fact; real Latin-1 text is almost never valid UTF-8, so that is tried first.
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1", "iso_8859-1", "us-ascii", "ascii", "windows-1252", "cp1252"),
                    ("utf-8", "cp1252", "latin-1")),
    "iso-8859-8-i": ("iso8859_8",),
    "tis-620": ("cp874",),
}
_UNKNOWN = frozenset({"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "8bit", "binary"})


def _codecs_for(charset: str | None) -> tuple[str, ...]:
    label = (charset or "").strip().strip("\"'").lower()
    if not label or label in _UNKNOWN:
        return ()
    if label in _CODECS:
        return _CODECS[label]
    try:
        return (codecs.lookup(label).name,)
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return ()


def _decode(data: bytes, charset: str | None) -> tuple[str, bool]:
    """(text, whether it decoded without replacement): the declared charset, else UTF-8, else
    Windows-1252 when none was declared or known."""
    declared = _codecs_for(charset)
    for name in (*declared, "utf-8"):
        try:
            return data.decode(name), True
        except (UnicodeError, LookupError):
            continue
    if declared:
        try:
            return data.decode(declared[0], errors="replace"), False
        except (UnicodeError, LookupError):
            pass
    try:
        return data.decode("cp1252"), True
    except UnicodeError:
        return data.decode("latin-1"), True


# ---------------------------------------------------------------------------------------------
# HTML to text

# Written on the stdlib's parser: the libraries that do this well (inscriptis, html-text) bring
# lxml for a job this size, and html2text writes Markdown rather than plain text.
_BLOCKS = frozenset("address article aside blockquote center dd div dl dt fieldset figcaption figure footer form "
                    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tr ul".split())
_PARAGRAPHS = frozenset("blockquote dl h1 h2 h3 h4 h5 h6 ol p pre table ul".split())
_HIDDEN = frozenset({"script", "style", "title", "template"})
_MAX_HTML_FOR_TEXT = 1_000_000


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = self._pre = self._quote = 0
        self._newlines = 0  # owed before the next text: line breaks collapse, none at the start
        self._line_start = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self._break(1, force=True)
        elif tag in _BLOCKS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            if tag == "li":
                self._write("- ")
        elif tag in ("td", "th"):
            self._write(" ")
        if tag == "pre":
            self._pre += 1
        if tag == "blockquote":
            self._quote += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            self._break(2 if tag in _PARAGRAPHS else 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._write(data if self._pre else re.sub(r"\s+", " ", data))

    def _break(self, count: int, force: bool = False) -> None:
        if self.out:
            self._newlines = self._newlines + 1 if force else max(self._newlines, count)

    def _write(self, text: str) -> None:
        for number, line in enumerate(text.split("\n")):
            if number:
                self._newlines += 1
            if self._line_start or self._newlines:
                line = line if self._pre else line.lstrip(" ")
            if not line:
                continue
            if self._newlines:
                self.out.append("\n" * min(self._newlines, 2))
                self._newlines, self._line_start = 0, True
            if self._line_start:
                self.out.append("> " * self._quote)
                self._line_start = False
            self.out.append(line)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: block elements on lines of their own, list items as
    "- ", blockquotes quoted with "> ", scripts and styles dropped, entities decoded."""
    html = html[:_MAX_HTML_FOR_TEXT]  # ~1 s of parsing; far beyond any real mail's text
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # the stdlib parser gave up: tags stripped crudely still beats nothing
        text = htmllib.unescape(re.sub(r"<[^>]*>", " ", html))
    text = re.sub(r"[ \t\xa0]+\n", "\n", text.replace("\xa0", " "))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ---------------------------------------------------------------------------------------------
# Quoted history

_QUOTE_INTROS = re.compile(
    r"^\s*(?:"
    r"On\s.{1,300}\swrote:"  # Gmail, Apple Mail, Thunderbird
    r"|Am\s.{1,300}\sschrieb\s?.{0,200}:"  # German
    r"|Le\s.{1,300}\sa\s[ée]crit\s?:"  # French
    r"|El\s.{1,300}\sescribi[óo]:"  # Spanish
    r"|Il\s.{1,300}\sha\sscritto:"  # Italian
    r"|Op\s.{1,300}\sschreef\s.{0,200}:"  # Dutch
    r"|Em\s.{1,300}\sescreveu:"  # Portuguese
    r"|-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale)\s*-{2,}"
    r")\s*$", re.IGNORECASE)
# Outlook's header block: "From: …" then, within a few lines, "Sent: …" or "Date: …".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Van|Da)\s?:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado(?: el)?|Verzonden|Inviato)\s?:\*?\s+\S",
                           re.IGNORECASE)


def split_quoted(text: str) -> tuple[str, str]:
    """(the new part of a reply, the quoted history). The history starts at an "On … wrote:"
    line (also when wrapped over up to three lines, and in a few other languages), an
    "-----Original Message-----" line, an Outlook "From: … Sent: …" block (with the underscore
    rule above it), or where every remaining line is quoted with ">". A forwarded message is not
    history: the customer sent it to be read."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = _history_start(lines)
    if start is None:
        return "\n".join(lines).strip("\n"), ""
    if start > 0 and re.fullmatch(r"\s*_{10,}\s*", lines[start - 1]):
        start -= 1
    return "\n".join(lines[:start]).rstrip(), "\n".join(lines[start:]).strip("\n")


def _history_start(lines: list[str]) -> int | None:
    quoted_from = None  # the first line from which every non-blank line is quoted
    for number in range(len(lines) - 1, -1, -1):
        line = lines[number].strip()
        if line and not line.startswith(">"):
            break
        if line:
            quoted_from = number
    for number, line in enumerate(lines):
        if quoted_from is not None and number >= quoted_from:
            return quoted_from
        if line.lstrip().startswith(">"):
            continue
        if any(_QUOTE_INTROS.match(" ".join(lines[number:number + span])) for span in (1, 2, 3)):
            return number
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(ahead) for ahead in lines[number + 1:number + 5]):
            return number
    return None

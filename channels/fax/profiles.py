"""Whether a mail is a fax delivered by a fax-to-email service, and what it says about the fax: the
sender's fax number, the sending machine's station id (CSID), the caller's name, the number of
pages, the resolution and when it arrived.

A tenant admin configures one `FaxRule` per mailbox, naming the service's profile:
- hylafax: HylaFAX's faxrcvd mail (`Fax received from "CSID"`, before 6.0 `facsimile received
  from CSID`; the German templates' `Fax empfangen von CSID` too), its facts in indented
  `Label: value` lines of the body. The number is the caller id (CallID1) rather than the CSID,
  which is whatever the sending machine was set up to say.
- efax: eFax's `eFax from NAME - 3 page(s), caller ID: 4155551234` subjects and their variants.
- generic: the rule's own regular expressions.
A mail is a fax only if its sender and its subject match the rule and a fax document (TIFF, PDF,
PostScript) is attached.

Rules come from tenant admins and mail from anyone (DESIGN.md), and matching runs on the event
loop, so a rule's patterns must not run for long: they are at most `PATTERN_MAX` characters; a
pattern that can backtrack a lot (nested repeats such as `(a+)+`; more than two open-ended
repeats, such as `.*.*.*x`, which takes minutes on 1,000 characters; many optional parts) is
refused; and they only see the subject's first `LINE_MAX` characters and, line by line, the first
`LINE_MAX` characters of each line of the text's first `TEXT_MAX` characters.

Pure: no I/O."""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers

from gateway.core.identities import InvalidIdentity, normalise_identity
from gateway.mail.parse import ParsedAttachment, ParsedEmail

from channels.fax.pages import is_fax_document

try:  # the stdlib's own parser of regular expressions, to estimate how much a pattern backtracks
    from re import _constants as _sre
    from re import _parser as _sre_parser
except ImportError:  # pragma: no cover - a Python without them keeps the length caps only
    _sre = _sre_parser = None  # type: ignore[assignment]

Profile = Literal["hylafax", "efax", "generic"]
PROFILES: tuple[str, ...] = ("hylafax", "efax", "generic")

PATTERN_MAX = 300  # characters of a rule's pattern
LINE_MAX = 200  # characters of the subject, or of a line of text, a pattern is applied to
TEXT_MAX = 4096  # characters of the text that are read
_VALUE_MAX = 200  # characters kept of a value read from the mail
_ADDRESS_MAX = 320

# A pattern is refused when its estimated backtracking on one LINE_MAX-long line is above this
# many ways per starting position: two open-ended repeats (200 × 200) pass, three do not. On a mail
# crafted against it, a pattern that passes runs for seconds at worst (measured on TEXT_MAX of
# 199-character lines: 0.5 s for `(.*).*x`, 2.5 s for `(\w+)\w*\w?x`); `.*.*.*x`, refused, runs
# for ten minutes on one line of 1,000 characters.
_BACKTRACKING_BUDGET = 1e5


@dataclass(frozen=True, slots=True)
class FaxRule:
    """How a mailbox's fax-to-email service writes its mail. One per mailbox (or tenant)."""

    profile: Profile
    sender_pattern: str = ""  # glob on the From address, e.g. "*@fax.example"; empty: any sender
    subject_pattern: str = ""  # regex (case-insensitive) the subject must match; empty: the profile's default
    number_pattern: str = ""  # generic: regex, one group around the sender's fax number (subject, then text)
    csid_pattern: str = ""  # generic: regex, one group around the CSID (the fax machine's station id)
    pages_pattern: str = ""  # generic: regex, one group around the page count
    default_region: str = ""  # ISO 3166 region of numbers written without a country code, e.g. "US"


@dataclass(frozen=True, slots=True)
class FaxFacts:
    number: str | None  # the sender's fax number in E.164, or None when none could be read
    raw_number: str  # the number as the service wrote it ("" if none)
    csid: str  # the sending machine's station id or sender name ("" if none)
    caller_name: str  # HylaFAX CallID2, eFax's NAME ("" if none)
    pages: int | None
    quality: str  # "fine" | "normal" | ""
    received_at: str  # as the service wrote it ("" if none)


def match_fax(parsed: ParsedEmail, rule: FaxRule) -> FaxFacts | None:
    """None when this mail is not a fax by this rule (or the rule is not usable: see
    `validate_rule`; only an unknown default_region is ignored); else its facts."""
    if any(field != "default_region" for field, _ in _problems(rule)):
        return None
    if not _sender_matches(rule.sender_pattern, parsed.from_address):
        return None
    if not any(_is_fax_document(a) for a in parsed.attachments):
        return None
    subject = parsed.subject[:LINE_MAX]
    subject_pattern = _compiled(rule.subject_pattern) if rule.subject_pattern.strip() else _DEFAULT_SUBJECTS.get(rule.profile)
    if subject_pattern is not None and not subject_pattern.search(subject):
        return None
    lines = parsed.text[:TEXT_MAX].split("\n")
    region = rule.default_region.strip().upper()
    region = region if region in phonenumbers.SUPPORTED_REGIONS else None
    if rule.profile == "hylafax":
        return _hylafax(subject, lines, region)
    if rule.profile == "efax":
        return _efax(subject, region)
    return _generic(rule, subject, lines, region)


def validate_rule(rule: FaxRule) -> list[str]:
    """What is wrong with a rule, each as "field: problem", for an admin to read."""
    return [f"{field}: {problem}" for field, problem in _problems(rule)]


# ---------------------------------------------------------------------------------------------
# Rules

_STRING_FIELDS = ("sender_pattern", "subject_pattern", "number_pattern", "csid_pattern", "pages_pattern", "default_region")
_GROUP_FIELDS = (("number_pattern", "the sender's fax number"), ("csid_pattern", "the station id (CSID)"),
                 ("pages_pattern", "the page count"))


def _problems(rule: FaxRule) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if rule.profile not in PROFILES:
        problems.append(("profile", f"{rule.profile!r} is not one of {', '.join(PROFILES)}"))
    wrong_type = [name for name in _STRING_FIELDS if not isinstance(getattr(rule, name), str)]
    problems += [(name, "must be text") for name in wrong_type]
    if wrong_type:
        return problems
    if len(rule.sender_pattern) > PATTERN_MAX:
        problems.append(("sender_pattern", f"is longer than {PATTERN_MAX} characters"))
    if rule.subject_pattern.strip():
        problems += [("subject_pattern", p) for p in _pattern_problems(rule.subject_pattern, None)]
    for name, what in _GROUP_FIELDS:
        pattern = getattr(rule, name)
        if pattern.strip():
            problems += [(name, p) for p in _pattern_problems(pattern, what)]
    if rule.profile == "generic":
        if not rule.number_pattern.strip():
            problems.append(("number_pattern", "the generic profile needs a regular expression with one group ( … ) "
                                               "around the sender's fax number"))
        if not rule.subject_pattern.strip() and _matches_anyone(rule.sender_pattern):
            problems.append(("subject_pattern", "the generic profile needs a subject_pattern, or a sender_pattern naming "
                                                "the fax service's address; otherwise every mail with a PDF or TIFF "
                                                "attached would count as a fax"))
    region = rule.default_region.strip()
    if region and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(("default_region", f"{region!r} is not a known region; use an ISO 3166 code such as US or DE"))
    return problems


def _matches_anyone(glob: str) -> bool:
    """Whether a sender glob lets (about) any address through: "", "*", "*@*", "*@*.*"."""
    return not glob.strip().strip("*?@.")


@lru_cache(maxsize=1024)
def _pattern_problems(pattern: str, group_of: str | None) -> tuple[str, ...]:
    if len(pattern) > PATTERN_MAX:
        return (f"is longer than {PATTERN_MAX} characters",)
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        where = f" (at character {exc.pos + 1})" if isinstance(exc, re.error) and exc.pos is not None else ""
        message = exc.msg if isinstance(exc, re.error) else "too deeply nested"
        return (f"is not a valid regular expression: {message}{where}",)
    problems = []
    if _backtracks_too_much(pattern):
        problems.append("could take very long on some mail: it nests repeats, as in (a+)+, or has more than two "
                        "open-ended repeats (*, +, {n,}) or many optional parts. The spaces around what a group "
                        "captures are removed anyway, so \\s* at its ends is not needed; else use bounded repeats "
                        "such as {0,20}")
    if group_of is not None and compiled.groups != 1:
        problems.append(f"needs exactly one group ( … ) around {group_of}, it has {compiled.groups}; "
                        f"write other groups as (?: … )")
    return tuple(problems)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A pattern `_pattern_problems` found nothing wrong with."""
    return re.compile(pattern, re.IGNORECASE)


def _backtracks_too_much(pattern: str) -> bool:
    if _sre_parser is None:  # pragma: no cover
        return False
    try:
        parsed = _sre_parser.parse(pattern, re.IGNORECASE)
    except Exception:  # it compiled, so this does not happen; when in doubt, refuse
        return True
    return _log_steps(parsed) > math.log10(_BACKTRACKING_BUDGET)


def _log_steps(items: object) -> float:
    """log10 of an upper bound of the ways a sequence of regex items can match one line: a
    repeat multiplies by its number of possible counts, and by its body's ways once per
    repetition; alternatives add up, unless each starts with a different literal character."""
    total = 0.0
    for op, arg in items:  # type: ignore[attr-defined]
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, high, body = arg
            high = min(high, LINE_MAX)
            total += math.log10(max(high - low + 1, 1)) + _log_steps(body) * max(high, 1)
        elif op is _sre.SUBPATTERN:
            total += _log_steps(arg[-1])
        elif op is _sre.ATOMIC_GROUP:
            total += _log_steps(arg)
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            total += _log_steps(arg[1])
        elif op is _sre.BRANCH:
            ways = [_log_steps(branch) for branch in arg[1]]
            exclusive = _starts_differ(arg[1])
            total += max(ways) if exclusive else math.log10(sum(10 ** min(w, 300) for w in ways))
        elif op is _sre.GROUPREF_EXISTS:
            total += max(_log_steps(arg[1]), _log_steps(arg[2]) if arg[2] is not None else 0.0)
        if total > 300:
            return math.inf
    return total


def _starts_differ(branches: list) -> bool:
    firsts = []
    for branch in branches:
        if not len(branch) or branch[0][0] is not _sre.LITERAL:
            return False
        firsts.append(chr(branch[0][1]).casefold())
    return len(set(firsts)) == len(firsts)


def _sender_matches(glob: str, address: str | None) -> bool:
    glob = glob.strip().lower()
    if not glob:
        return True
    if not address or len(address) > _ADDRESS_MAX:
        return False
    return fnmatch.fnmatchcase(address.lower(), glob)


def _is_fax_document(attachment: ParsedAttachment) -> bool:
    return is_fax_document(attachment.content_type, attachment.filename, attachment.data[:1024])


# ---------------------------------------------------------------------------------------------
# What the mail says

_DEFAULT_SUBJECTS: dict[str, re.Pattern[str]] = {
    "hylafax": re.compile(r"^\s*(?:(?:fax|facsimile)\s+received\s+from|fax\s+empfangen\s+von)\b", re.IGNORECASE),
    # eFax, eFax Corporate: `eFax from NAME - 3 page(s), caller ID: 4155551234`,
    # `eFax message from "NAME" - 1 page(s), Caller-ID: 1-415-555-1234`, `eFax from 4155551234 - 1 page`.
    "efax": re.compile(
        r"^\s*(?:corporate\s+)?e-?fax(?:\s+message)?\s+from\s+(?P<name>.*?)\s*[-\u2013\u2014]\s*(?P<pages>\d{1,5})\s*"
        r"pages?(?:\s*\(s\))?(?:\s*[,;]?\s*caller[\s_-]*id\s*[:#]?\s*(?P<caller>.*?))?\s*$", re.IGNORECASE),
}
_HYLAFAX_CSID = re.compile(r"\b(?:from|von)\s+(?:\"(?P<quoted>.*)\"|(?P<bare>.*?))\s*$", re.IGNORECASE)
# A HylaFAX body line: `          Sender: +49 30 1234567` (labels padded to line up).
_FIELD = re.compile(r"\s*([^\W\d_][\w ]{0,30}?)\s*:[ \t]*(.*)")
# Labels of the English and German templates, and of HylaFAX before 6.0, without spaces.
_LABELS = {"sender": "csid", "pages": "pages", "seiten": "pages", "quality": "quality", "qualität": "quality",
           "received": "received", "empfangen": "received", "callid1": "number", "cidnumber": "number",
           "anrufeid1": "number", "callid2": "name", "cidname": "name", "anrufeid2": "name"}
# What services write when they know nothing: HylaFAX's <UNSPECIFIED>, <unknown>, <NONE>; eFax's "unknown".
_NOTHING = re.compile(r"<[^<>]*>|unknown|unspecified|none|null|anonymous|private|unavailable|withheld|restricted"
                      r"|out[ _-]of[ _-]area|n/?a|-+|\?+", re.IGNORECASE)
_NUMBERISH = re.compile(r"\+?[\d\s().\-/]{3,40}")


def _hylafax(subject: str, lines: list[str], region: str | None) -> FaxFacts:
    fields: dict[str, str] = {}
    for line in lines:
        found = _FIELD.match(line[:LINE_MAX])
        if found:
            key = _LABELS.get(re.sub(r"[\W_]", "", found.group(1)).casefold())
            if key is not None:
                fields.setdefault(key, _value(found.group(2)))
    csid = fields.get("csid", "")
    if not csid:
        named = _HYLAFAX_CSID.search(subject)
        csid = _value(named.group("quoted") or named.group("bare") or "") if named else ""
    number, raw = _number(region, callers=[fields.get("number", "")], stations=[csid])
    return FaxFacts(number=number, raw_number=raw, csid=csid, caller_name=fields.get("name", ""),
                    pages=_count(fields.get("pages", "")), quality=_quality(fields.get("quality", "")),
                    received_at=fields.get("received", ""))


def _efax(subject: str, region: str | None) -> FaxFacts:
    found = _DEFAULT_SUBJECTS["efax"].search(subject)
    if found is None:  # a subject_pattern of the admin's own let it through
        return FaxFacts(None, "", "", "", None, "", "")
    name = _value(found.group("name"))
    number, raw = _number(region, callers=[_value(found.group("caller") or "")], stations=[name])
    return FaxFacts(number=number, raw_number=raw, csid=name, caller_name="" if _looks_like_number(name) else name,
                    pages=_count(found.group("pages")), quality="", received_at="")


def _generic(rule: FaxRule, subject: str, lines: list[str], region: str | None) -> FaxFacts:
    number = _find(rule.number_pattern, subject, lines)
    csid = _find(rule.csid_pattern, subject, lines)
    found, raw = _number(region, callers=[number], stations=[csid])
    return FaxFacts(number=found, raw_number=raw, csid=csid, caller_name="",
                    pages=_count(_find(rule.pages_pattern, subject, lines)), quality="", received_at="")


def _find(pattern: str, subject: str, lines: list[str]) -> str:
    """What the pattern's group captures in the subject, else in the first line of text it does."""
    if not pattern.strip():
        return ""
    compiled = _compiled(pattern)
    for line in (subject, *lines):
        found = compiled.search(line[:LINE_MAX])
        value = _value(found.group(1) or "") if found else ""
        if value:
            return value
    return ""


def _value(text: str) -> str:
    value = text.strip().strip('"').strip()[:_VALUE_MAX]
    return "" if _NOTHING.fullmatch(value) else value


def _count(text: str) -> int | None:
    found = re.match(r"\s*(\d{1,5})(?!\d)", text)
    return int(found.group(1)) if found else None


def _quality(text: str) -> str:
    word = text.strip().casefold()
    if "fine" in word or word.startswith("fein"):  # also superfine and the like: not squashed
        return "fine"
    return "normal" if word.startswith("normal") else ""


def _looks_like_number(text: str) -> bool:
    return bool(_NUMBERISH.fullmatch(text)) and sum(c.isdigit() for c in text) >= 3


def _number(region: str | None, *, callers: list[str], stations: list[str]) -> tuple[str | None, str]:
    """(E.164, as written) of the first caller id, else station id, that is a valid number (an
    internal extension or a mistyped station id is not); when none is, (None, the first of them
    that looks like a number)."""
    first = ""
    for raw in (*callers, *stations):
        if not _looks_like_number(raw):
            continue
        first = first or raw
        e164 = _e164(raw, region)
        if e164 is not None:
            return e164, raw
    return None, first


def _e164(raw: str, region: str | None) -> str | None:
    try:
        e164 = normalise_identity("fax", raw, region)  # the fax identity's normal form (gateway/core)
    except InvalidIdentity:
        return None
    return e164 if phonenumbers.is_valid_number(phonenumbers.parse(e164)) else None

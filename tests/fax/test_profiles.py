"""Telling a fax-to-email service's mail from other mail, and reading the fax's facts from it, on
mail built as the services send it: HylaFAX's real faxrcvd template filled in and made multipart
the way its CreateMailMessage does, eFax's subjects, a service described by a tenant's own
patterns. Checked is what the agent would see (the sender's number, station, pages) and that a
customer's mail with a PDF is never taken for a fax."""

from __future__ import annotations

import base64
import quopri
import re
from pathlib import Path

import pytest

from channels.fax.profiles import PATTERN_MAX, FaxFacts, FaxRule, match_fax, validate_rule
from gateway.mail.parse import ParsedEmail, parse_email

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "fax" / "hylafax-faxrcvd-success.txt"

POSTSCRIPT = b"%!PS-Adobe-3.0\n%%Creator: fax2ps\n%%Pages: 2\n%%EndComments\nshowpage\nshowpage\n%%EOF\n"
TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# As HylaFAX's BuildAttachArgs names them: one part per FILETYPE.
DOCUMENTS = {"ps": ("application/postscript", POSTSCRIPT), "tif": ("image/tiff", TIFF), "pdf": ("application/pdf", PDF)}

# What faxrcvd and faxinfo fill the template with, for a fax from Berlin.
FAX = {
    "FROMADDR": "faxagent@pbx.example", "SENDTO": "frontdesk@demo.example", "FILE": "recvq/fax000000123.tif",
    "HOSTNAME": "pbx.example", "PORT": "4559", "SENDER": "+49 30 9876543", "PAGES": "2", "QUALITY": "Fine",
    "PAGE": "ISO A4", "RECEIVED": "2024:03:05 14:22:10", "TIMETORECV": "0:47", "SIGNALRATE": "14400 bit/s",
    "DATAFORMAT": "2-D MMR", "ERRCORRECT": "Yes", "CALLID1": "0301234567", "CALLID2": "ACME GMBH", "DEVICE": "ttyS0",
    "COMMID": "000000123",
}
HYLAFAX = FaxRule("hylafax", sender_pattern="*@pbx.example", default_region="DE")


def fill(template: str, values: dict[str, str]) -> str:
    """HylaFAX's `template` function: each $NAME replaced by its value, unset ones by nothing."""
    return re.sub(r"\$([A-Za-z0-9_]+)", lambda m: values.get(m.group(1), ""), template)


def hylafax_mail(*filetypes: str, qp: bool = True, **values: str) -> ParsedEmail:
    """The mail faxrcvd sends (CreateMailMessage in HylaFAX's common-functions): the template's
    headers but its Content-* ones, then a multipart/mixed whose first part is the template's body
    with its Content-* headers, then one base64 part per file type. HylaFAX itself does not
    encode the body although it declares Quoted-Printable; `qp=False` sends it that way."""
    head, body = TEMPLATE.read_text().split("\n\n", 1)
    values = {**FAX, **values}
    headers = [fill(line, values) for line in head.split("\n")]
    text = fill(body, values).encode("ascii")
    content = [line for line in headers if line.lower().startswith("content")]
    lines = [line for line in headers if not line.lower().startswith("content")] + ["Mime-Version: 1.0"]
    boundary = "NextPart31337"
    if filetypes:
        lines += [f'Content-Type: Multipart/Mixed; Boundary="{boundary}"', "", f"--{boundary}"]
    lines += [*content, "", (quopri.encodestring(text) if qp else text).decode("ascii").rstrip("\n")]
    name = values["FILE"].removeprefix("recvq/").removesuffix(".tif")
    for filetype in filetypes:
        content_type, data = DOCUMENTS[filetype]
        lines += [f"--{boundary}", f'Content-Type: {content_type}; name="{name}.{filetype}"', "Content-Description: FAX document",
                  f'Content-Disposition: attachment; filename="{name}.{filetype}"', "Content-Transfer-Encoding: base64", "",
                  base64.encodebytes(data).decode("ascii").rstrip("\n")]
    if filetypes:
        lines.append(f"--{boundary}--")
    return parse_email(("\n".join(lines) + "\n").replace("\n", "\r\n").encode("ascii"))


def mail(subject: str, body: str = "", *, sender: str = "Someone <someone@example.org>",
         attachments: tuple[tuple[str, str, bytes], ...] = ()) -> ParsedEmail:
    """A mail with a plain-text body and (filename, content type, data) attachments."""
    boundary = "b0undary"
    lines = [f"From: {sender}", "To: frontdesk@demo.example", f"Subject: {subject}", "Date: Tue, 5 Mar 2024 14:23:00 +0100",
             "Message-ID: <fax-test@example.org>", "MIME-Version: 1.0"]
    if attachments:
        lines += [f'Content-Type: multipart/mixed; boundary="{boundary}"', "", f"--{boundary}"]
    lines += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", body]
    for filename, content_type, data in attachments:
        lines += [f"--{boundary}", f'Content-Type: {content_type}; name="{filename}"',
                  f'Content-Disposition: attachment; filename="{filename}"', "Content-Transfer-Encoding: base64", "",
                  base64.encodebytes(data).decode("ascii").rstrip("\n")]
    if attachments:
        lines.append(f"--{boundary}--")
    return parse_email(("\n".join(lines) + "\n").replace("\n", "\r\n").encode("utf-8"))


def test_the_hylafax_template_is_there() -> None:
    assert "$CALLID1" in TEMPLATE.read_text(), f"test data missing at {TEMPLATE}"


# --- HylaFAX ------------------------------------------------------------------------------------

@pytest.mark.parametrize("qp", [True, False], ids=["quoted-printable", "unencoded-as-hylafax-sends-it"])
def test_a_hylafax_fax_gives_the_callers_number_the_station_pages_and_quality(qp: bool) -> None:
    parsed = hylafax_mail("ps", qp=qp)
    assert parsed.from_address == "faxagent@pbx.example" and parsed.attachments[0].filename == "fax000000123.ps"

    facts = match_fax(parsed, HYLAFAX)

    # The caller id from the network, not the station id the sender typed into their machine.
    assert facts == FaxFacts(number="+49301234567", raw_number="0301234567", csid="+49 30 9876543", caller_name="ACME GMBH",
                             pages=2, quality="fine", received_at="2024:03:05 14:22:10")


@pytest.mark.parametrize("filetypes", [("tif",), ("pdf",), ("ps", "pdf")])
def test_hylafax_faxes_attached_as_tiff_pdf_or_several_types_are_faxes(filetypes: tuple[str, ...]) -> None:
    facts = match_fax(hylafax_mail(*filetypes), HYLAFAX)
    assert facts is not None and facts.number == "+49301234567" and facts.pages == 2


def test_the_faxmasters_notice_without_the_document_is_not_a_fax() -> None:
    assert match_fax(hylafax_mail(), HYLAFAX) is None


@pytest.mark.parametrize("nothing", ["", "<UNSPECIFIED>", "<unknown>", "<NONE>"])
def test_without_a_caller_id_the_number_is_the_station_id_when_it_is_a_number(nothing: str) -> None:
    facts = match_fax(hylafax_mail("ps", CALLID1=nothing, CALLID2=nothing), HYLAFAX)
    assert facts is not None
    assert (facts.number, facts.raw_number, facts.csid, facts.caller_name) == ("+49309876543", "+49 30 9876543", "+49 30 9876543", "")


@pytest.mark.parametrize("station", ["ACME GmbH Berlin", "<UNSPECIFIED>", "0000"])
def test_without_a_caller_id_a_station_id_that_is_no_number_gives_none(station: str) -> None:
    facts = match_fax(hylafax_mail("ps", CALLID1="<UNSPECIFIED>", SENDER=station), HYLAFAX)
    assert facts is not None and facts.number is None
    assert facts.csid == ("" if station.startswith("<") else station)
    assert facts.raw_number == ("0000" if station == "0000" else "")  # looks like a number, is none: shown as written


@pytest.mark.parametrize(("caller", "region", "number"), [
    ("030-123 4567", "DE", "+49301234567"),
    ("0049 30 1234567", "DE", "+49301234567"),
    ("+1 415 555 0132", "", "+14155550132"),
    ("(415) 555-0132", "US", "+14155550132"),
    ("0301234567", "", None),  # national, and no region to read it in
    ("0301234567", "XX", None),  # an unknown region is as none
])
def test_caller_numbers_as_written_are_normalised(caller: str, region: str, number: str | None) -> None:
    rule = FaxRule("hylafax", default_region=region)
    facts = match_fax(hylafax_mail("ps", CALLID1=caller, SENDER="ACME"), rule)
    assert facts is not None and (facts.number, facts.raw_number) == (number, caller)


def test_an_internal_extension_as_caller_id_falls_back_to_the_station_number() -> None:
    facts = match_fax(hylafax_mail("ps", CALLID1="214"), HYLAFAX)
    assert facts is not None and (facts.number, facts.raw_number) == ("+49309876543", "+49 30 9876543")


def test_normal_resolution_and_a_missing_page_count() -> None:
    facts = match_fax(hylafax_mail("tif", QUALITY="Normal", PAGES=""), HYLAFAX)
    assert facts is not None and (facts.quality, facts.pages) == ("normal", None)


def test_the_older_facsimile_received_from_mail() -> None:
    """HylaFAX before 6.0: `facsimile received from CSID`, faxinfo's own labels, a TIFF."""
    body = ("recvq/fax00042.tif (ftp://fax.example:4559/recvq/fax00042.tif):\n"
            "      Sender: +49 89 7654321\n       Pages: 1\n     Quality: Normal\n        Page: ISO A4\n"
            "    Received: 2003:11:20 09:15:02\n  TimeToRecv: 0:31\n  SignalRate: 9600 bit/s\n"
            "  DataFormat: 1-D MR\n  ErrCorrect: No\n")
    parsed = mail("facsimile received from +49 89 7654321", body, sender="The HylaFAX Receive Agent <fax@fax.example>",
                  attachments=(("fax00042.tif", "image/tiff", TIFF),))
    facts = match_fax(parsed, FaxRule("hylafax", sender_pattern="fax@fax.example", default_region="DE"))
    assert facts == FaxFacts(number="+49897654321", raw_number="+49 89 7654321", csid="+49 89 7654321", caller_name="",
                             pages=1, quality="normal", received_at="2003:11:20 09:15:02")


def test_the_station_id_is_read_from_the_subject_when_the_body_has_none() -> None:
    parsed = mail("facsimile received from ACME Ltd", "See the attached fax.", attachments=(("fax.ps", "application/postscript", POSTSCRIPT),))
    facts = match_fax(parsed, FaxRule("hylafax"))
    assert facts is not None and (facts.csid, facts.number, facts.pages) == ("ACME Ltd", None, None)


def test_the_german_hylafax_template() -> None:
    body = ("recvq/fax000000007.tif (ftp://pbx:4559/recvq/fax000000007.tif):\n"
            "                     Sender: Kanzlei Meier\n                     Seiten: 4\n"
            "                   Qualität: Fein\n                  Empfangen: 2024:03:05 09:01:44\n"
            "                Anrufe ID 1: 089 7654321\n                Anrufe ID 2: MEIER\n")
    parsed = mail("Fax empfangen von Kanzlei Meier", body, sender="HylaFAX Empfang <fax@pbx.example>",
                  attachments=(("fax000000007.pdf", "application/pdf", PDF),))
    facts = match_fax(parsed, HYLAFAX)
    assert facts == FaxFacts(number="+49897654321", raw_number="089 7654321", csid="Kanzlei Meier", caller_name="MEIER",
                             pages=4, quality="fine", received_at="2024:03:05 09:01:44")


# --- eFax ---------------------------------------------------------------------------------------

EFAX = FaxRule("efax", sender_pattern="*@*efax.com", default_region="US")


def efax_mail(subject: str, attachments: tuple[tuple[str, str, bytes], ...] = (("fax.pdf", "application/pdf", PDF),)) -> ParsedEmail:
    return mail(subject, "You have received a fax. Please see the attached document.", sender="eFax <message@inbound.efax.com>",
                attachments=attachments)


@pytest.mark.parametrize(("subject", "number", "raw", "csid", "name", "pages"), [
    ("eFax from ACME Corp - 3 page(s), caller ID: 4155551234", "+14155551234", "4155551234", "ACME Corp", "ACME Corp", 3),
    ('eFax message from "unknown" - 1 page(s), Caller-ID: 1-613-701-0200', "+16137010200", "1-613-701-0200", "", "", 1),
    ('Corporate eFax message from "ACME" - 2 page(s), Caller-ID: 19164574542', "+19164574542", "19164574542", "ACME", "ACME", 2),
    ("eFax from 4155551234 - 1 page(s)", "+14155551234", "4155551234", "4155551234", "", 1),
    ("eFax from Smith - Jones Ltd - 12 pages, Caller ID: +44 20 7946 0018", "+442079460018", "+44 20 7946 0018",
     "Smith - Jones Ltd", "Smith - Jones Ltd", 12),
    ("eFax from ACME - 1 page", None, "", "ACME", "ACME", 1),
])
def test_efax_subjects(subject: str, number: str | None, raw: str, csid: str, name: str, pages: int) -> None:
    facts = match_fax(efax_mail(subject), EFAX)
    assert facts == FaxFacts(number=number, raw_number=raw, csid=csid, caller_name=name, pages=pages, quality="", received_at="")


def test_efax_marketing_is_not_a_fax() -> None:
    assert match_fax(efax_mail("eFax: send faxes from your phone - 30 days free", attachments=()), EFAX) is None
    assert match_fax(efax_mail("eFax from eFax - 1 page(s) of tips", attachments=()), EFAX) is None  # no document
    brochure = (("pricing.pdf", "application/pdf", PDF),)
    assert match_fax(efax_mail("Your eFax plan: new prices", attachments=brochure), EFAX) is None


# --- a service of the tenant's own ----------------------------------------------------------------

FAXSERV = FaxRule("generic", sender_pattern="noreply@faxserv.example", subject_pattern=r"^new fax\b",
                  number_pattern=r"fax from\s*(\+?\d[\d /-]{4,30}\d)", csid_pattern=r"^station(?: id)?:\s*(.+)",
                  pages_pattern=r"(\d+)\s*pages?\b", default_region="GB")


def test_a_generic_rule_reads_the_facts_with_the_tenants_patterns() -> None:
    parsed = mail("New fax from 020 7946 0018 (3 pages)", "Station ID: ACME LONDON\nReceived by FaxServ.",
                  sender="FaxServ <noreply@faxserv.example>", attachments=(("fax-8812.tif", "image/tiff", TIFF),))
    assert match_fax(parsed, FAXSERV) == FaxFacts(number="+442079460018", raw_number="020 7946 0018", csid="ACME LONDON",
                                                  caller_name="", pages=3, quality="", received_at="")


def test_a_generic_rule_finds_what_the_subject_lacks_in_the_text() -> None:
    parsed = mail("New fax", "You have a new fax.\n\nIt is a fax from +44 20 7946 0018.\nStation: Acme\n2 pages",
                  sender="noreply@faxserv.example", attachments=(("document", "application/octet-stream", PDF),))
    facts = match_fax(parsed, FAXSERV)
    assert facts is not None and (facts.number, facts.csid, facts.pages) == ("+442079460018", "Acme", 2)


def test_a_generic_rule_on_a_mail_without_the_facts_is_a_fax_without_them() -> None:
    parsed = mail("New fax", "Nothing to say.", sender="noreply@faxserv.example", attachments=(("f.pdf", "application/pdf", PDF),))
    assert match_fax(parsed, FAXSERV) == FaxFacts(None, "", "", "", None, "", "")


# --- what is not a fax ------------------------------------------------------------------------------

INVOICE = (("invoice-4711.pdf", "application/pdf", PDF),)


def test_a_customers_mail_with_a_pdf_is_not_a_fax() -> None:
    parsed = mail("Invoice 4711 - question", "Hello, I was charged twice.", sender="Ann Customer <ann@customer.example>",
                  attachments=INVOICE)
    assert match_fax(parsed, HYLAFAX) is None  # not from the fax server
    assert match_fax(parsed, FaxRule("hylafax", sender_pattern="*")) is None  # from anyone, but no fax's subject
    assert match_fax(parsed, FaxRule("efax")) is None
    assert match_fax(parsed, FAXSERV) is None


def test_a_customer_writing_a_fax_like_subject_from_elsewhere_is_not_a_fax() -> None:
    parsed = mail('Fax received from "ACME"', "Did you get my fax?", sender="ann@customer.example", attachments=INVOICE)
    assert match_fax(parsed, HYLAFAX) is None
    assert match_fax(parsed, FaxRule("hylafax")) is not None  # a rule for any sender takes it: hence sender_pattern


def test_a_fax_servers_mail_with_a_subject_of_the_admins_own() -> None:
    parsed = hylafax_mail("ps")
    assert match_fax(parsed, FaxRule("hylafax", subject_pattern=r"^Fax received", default_region="DE")) is not None
    facts = match_fax(parsed, FaxRule("hylafax", subject_pattern="^eingang", default_region="DE"))
    assert facts is None


def test_an_unusable_rule_takes_no_mail() -> None:
    parsed = mail("Anything", "", sender="ann@customer.example", attachments=INVOICE)
    assert match_fax(parsed, FaxRule("generic", number_pattern=r"(\d+)")) is None  # would take every mail with a PDF
    assert match_fax(parsed, FaxRule("generic", sender_pattern="*@*", number_pattern=r"(\d+)")) is None
    assert match_fax(parsed, FaxRule("generic", subject_pattern="(", number_pattern=r"(\d+)")) is None
    assert match_fax(parsed, FaxRule("fancyfax")) is None  # type: ignore[arg-type]
    assert match_fax(parsed, FaxRule("hylafax", sender_pattern=None)) is None  # type: ignore[arg-type]


# --- rules as an admin writes them ------------------------------------------------------------------

@pytest.mark.parametrize("rule", [
    FaxRule("hylafax"), HYLAFAX, EFAX, FAXSERV,
    FaxRule("generic", sender_pattern="*@fax.example", number_pattern=r"Caller[- ]?ID:\s*([+\d][\d -]+)"),
    FaxRule("generic", subject_pattern=r"^(?:new )?fax (?:message )?from", number_pattern=r"from\s+(.+)", default_region="de"),
])
def test_good_rules_have_no_problems(rule: FaxRule) -> None:
    assert validate_rule(rule) == []


@pytest.mark.parametrize(("rule", "field", "words"), [
    (FaxRule("hylafax", subject_pattern="(fax"), "subject_pattern", "not a valid regular expression"),
    (FaxRule("generic", sender_pattern="*@fax.example", number_pattern="[0-9"), "number_pattern", "not a valid regular expression"),
    (FaxRule("generic", sender_pattern="*@fax.example"), "number_pattern", "needs a regular expression"),
    (FaxRule("generic", number_pattern=r"(\d+)"), "subject_pattern", "every mail"),
    (FaxRule("generic", sender_pattern="*", number_pattern=r"(\d+)"), "subject_pattern", "every mail"),
    (FaxRule("generic", subject_pattern="^fax", number_pattern=r"\d+"), "number_pattern", "exactly one group"),
    (FaxRule("generic", subject_pattern="^fax", number_pattern=r"(Fax|Telefax) from (\d+)"), "number_pattern", "exactly one group"),
    (FaxRule("generic", subject_pattern="^fax", number_pattern=r"(\d+)", csid_pattern="CSID: .+"), "csid_pattern", "exactly one group"),
    (FaxRule("generic", subject_pattern="^fax", number_pattern=r"((?:\d+\s?)+)#"), "number_pattern", "very long"),
    (FaxRule("generic", subject_pattern="^fax", number_pattern=r"^From:\s*(.*?)\s*$"), "number_pattern", "very long"),
    (FaxRule("efax", subject_pattern="a?" * 30), "subject_pattern", "very long"),
    (FaxRule("hylafax", subject_pattern="x" * (PATTERN_MAX + 1)), "subject_pattern", "longer than"),
    (FaxRule("hylafax", sender_pattern="*" * (PATTERN_MAX + 1)), "sender_pattern", "longer than"),
    (FaxRule("hylafax", default_region="XX"), "default_region", "not a known region"),
    (FaxRule("hylafax", default_region="Germany"), "default_region", "not a known region"),
    (FaxRule("fancyfax"), "profile", "not one of"),  # type: ignore[arg-type]
    (FaxRule("hylafax", subject_pattern=None), "subject_pattern", "must be text"),  # type: ignore[arg-type]
])
def test_rule_problems_name_the_field_and_what_is_wrong(rule: FaxRule, field: str, words: str) -> None:
    problems = validate_rule(rule)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{field}: ") and words in problems[0]


# --- hostile mail, careless patterns ------------------------------------------------------------------

def test_a_huge_subject_is_read_only_as_far_as_a_subject_goes() -> None:
    """`(\\d+)\\s*pages?` backtracks quadratically over a run of digits: on this 60,000-character
    subject it would take about a minute; on the first few hundred characters, nothing."""
    rule = FaxRule("generic", subject_pattern=r"^fax from", number_pattern=r"fax from ([+\d][\d ]{4,20}\d)",
                   pages_pattern=r"(\d+)\s*pages?", default_region="US")
    parsed = mail("Fax from +1 415 555 0132: " + "7" * 60_000, "1" * 60_000, sender="fax@fax.example", attachments=INVOICE)
    assert len(parsed.subject) > 60_000

    facts = match_fax(parsed, rule)

    assert facts is not None and (facts.number, facts.pages) == ("+14155550132", None)


def test_a_pattern_that_backtracks_exponentially_is_never_run() -> None:
    """On this subject `((?:\\d+\\s?)+)#` would try 2^40 ways."""
    rule = FaxRule("generic", subject_pattern="^fax", number_pattern=r"((?:\d+\s?)+)#")
    parsed = mail("Fax " + "1" * 40 + "!", "", sender="fax@fax.example", attachments=INVOICE)
    assert match_fax(parsed, rule) is None
    assert validate_rule(rule)

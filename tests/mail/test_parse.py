"""The e-mail parser on real mail (the Ruby `mail` gem's fixtures, several malformed on purpose)
and on what a contact center meets daily: auto-replies, bounces, HTML-only mail, Asian charsets,
broken MIME, garbage. Checked is what an agent reading the mail would notice."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.mail.parse import BounceRecipient, ParsedEmail, parse_email, split_quoted

EMAILS = Path(__file__).resolve().parents[1] / "data" / "emails"
FILES = sorted(EMAILS.rglob("*.eml"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def real(name: str) -> ParsedEmail:
    return parse_email((EMAILS / name).read_bytes())


def mail(headers: str, body: bytes = b"Hello\r\n") -> ParsedEmail:
    return parse_email(headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)


# --- every real file ---------------------------------------------------------------------------

def test_the_real_mail_is_there() -> None:
    assert len(FILES) >= 50, f"test data missing under {EMAILS}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(EMAILS)) for p in FILES])
def test_every_real_mail_parses_into_something_to_show(path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_email(raw)
    assert parsed.text.strip() or parsed.attachments or parsed.problems
    assert parsed.size == len(raw)
    for shown in [parsed.text, parsed.subject, parsed.from_name, *parsed.problems]:
        shown.encode("utf-8")  # no stray surrogates: they would break storage and the browser
    for attachment in parsed.attachments:
        assert attachment.filename and "/" not in attachment.filename and "\\" not in attachment.filename
        assert len(attachment.filename.encode()) <= 255
        assert attachment.content_type == attachment.content_type.lower() and "/" in attachment.content_type
    assert parsed.date is None or parsed.date.tzinfo is not None


# --- what agents read in real mail ---------------------------------------------------------------

def test_japanese_in_iso_2022_jp_and_utf8_subjects() -> None:
    parsed = real("multi_charset/japanese_iso_2022.eml")
    assert parsed.subject == "まみむめも"
    assert parsed.text == "すみません。"
    assert real("multi_charset/japanese.eml").text.startswith("かきくえこ\n\n-- \n")


def test_japanese_in_shift_jis() -> None:
    parsed = real("multi_charset/japanese_shift_jis.eml")
    assert parsed.text.startswith("あいうえお")
    assert "このメールはテスト用のメールです。" in parsed.text
    assert "今後ともよろしくお願い申し上げます！" in parsed.text


def test_korean_in_ks_c_5601_and_euc_kr() -> None:
    assert real("multi_charset/ks_c_5601-1987.eml").text == "스티해"
    parsed = real("plain_emails/raw_email.eml")
    assert parsed.subject == "NOTE: 한국말로 하는 것"
    assert parsed.text.startswith("대부분의 마찬가지로, 우리는 하나님을 믿습니다.")


def test_subject_partly_encoded_and_long_encoded_subject() -> None:
    assert real("plain_emails/raw_email_with_partially_quoted_subject.eml").subject == 'Re: Test: "漢字" mid "漢字" tail'
    assert real("multi_charset/japanese_attachment_long_name.eml").subject == "まみむめも" * 10
    assert real("attachment_emails/attachment_with_quoted_filename.eml").subject == "Eelanalüüsi päring"


def test_utf8_headers_of_rfc6532() -> None:
    parsed = real("rfc6532/utf8_headers.eml")
    assert (parsed.from_name, parsed.from_address) == ("Jöhn Doe", "jdöe@mächine.example")
    assert parsed.to == ["märy@exämple.net"]
    assert parsed.subject == "Säying Hello"


def test_utf8_body_under_a_wrong_or_unknown_charset_reads_right() -> None:
    for name in ("plain_emails/raw_email10.eml", "plain_emails/raw_email6.eml"):  # X-UNKNOWN, us-ascii
        assert "Envoyé par le service de messagerie texte de Bell Mobilité." in real(name).text


def test_non_ascii_attachment_names_are_decoded() -> None:
    names = {
        "attachment_emails/attachment_nonascii_filename.eml": "ciële.txt",  # raw UTF-8
        "multi_charset/japanese_attachment.eml": "てすと.txt",  # RFC 2047 in quotes
        "multi_charset/japanese_attachment_long_name.eml": "かきくけこ" * 5 + ".txt",  # RFC 2231 continued
        "attachment_emails/attachment_with_quoted_filename.eml": "Eelanalüüsi päring.jpg",  # RFC 2231, NFD
        "attachment_emails/attachment_with_base64_encoded_name.eml": "This is a test.pdf",  # unquoted encoded word
        "attachment_emails/attachment_with_unquoted_name.eml": "This is a test.txt",  # unquoted with spaces
        "attachment_emails/attachment_content_disposition.eml": "api.rb",  # disposition over Content-Type name
    }
    for file, filename in names.items():
        assert [a.filename for a in real(file).attachments] == [filename], file


def test_attachment_content_and_type() -> None:
    [text_file] = real("multi_charset/japanese_attachment.eml").attachments
    assert (text_file.content_type, text_file.data.decode()) == ("text/plain", "this is a test\nこれわてすと")
    [jpeg] = real("attachment_emails/attachment_with_quoted_filename.eml").attachments
    assert jpeg.content_type == "image/jpeg" and jpeg.data.startswith(b"\xff\xd8")
    [logo] = real("mime_emails/email_with_similar_boundaries.eml").attachments
    assert (logo.filename, logo.content_type) == ("LOGO.png", "image/png")  # sent as application/octetstream
    [photo] = real("mime_emails/raw_email12.eml").attachments
    assert (photo.filename, photo.content_id, photo.inline) == ("Photo25.jpg", "qbFGyPQAS8", False)  # no HTML shows it


def test_forwarded_message_is_kept_as_eml_holding_the_inner_mail() -> None:
    parsed = real("attachment_emails/attachment_message_rfc822.eml")
    assert parsed.text == "This is the first part."
    [eml] = parsed.attachments
    assert (eml.filename, eml.content_type) == ("ForwardedMessage.eml", "message/rfc822")
    inner = parse_email(eml.data)
    assert (inner.subject, inner.from_address) == ("Another PDF", "xxxx@xxxx.com")
    assert [a.filename for a in inner.attachments] == ["broken.pdf"]


def test_html_mail_with_cid_image_and_an_attached_mail() -> None:
    parsed = real("attachment_emails/attachment_message_rfc822_inline_image.eml")
    image, eml = parsed.attachments
    assert (image.filename, image.content_type, image.inline) == ("img.png", "image/png", True)
    assert image.content_id == "emedfeb92f-a786-4718-a446-98db8afb53fb@kronos"
    assert parsed.html is not None and f"cid:{image.content_id}" in parsed.html
    assert (eml.filename, eml.inline) == ("Testmail.eml", False)


def test_header_with_a_junk_line_still_gives_sender_subject_and_text() -> None:
    parsed = real("plain_emails/raw_email_incorrect_header.eml")
    assert parsed.problems == ["1 malformed header line was ignored."]
    assert (parsed.from_address, parsed.subject) == ("xxx@xxx.xxx", "Stop adware/spyware once and for all.")
    assert parsed.text.startswith("You are infected with:")


def test_outlook_express_boundary_with_illegal_characters_is_read() -> None:
    for name in ("mime_emails/raw_email_with_illegal_boundary.eml", "mime_emails/raw_email_with_quoted_illegal_boundary.eml"):
        parsed = real(name)
        assert parsed.text == "Hello\nThis is an outlook test\n\nSo there.\n\nMe.", name
        assert parsed.html is not None and "<strong>So there.</strong>" in parsed.html


def test_cut_off_multipart_warns_but_keeps_the_text() -> None:
    parsed = real("mime_emails/raw_email4.eml")
    assert parsed.text.startswith("Some text\n\n--\nThis Orange Multi Media Message")
    assert any("cut off" in p for p in parsed.problems)


def test_unreadable_and_absurd_dates_are_none_with_a_note() -> None:
    for name in ("plain_emails/raw_email_with_bad_date.eml", "plain_emails/raw_email_bad_time.eml"):
        parsed = real(name)
        assert parsed.date is None and any("date" in p for p in parsed.problems), name
    assert real("plain_emails/basic_email.eml").date == datetime(2008, 11, 22, 4, 4, 59, tzinfo=timezone.utc)


def test_sender_without_angle_brackets_and_ids_without_them() -> None:
    parsed = real("plain_emails/mix_caps_content_type.eml")  # From: Big Bug bb@bug.com
    assert (parsed.from_name, parsed.from_address) == ("Big Bug", "bb@bug.com")
    assert parsed.message_id == "201002191008.30117.foo.bar@company.com"
    assert real("plain_emails/raw_email_double_at_in_header.eml").message_id == "d3b8cf8e49f0448085@0c28713a1@f473e@37signals.com"


def test_reply_threading_headers() -> None:
    parsed = real("plain_emails/raw_email_reply.eml")
    assert parsed.in_reply_to == ["348F04F142D69C21-291E56D292BC@xxxx.net"]
    assert parsed.references == ["473FF3B8.9020707@xxx.org", "348F04F142D69C21-291E56D292BC@xxxx.net"]


def test_fax_notice_in_quoted_printable_crlf_reads_as_lines() -> None:
    text = real("plain_emails/raw_email_quoted_with_0d0a.eml").text
    assert "\r" not in text
    assert "Time: 3/9/2006 3:50:52 PM\nReceived from remote ID: \n" in text
    assert "Result: (0/352;0/0) Successful Send\nPage record: 1 - 1" in text


def test_real_delivery_delay_report() -> None:
    parsed = real("mime_emails/raw_email_with_mimepart_without_content_type.eml")
    assert parsed.bounce is not None and parsed.auto_reply
    assert parsed.bounce.original_message_id == "89d7557c0610181510r6fa5ebd8n66a7deec71ade118@mail.gmail.com"
    assert parsed.bounce.recipients == [BounceRecipient("larose.julie@courrier.uqam.ca", "delayed", "4.5.0", "")]
    assert not parsed.bounce.failed  # only a warning: the mail is still being retried
    assert "THIS IS A WARNING MESSAGE ONLY" in parsed.text


# --- automatic mail --------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated (vacation)", "Precedence: bulk",
    "Precedence: junk", "Precedence: list", "Precedence: auto_reply", "X-Precedence: bulk", "X-Autoreply: yes",
    "X-Autorespond: Out of office", "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent", "Return-Path: <>",
])
def test_automatic_replies_are_recognised(header: str) -> None:
    assert mail(f"From: anna@example.org\n{header}\nSubject: Out of office").auto_reply


@pytest.mark.parametrize("header", ["Auto-Submitted: no", "X-Auto-Response-Suppress: All", "X-Mailer: Outlook 16.0",
                                    "Return-Path: <anna@example.org>"])
def test_a_person_s_mail_is_not_automatic(header: str) -> None:
    parsed = mail(f"From: anna@example.org\n{header}\nSubject: My order")
    assert not parsed.auto_reply and not parsed.bulk and parsed.bounce is None


@pytest.mark.parametrize("header", ["List-Id: <news.example.org>", "List-Unsubscribe: <mailto:leave@example.org>"])
def test_list_mail_is_bulk(header: str) -> None:
    parsed = mail(f"From: news@example.org\n{header}\nSubject: Newsletter")
    assert parsed.bulk and not parsed.auto_reply


DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: support@wecc.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon, 3 Jun 2024 10:15:00 +0200

Final-Recipient: rfc822; Nobody@example.org
Original-Recipient: rfc822;nobody@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address
    rejected: User unknown

--B1
Content-Type: text/rfc822-headers

From: Support <support@wecc.example>
To: nobody@example.org
Subject: Re: Your ticket
Message-ID: <reply-42@wecc.example>

--B1--
""".replace(b"\n", b"\r\n")


def test_standard_bounce_names_the_failed_recipient_and_our_message() -> None:
    parsed = parse_email(DSN)
    assert parsed.bounce is not None and parsed.bounce.failed and parsed.auto_reply
    assert parsed.bounce.original_message_id == "reply-42@wecc.example"
    assert parsed.bounce.recipients == [BounceRecipient(
        "nobody@example.org", "failed", "5.1.1", "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown")]
    assert parsed.text.startswith("I'm sorry to have to inform you")


POSTFIX_BOUNCE = """From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
To: support@wecc.example
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1
    <nobody@example.org>: Recipient address rejected: User unknown (in reply
    to RCPT TO command)

------ Original message headers ------
From: Support <support@wecc.example>
Message-ID: <reply-43@wecc.example>
Subject: Re: Your ticket
"""


def test_postfix_style_plain_bounce() -> None:
    parsed = mail(POSTFIX_BOUNCE, b"")
    assert parsed.bounce is not None and parsed.auto_reply
    assert parsed.bounce.original_message_id == "reply-43@wecc.example"
    [recipient] = parsed.bounce.recipients
    assert (recipient.address, recipient.action, recipient.status) == ("nobody@example.org", "failed", "5.1.1")
    assert "User unknown" in recipient.diagnostic


def test_exim_style_plain_bounce() -> None:
    parsed = mail("""From: Mail Delivery System <Mailer-Daemon@mx.example.net>
Subject: Mail delivery failed: returning message to sender""", b"""This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  nobody@example.org
    SMTP error from remote mail server after RCPT TO:<nobody@example.org>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

Message-ID: <reply-44@wecc.example>
From: support@wecc.example
""".replace(b"\n", b"\r\n"))
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "reply-44@wecc.example"
    assert [(r.address, r.status) for r in parsed.bounce.recipients] == [("nobody@example.org", "5.1.1")]


def test_postmaster_writing_about_something_else_is_no_bounce() -> None:
    parsed = mail("From: postmaster@example.org\nSubject: Your mailbox is almost full")
    assert parsed.bounce is None and not parsed.auto_reply


# --- bodies ------------------------------------------------------------------------------------------

def test_html_only_mail_gives_text_clean_html_and_the_inline_image() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Anna <Anna@Example.org>", "support@wecc.example", "Photo of the damage"
    msg.set_content('<html><head><title>Mail</title><style>p{color:red}</style></head><body>'
                    '<p>Hello <b>team</b>,</p><p>see the photo:<br><img src="cid:photo@example.org"></p>'
                    '<ul><li>box dented</li><li>lid &amp; seal broken</li></ul>'
                    '<script>alert(1)</script><a href="javascript:alert(2)" onclick="steal()">details</a></body></html>',
                    subtype="html")
    msg.add_related(PNG, "image", "png", cid="<photo@example.org>")
    msg.add_attachment(PNG, "image", "png", filename="other.png")
    parsed = parse_email(msg.as_bytes())
    assert parsed.text == "Hello team,\n\nsee the photo:\n\n- box dented\n- lid & seal broken\n\ndetails"
    assert parsed.html is not None
    assert "<script" not in parsed.html and "alert" not in parsed.html and "onclick" not in parsed.html
    assert "color:red" not in parsed.html and "Mail" not in parsed.html
    assert 'src="cid:photo@example.org"' in parsed.html
    photo, other = parsed.attachments
    assert (photo.content_id, photo.inline, photo.content_type, photo.data) == ("photo@example.org", True, "image/png", PNG)
    assert photo.filename == "attachment-1.png"
    assert (other.filename, other.inline) == ("other.png", False)
    assert (parsed.from_name, parsed.from_address) == ("Anna", "anna@example.org")


def test_alternative_shows_the_plain_text_and_keeps_the_html() -> None:
    msg = EmailMessage()
    msg["From"] = "anna@example.org"
    msg.set_content("Hello plain")
    msg.add_alternative("<p>Hello <i>html</i></p>", subtype="html")
    parsed = parse_email(msg.as_bytes())
    assert parsed.text == "Hello plain"
    assert parsed.html == "<p>Hello <i>html</i></p>"


def test_alternative_with_an_empty_plain_part_uses_the_html() -> None:
    msg = EmailMessage()
    msg.set_content("\n")
    msg.add_alternative("<div>Only here</div>", subtype="html")
    assert parse_email(msg.as_bytes()).text == "Only here"


@pytest.mark.parametrize("charset, text, encoding", [
    ("gb2312", "您好，喆先生的订单还没到。", "gbk"),  # 喆 is GBK only: a GB2312 decoder fails on it
    ("GBK", "您好，喆先生的订单还没到。", "gbk"),
    ("Shift_JIS", "①注文番号は１２３です。", "cp932"),  # ① is a Windows (cp932) extension of Shift_JIS
    ("ks_c_5601-1987", "똠방각하, 주문이 아직 안 왔어요.", "cp949"),  # 똠 is outside EUC-KR
    ("iso-2022-jp", "注文はまだ届いていません。", "iso2022_jp"),
    ("windows-1251", "Здравствуйте, заказ не пришёл.", "cp1251"),
])
def test_bodies_in_asian_and_other_charsets(charset: str, text: str, encoding: str) -> None:
    parsed = mail(f"From: c@example.org\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit",
                  text.encode(encoding))
    assert parsed.text == text and not parsed.problems


def test_korean_encoded_word_subject_in_ks_c_5601() -> None:
    import base64
    word = base64.b64encode("똠방각하 문의".encode("cp949")).decode()
    assert mail(f"From: c@example.org\nSubject: =?ks_c_5601-1987?B?{word}?=").subject == "똠방각하 문의"


def test_undecodable_bytes_are_replaced_with_a_note() -> None:
    parsed = mail("From: c@example.org\nContent-Type: text/plain; charset=utf-8", b"caf\xc3\xa9 \xff\xfe ok")
    assert parsed.text == "café �� ok"
    assert any("could not be decoded" in p for p in parsed.problems)


def test_missing_content_type_is_plain_text() -> None:
    parsed = mail("From: c@example.org\nSubject: hi", b"Caf\xc3\xa9 ok\r\nline 2\r\n")
    assert (parsed.text, parsed.html, parsed.attachments, parsed.problems) == ("Café ok\nline 2", None, [], [])


def test_broken_boundary_shows_the_raw_text_and_says_so() -> None:
    parsed = mail('From: c@example.org\nContent-Type: multipart/mixed; boundary="abc"',
                  b"--xyz\r\nContent-Type: text/plain\r\n\r\nMy order 4711 is late.\r\n--xyz--\r\n")
    assert "My order 4711 is late." in parsed.text
    assert any("boundary" in p for p in parsed.problems)


def test_multipart_without_boundary_parameter() -> None:
    parsed = mail("From: c@example.org\nContent-Type: multipart/alternative", b"--q\r\n\r\nHello\r\n--q--\r\n")
    assert "Hello" in parsed.text and parsed.problems


def test_garbage_bytes_never_raise() -> None:
    noise = random.Random(7)
    for size in (1, 10, 1000, 100_000):
        parsed = parse_email(bytes(noise.randrange(256) for _ in range(size)))
        assert parsed.text or parsed.problems


def test_empty_input() -> None:
    for raw in (b"", b"\r\n\r\n", b"   "):
        parsed = parse_email(raw)
        assert (parsed.text, parsed.problems) == ("", ["The message is empty."])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_email(raw), ParsedEmail)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_damaged_real_mail_never_raises(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(FILES)).read_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    assert isinstance(parse_email(bytes(raw[:cut])), ParsedEmail)


def test_huge_header_lines_are_survived() -> None:
    parsed = mail("From: Anna <anna@example.org>\nSubject: " + "spam " * 400_000 + "\nTo: " + '"a' * 50_000)
    assert parsed.from_address == "anna@example.org"
    assert parsed.subject.startswith("spam spam") and len(parsed.subject) <= 65_536


# --- headers -----------------------------------------------------------------------------------------

def test_message_ids_tolerate_junk_missing_brackets_and_folding() -> None:
    parsed = mail("""Message-ID:   < abc@example.org >
In-Reply-To: Your message of Monday <prev@example.org> (sent from a phone)
References: <first@example.org> junk (comment <not@example.org>) bare@example.org
 <folded@exa
 mple.org>, <first@example.org>""")
    assert parsed.message_id == "abc@example.org"
    assert parsed.in_reply_to == ["prev@example.org"]
    assert parsed.references == ["first@example.org", "bare@example.org", "folded@example.org"]


def test_addresses_reply_to_and_cc() -> None:
    parsed = mail("""From: "Doe, Jane" <Jane.Doe@Example.COM>
Reply-To: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>
To: support@wecc.example, "Sales" <sales@wecc.example>
Cc: undisclosed-recipients:;""")
    assert (parsed.from_name, parsed.from_address) == ("Doe, Jane", "jane.doe@example.com")
    assert parsed.reply_to == "joerg@example.org"
    assert parsed.to == ["support@wecc.example", "sales@wecc.example"]
    assert parsed.cc == []


def test_dates_become_utc() -> None:
    assert mail("Date: Mon, 3 Jun 2024 10:15:00 +0200").date == datetime(2024, 6, 3, 8, 15, tzinfo=timezone.utc)
    assert mail("Date: Mon, 3 Jun 2024 10:15:00 -0000").date == datetime(2024, 6, 3, 10, 15, tzinfo=timezone.utc)
    assert mail("Subject: no date").date is None


# --- attachments -----------------------------------------------------------------------------------

def attachment_named(disposition: str, content_type: str = "application/pdf") -> str:
    parsed = mail("From: c@example.org\nContent-Type: multipart/mixed; boundary=b",
                  f"--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: {content_type}\r\n"
                  f"Content-Disposition: {disposition}\r\n\r\n%PDF\r\n--b--\r\n".encode())
    assert parsed.text == "see file"
    [attachment] = parsed.attachments
    return attachment.filename


def test_attachment_names_are_made_safe() -> None:
    assert attachment_named('attachment; filename="../../etc/passwd"') == "passwd"
    assert attachment_named('attachment; filename="C:\\\\Users\\\\x\\\\invoice.pdf"') == "invoice.pdf"
    assert attachment_named('attachment; filename="in\x07voice\u202egpj.pdf"') == "invoicegpj.pdf"
    long = attachment_named(f'attachment; filename="{"ä" * 300}.pdf"')
    assert len(long.encode()) <= 255 and long.endswith(".pdf") and long.startswith("ää")


def test_nameless_attachments_get_a_name_from_their_type() -> None:
    assert attachment_named("attachment") == "attachment-1.pdf"
    assert attachment_named("attachment", "image/jpeg") == "attachment-1.jpg"


def test_octet_stream_gets_its_type_from_the_name() -> None:
    parsed = mail("From: c@example.org\nContent-Type: application/octet-stream; name=report.pdf\n"
                  "Content-Disposition: attachment", b"%PDF")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("report.pdf", "application/pdf")]


def test_attached_mail_without_a_name_is_named_after_its_subject() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Invoice 4711 / June"
    inner.set_content("the invoice")
    outer = EmailMessage()
    outer["From"] = "c@example.org"
    outer.set_content("forwarding")
    outer.add_attachment(inner)
    [eml] = parse_email(outer.as_bytes()).attachments
    assert (eml.filename, eml.content_type) == ("Invoice 4711 _ June.eml", "message/rfc822")
    assert parse_email(eml.data).text == "the invoice"


# --- quoted history ----------------------------------------------------------------------------------

def test_split_gmail_reply() -> None:
    new, quoted = split_quoted("Thanks, that fixed it.\n\nAnna\n\n"
                               "On Mon, 3 Jun 2024 at 10:15, Support Team <support@example.com>\nwrote:\n\n"
                               "> Hello Anna,\n>\n> please restart the router.\n")
    assert new == "Thanks, that fixed it.\n\nAnna"
    assert quoted.startswith("On Mon, 3 Jun 2024") and quoted.endswith("> please restart the router.")


def test_split_outlook_reply() -> None:
    new, quoted = split_quoted("Yes, please send the invoice again.\r\n\r\nBob\r\n\r\n"
                               "________________________________\r\nFrom: Support <support@example.com>\r\n"
                               "Sent: Monday, June 3, 2024 10:15 AM\r\nTo: Bob <bob@example.org>\r\n"
                               "Subject: RE: Invoice 4711\r\n\r\nDear Bob, the invoice is attached.\r\n")
    assert new == "Yes, please send the invoice again.\n\nBob"
    assert quoted.startswith("____") and "Dear Bob" in quoted


def test_split_original_message_and_german_intro() -> None:
    assert split_quoted("Got it.\n\n-----Original Message-----\nFrom: a@b.c\nold") == (
        "Got it.", "-----Original Message-----\nFrom: a@b.c\nold")
    assert split_quoted("Danke!\n\nAm 03.06.2024 um 10:15 schrieb Support <s@example.com>:\n> Hallo") == (
        "Danke!", "Am 03.06.2024 um 10:15 schrieb Support <s@example.com>:\n> Hallo")


def test_split_bare_quote_keeps_the_signature_with_the_new_part() -> None:
    assert split_quoted("My order number is 12345.\n-- \nCarl\n\n> When did you order?\n> Which item?\n") == (
        "My order number is 12345.\n-- \nCarl", "> When did you order?\n> Which item?")


def test_inline_answers_and_unquoted_mail_are_not_split() -> None:
    inline = "> When did you order?\nYesterday.\n> Which item?\nThe blue one."
    assert split_quoted(inline) == (inline, "")
    assert split_quoted("Just a question.\n") == ("Just a question.", "")

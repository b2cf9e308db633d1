"""Mail parsed in worker processes: the same result as parsing in-process, and a mail that hangs
or kills its worker is still kept (as raw text, with a warning) while the next mail parses as
usual."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.mail.parse import ParsedEmail, parse_email
from gateway.mail.parse_pool import ParserPool

EMAILS = Path(__file__).resolve().parents[1] / "data" / "emails"
PLAIN = b"From: Ann <ann@example.com>\r\nSubject: Order 42\r\n\r\nWhere is my order?\r\n"


# Run in the workers in place of parse_email, so picklable by reference: module-level.
def slow_or_parse(raw: bytes) -> ParsedEmail:
    """A mail starting "SLOW" takes a minute to read; any other is parsed."""
    if raw.startswith(b"SLOW"):
        time.sleep(60)
    return parse_email(raw)


def hang_after_marking(raw: bytes) -> ParsedEmail:
    """A mail starting "HANG <path>" writes the worker's pid to that file, then hangs; any other
    is parsed."""
    if raw.startswith(b"HANG "):
        Path(raw[5:raw.index(b"\r")].decode()).write_text(str(os.getpid()))
        time.sleep(60)
    return parse_email(raw)


def greedy_or_parse(raw: bytes) -> ParsedEmail:
    """A mail starting "GREEDY" needs a gigabyte to read; any other is parsed."""
    if raw.startswith(b"GREEDY"):
        return ParsedEmail(text=str(len(bytearray(2**30))), size=len(raw))
    return parse_email(raw)


def worker_pid(raw: bytes) -> ParsedEmail:
    return ParsedEmail(text=str(os.getpid()), size=len(raw))


@pytest.fixture
async def pool() -> AsyncIterator[ParserPool]:
    pool = ParserPool(2, timeout=20)
    yield pool
    pool.close()


def seen(parsed: ParsedEmail) -> tuple[object, ...]:
    return (parsed.subject, parsed.from_address, parsed.from_name, parsed.text, parsed.html,
            [(a.filename, a.content_type, len(a.data)) for a in parsed.attachments], parsed.problems)


async def test_mail_parses_in_a_worker_as_in_process(pool: ParserPool) -> None:
    files = sorted(p for p in EMAILS.rglob("*.eml") if "attachment" in p.name)[:6] + [EMAILS / "plain_emails" / "basic_email.eml"]
    raws = [p.read_bytes() for p in files]
    results = await asyncio.gather(*(pool.parse(raw) for raw in raws))
    for raw, parsed in zip(raws, results):
        assert seen(parsed) == seen(parse_email(raw))
        assert parsed == parse_email(raw)
    assert any(parsed.attachments for parsed in results)


def test_a_parsed_mail_survives_the_trip_between_processes() -> None:
    for path in sorted(EMAILS.rglob("*.eml")):
        parsed = parse_email(path.read_bytes())
        assert pickle.loads(pickle.dumps(parsed)) == parsed


async def test_parsing_happens_in_another_process() -> None:
    pool = ParserPool(1, timeout=20, parse=worker_pid)
    try:
        first, second = await pool.parse(PLAIN), await pool.parse(PLAIN)
    finally:
        pool.close()
    assert int(first.text) != os.getpid()
    assert first.text == second.text  # the worker is kept for the next mail


async def test_a_mail_that_takes_too_long_is_kept_as_raw_text_and_the_next_one_parses() -> None:
    pool = ParserPool(1, timeout=1.5, parse=slow_or_parse)
    try:
        await pool.parse(PLAIN)  # the worker is started
        started = time.monotonic()
        slow = await pool.parse(b"SLOW" + PLAIN)
        assert time.monotonic() - started < 10
        assert slow.problems == ["The message took too long to read (over 1.5 s) and is shown as raw text; "
                                 "download the original to open it in a mail program."]
        assert "Where is my order?" in slow.text
        assert slow.subject == ""
        after = await pool.parse(PLAIN)
    finally:
        pool.close()
    assert (after.subject, after.from_address, after.problems) == ("Order 42", "ann@example.com", [])


async def test_a_hung_mail_does_not_hold_up_mail_on_other_workers() -> None:
    pool = ParserPool(2, timeout=3, parse=slow_or_parse)
    try:
        slow = asyncio.ensure_future(pool.parse(b"SLOW" + PLAIN))
        others = [await pool.parse(PLAIN) for _ in range(5)]
        assert not slow.done()
        assert "took too long" in (await slow).problems[0]
    finally:
        pool.close()
    assert all(parsed.subject == "Order 42" for parsed in others)


async def test_a_worker_killed_mid_parse_gives_the_raw_text_and_the_pool_recovers(tmp_path: Path) -> None:
    pool = ParserPool(1, timeout=60, parse=hang_after_marking)
    try:
        hung = asyncio.ensure_future(pool.parse(_hanging_mail(tmp_path)))
        os.kill(await _pid_when_parsing(tmp_path), signal.SIGKILL)
        killed = await asyncio.wait_for(hung, 10)
        assert killed.problems == ["The message could not be read (the process reading it crashed, perhaps out of memory) "
                                   "and is shown as raw text; download the original to open it in a mail program."]
        assert "body" in killed.text
        after = await pool.parse(PLAIN)
    finally:
        pool.close()
    assert (after.subject, after.text, after.problems) == ("Order 42", "Where is my order?", [])


def _hanging_mail(tmp_path: Path) -> bytes:
    return b"HANG " + str(tmp_path / "pid").encode() + b"\r\n\r\nbody"


async def _pid_when_parsing(tmp_path: Path) -> int:
    marker = tmp_path / "pid"
    for _ in range(400):
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        await asyncio.sleep(0.05)
    raise AssertionError("the worker never started on the mail")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_close_does_not_wait_for_a_hung_parse(tmp_path: Path) -> None:
    pool = ParserPool(1, timeout=60, parse=hang_after_marking)
    hung = asyncio.ensure_future(pool.parse(_hanging_mail(tmp_path)))
    pid = await _pid_when_parsing(tmp_path)
    pool.close()
    await asyncio.wait_for(hung, 5)
    for _ in range(100):
        if _gone(pid):
            break
        await asyncio.sleep(0.05)
    assert _gone(pid)


async def test_a_mail_needing_more_memory_than_allowed_is_kept_as_raw_text() -> None:
    pool = ParserPool(1, timeout=20, memory_mb=512, parse=greedy_or_parse)
    try:
        raw = (EMAILS / "attachment_emails" / "attachment_pdf.eml").read_bytes()
        assert (await pool.parse(raw)) == parse_email(raw)
        greedy = await pool.parse(b"GREEDY" + PLAIN)
        assert greedy.problems == ["The message could not be read (out of memory) and is shown as raw text; "
                                   "download the original to open it in a mail program."]
        assert (await pool.parse(raw)) == parse_email(raw)
    finally:
        pool.close()

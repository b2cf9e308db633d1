"""Email intake benchmark (issue 5): how fast a gateway turns a mailbox's mail into conversations.

A throwaway Dovecot (Debian's dovecot-imapd, as the tests start it) gets N mails — the real-world
test mails of tests/data/emails (copied from ../shared/testdata) in turn, each with a Message-ID of its own, plus plain
and attachment-carrying mails of our own — and then, in the same run:

- baseline: a bare aioimaplib client fetches the whole mailbox in batches of UIDs (UID FETCH
  BODY.PEEK[]), doing nothing with the mail;
- gateway: one gateway process (embedded SQLite and Redis) reads the same mailbox with its mail
  intake: fetch, parse, thread, store the attachments and the original, one transaction a mail.

It prints both rates and their ratio (target: the gateway at ≥ 0.5× the bare fetch) and writes
bench/results/email-<date>T<time>.json with the machine. Nothing is asserted.

    .venv/bin/python bench/email.py [--messages 2000] [--batch 25]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named email.py, as the issue asks: its folder must not hide the standard library's
# email package from everything imported below.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import contextlib
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from importlib import metadata
from typing import Any

import aioimaplib
import sqlalchemy as sa
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.app import create_app  # noqa: E402
from gateway.config import Config  # noqa: E402
from gateway.db import schema as t  # noqa: E402
from gateway.db.schema import new_id, utcnow  # noqa: E402
from gateway.keys import DB  # noqa: E402
from tests.mail.dovecot import Dovecot  # noqa: E402

TESTDATA = ROOT / "tests" / "data" / "emails"
USER = "bench"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cpu_model": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "aioimaplib": metadata.version("aioimaplib")}


def corpus(n: int) -> list[bytes]:
    """n mails, each with a Message-ID of its own: the real-world test mails in turn, and every
    third one a mail of ours (every sixth with a 200 KB PDF)."""
    real = [p.read_bytes() for p in sorted(TESTDATA.rglob("*")) if p.is_file() and p.suffix != ".md" and "LICENSE" not in p.name]
    mails = []
    for i in range(n):
        if i % 3:
            raw = real[i % len(real)]
        else:
            mail = EmailMessage()
            mail["From"] = f"Customer {i} <customer{i}@example.com>"
            mail["To"] = "support@demo.example"
            mail["Subject"] = f"Question number {i}"
            mail.set_content("Hello,\n\nI have a question about my order.\n" * 20)
            if i % 6 == 0:
                mail.add_attachment(b"%PDF-1.4\n" + os.urandom(200_000), maintype="application", subtype="pdf", filename="invoice.pdf")
            raw = mail.as_bytes()
        mails.append(f"Message-ID: <bench-{i}@bench.invalid>\r\n".encode() + raw)
    return mails


async def fill(dovecot: Dovecot, mails: list[bytes]) -> None:
    client = aioimaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(USER, dovecot._passwords[USER])
    for raw in mails:
        await client.append(raw, "INBOX")
    await client.logout()


async def bare_fetch(dovecot: Dovecot, batch: int) -> tuple[int, float, int]:
    """(mails, seconds, bytes): the baseline."""
    start = time.perf_counter()
    client = aioimaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=120)
    await client.wait_hello_from_server()
    await client.login(USER, dovecot._passwords[USER])
    await client.select("INBOX")
    found = await client.uid_search("ALL", charset=None)
    uids = [int(u) for u in found.lines[0].split()]
    fetched = size = 0
    for i in range(0, len(uids), batch):
        answer = await client.uid("fetch", ",".join(map(str, uids[i:i + batch])), "(UID BODY.PEEK[])")
        literals = [line for line in answer.lines if isinstance(line, bytearray)]
        fetched += len(literals)
        size += sum(map(len, literals))
    await client.logout()
    return fetched, time.perf_counter() - start, size


async def gateway_intake(dovecot: Dovecot, n: int, batch: int, data_dir: Path) -> tuple[int, float]:
    """(mails stored, seconds) from the mailbox's creation to the last mail stored."""
    config = Config.model_validate({
        "data": {"dir": str(data_dir)}, "logging": {"level": "WARNING"},
        "channels": {"chat": {"enabled": True}, "email": {"enabled": True}},
        "mail": {"tenant_servers_may_be_private": True},
        "mailboxes": {"refresh_seconds": 0.05, "batch_size": batch, "ca_file": str(dovecot.cert_path)},
    })
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    engine = runner.app[DB]
    try:
        async with engine.begin() as conn:
            tenant = (await conn.execute(sa.select(t.tenants.c.id).where(t.tenants.c.slug == "demo"))).scalar_one()
            start = time.perf_counter()
            await conn.execute(sa.insert(t.mailboxes).values(
                id=new_id(), tenant_id=tenant, name="bench", address="support@demo.example", imap_host=dovecot.host,
                imap_port=dovecot.imap_port, imap_security="starttls", imap_username=USER, imap_password=dovecot._passwords[USER],
                created_at=utcnow(), updated_at=utcnow()))
        stored = 0
        while stored < n:
            await asyncio.sleep(0.05)
            async with engine.connect() as conn:
                stored = (await conn.execute(sa.select(sa.func.count()).select_from(t.email_messages))).scalar_one()
            if time.perf_counter() - start > 1800:
                break
        return stored, time.perf_counter() - start
    finally:
        await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=25, help="UIDs per FETCH, for both sides")
    args = parser.parse_args()
    dovecot = Dovecot()
    dovecot.start()
    try:
        dovecot.add_user(USER)
        mails = corpus(args.messages)
        print(f"filling the mailbox with {len(mails)} mails ({sum(map(len, mails)) / 1e6:.1f} MB)...", flush=True)
        await fill(dovecot, mails)
        fetched, bare_seconds, size = await bare_fetch(dovecot, args.batch)
        bare_rate = fetched / bare_seconds
        print(f"baseline  bare UID FETCH: {fetched} mails in {bare_seconds:.2f} s = {bare_rate:,.0f} mails/s "
              f"({size / 1e6 / bare_seconds:.1f} MB/s)", flush=True)
        with tempfile.TemporaryDirectory(prefix="wecc-bench-email-") as data_dir:
            stored, seconds = await gateway_intake(dovecot, len(mails), args.batch, Path(data_dir))
        rate = stored / seconds
        ratio = rate / bare_rate
        print(f"gateway   intake:         {stored} mails in {seconds:.2f} s = {rate:,.0f} mails/s")
        print(f"ratio {ratio:.2f}× the bare fetch — target ≥ 0.5×: {'MET' if ratio >= 0.5 else 'NOT met'}")
    finally:
        dovecot.close()
    now = datetime.now(timezone.utc)
    result = {
        "benchmark": "email", "date": now.isoformat(), "machine": machine(), "messages": len(mails), "batch": args.batch,
        "baseline": {"mails": fetched, "seconds": round(bare_seconds, 3), "mails_per_second": round(bare_rate, 1),
                     "megabytes": round(size / 1e6, 2)},
        "gateway": {"mails": stored, "seconds": round(seconds, 3), "mails_per_second": round(rate, 1)},
        "ratio": round(ratio, 3), "target_ratio": 0.5, "met": ratio >= 0.5,
    }
    out = ROOT / "bench" / "results" / f"email-{now.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())

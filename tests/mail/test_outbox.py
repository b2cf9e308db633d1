"""A reply goes out through the tenant's own SMTP server, connected to at the address that was
checked to be public, never at what a second lookup of the name says (DNS rebinding); TLS is still
checked against the server's name.

Unit level: the mail worker runs alone on a SQLite file, and the fake DNS (tests/mail/dns.py)
answers a public address for the server's name. A fake `sock_connect` on the event loop records
where each connection goes and sends the one to the public address to the real SMTP server
(aiosmtpd) on loopback; any other address is refused."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.config import MailConfig
from gateway.db import schema as t
from gateway.db.schema import new_id, utcnow
from gateway.mail.outbox import MailWorker, connect_socket, queue_mail
from gateway.storage.files import FileStore
from tests.mail.dns import FakeDns
from tests.mail.smtp import SmtpServer, free_port

SERVER = "smtp.wecc.invalid"  # never resolves for real (RFC 6761)
PUBLIC = "93.184.215.14"
OTHER_PUBLIC = "93.184.215.15"
RAW = b"From: support@demo.example\r\nTo: ann@customer.example\r\nSubject: Re: kettle\r\n\r\nA new one is on its way.\r\n"


class Connections:
    """Stands in for the network: a connection to a public address in `reachable` reaches the
    local SMTP server on the same port; every other one is refused. Records each (address, port)."""

    def __init__(self, reachable: set[str]) -> None:
        self.reachable = reachable
        self.made: list[tuple[str, int]] = []
        self.sockets: list[socket.socket] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Connections:
        loop = asyncio.get_running_loop()
        real = loop.sock_connect

        async def sock_connect(sock: socket.socket, address: Any) -> None:
            self.made.append((address[0], address[1]))
            self.sockets.append(sock)
            if address[0] not in self.reachable:
                raise ConnectionRefusedError(111, "Connection refused")
            await real(sock, ("127.0.0.1", address[1]))

        monkeypatch.setattr(loop, "sock_connect", sock_connect)
        return self


class Events:
    async def publish(self, *events: Any) -> None:
        pass


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for SERVER and 127.0.0.1 (so that only a check against the name
    can refuse it when the name is wrong)."""
    directory = tmp_path_factory.mktemp("smtp-cert")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", f"/CN={SERVER}", "-addext", f"subjectAltName=DNS:{SERVER},IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def smtp_server(**tls: Any) -> Iterator[tuple[SmtpServer, int]]:
    server, port = SmtpServer(), free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    yield server, port
    controller.stop()


@pytest.fixture(params=["none", "tls", "starttls"])
def served(request: pytest.FixtureRequest, certificate: tuple[Path, Path]) -> Iterator[tuple[str, SmtpServer, int]]:
    security = request.param
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    tls = {"none": {}, "tls": {"ssl_context": context}, "starttls": {"tls_context": context, "require_starttls": True}}[security]
    for server, port in smtp_server(**tls):
        yield security, server, port


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'wecc.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(t.metadata.create_all)
    yield engine
    await engine.dispose()


async def worker_and_reply(engine: AsyncEngine, tmp_path: Path, certificate: tuple[Path, Path], *, smtp_host: str,
                           smtp_port: int, smtp_security: str) -> tuple[MailWorker, str]:
    tenant_id, mailbox_id, now = new_id(), new_id(), utcnow()
    files = FileStore(tmp_path / "files")
    raw_key = f"{tenant_id}/ab/{'ab' * 32}"
    files.path(raw_key).parent.mkdir(parents=True)
    files.path(raw_key).write_bytes(RAW)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(t.mailboxes).values(
            id=mailbox_id, tenant_id=tenant_id, name="support", address="support@demo.example", imap_host=smtp_host,
            imap_port=993, imap_security="tls", imap_username="support", imap_password="pw", smtp_host=smtp_host,
            smtp_port=smtp_port, smtp_security=smtp_security, created_at=now, updated_at=now))
        mail_id = await queue_mail(conn, tenant_id, kind="reply", to_address="ann@customer.example", subject="Re: kettle",
                                   body_text="", mailbox_id=mailbox_id, raw_key=raw_key)
    config = MailConfig(timeout_seconds=5, max_attempts=1)  # tenant_servers_may_be_private: False, the default
    worker = MailWorker(engine, Events(), config, files, ssl.create_default_context(cafile=str(certificate[0])))  # type: ignore[arg-type]
    return worker, mail_id


async def outcome(engine: AsyncEngine, mail_id: str) -> tuple[str, str | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(t.outbound_mail).where(t.outbound_mail.c.id == mail_id))).one()
    return row.status, row.last_error


async def test_the_reply_goes_to_the_checked_address_even_if_the_name_is_rebound(
        monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, tmp_path: Path, certificate: tuple[Path, Path],
        served: tuple[str, SmtpServer, int]) -> None:
    security, server, port = served
    # The check is answered a public address; any later lookup would be told loopback.
    dns = FakeDns({SERVER: [[PUBLIC], ["127.0.0.1"]]}).install(monkeypatch)
    network = Connections({PUBLIC}).install(monkeypatch)
    worker, mail_id = await worker_and_reply(engine, tmp_path, certificate, smtp_host=SERVER, smtp_port=port,
                                             smtp_security=security)

    assert await worker.send_due() == 1
    assert await outcome(engine, mail_id) == ("sent", None)
    assert [(sender, to, mail["Subject"]) for sender, to, mail in server.mails] == [
        ("support@demo.example", ["ann@customer.example"], "Re: kettle")]
    assert dns.lookups == [SERVER]  # looked up once, for the check
    assert network.made == [(PUBLIC, port)]


async def test_the_next_checked_address_is_tried_when_one_refuses(
        monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, tmp_path: Path, certificate: tuple[Path, Path],
        smtp: tuple[SmtpServer, int]) -> None:
    server, port = smtp
    FakeDns({SERVER: [[PUBLIC, OTHER_PUBLIC], ["127.0.0.1"]]}).install(monkeypatch)
    network = Connections({OTHER_PUBLIC}).install(monkeypatch)
    worker, mail_id = await worker_and_reply(engine, tmp_path, certificate, smtp_host=SERVER, smtp_port=port, smtp_security="none")

    await worker.send_due()
    assert await outcome(engine, mail_id) == ("sent", None)
    assert len(server.mails) == 1
    assert network.made == [(PUBLIC, port), (OTHER_PUBLIC, port)]
    assert network.sockets[0].fileno() == -1  # the refused one was closed


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_tls_is_checked_against_the_name_not_the_address(
        monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, tmp_path: Path, certificate: tuple[Path, Path],
        security: str) -> None:
    """The certificate is for SERVER (and 127.0.0.1, where the connection really ends): configured
    under another name, the server is refused, and nothing is sent."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    tls = {"ssl_context": context} if security == "tls" else {"tls_context": context, "require_starttls": True}
    for server, port in smtp_server(**tls):
        FakeDns({"other.wecc.invalid": [[PUBLIC]]}).install(monkeypatch)
        network = Connections({PUBLIC}).install(monkeypatch)
        worker, mail_id = await worker_and_reply(engine, tmp_path, certificate, smtp_host="other.wecc.invalid",
                                                 smtp_port=port, smtp_security=security)
        await worker.send_due()
        status, error = await outcome(engine, mail_id)
        assert status == "failed"
        assert "certificate verify failed" in (error or "") and "other.wecc.invalid" in (error or ""), error
        assert network.made == [(PUBLIC, port)]
        assert server.mails == []


async def test_a_name_with_a_private_address_is_not_connected_to(
        monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, tmp_path: Path, certificate: tuple[Path, Path],
        smtp: tuple[SmtpServer, int]) -> None:
    server, port = smtp
    FakeDns({SERVER: [[PUBLIC, "10.0.0.7"]]}).install(monkeypatch)
    network = Connections({PUBLIC}).install(monkeypatch)
    worker, mail_id = await worker_and_reply(engine, tmp_path, certificate, smtp_host=SERVER, smtp_port=port, smtp_security="none")

    await worker.send_due()
    status, error = await outcome(engine, mail_id)
    assert status == "failed" and "private or reserved" in (error or ""), error
    assert network.made == [] and server.mails == []


async def test_connecting_gives_up_within_the_timeout_and_closes_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[socket.socket] = []

    async def hangs(sock: socket.socket, address: Any) -> None:
        made.append(sock)
        await asyncio.sleep(3600)

    monkeypatch.setattr(asyncio.get_running_loop(), "sock_connect", hangs)
    with pytest.raises(TimeoutError, match=f"{PUBLIC}, {OTHER_PUBLIC} port 25 within 0.2s"):
        await connect_socket([PUBLIC, OTHER_PUBLIC], 25, 0.2)
    assert len(made) == 1 and made[0].fileno() == -1

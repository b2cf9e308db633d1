"""The IMAP connection against a real Dovecot: implicit TLS, STARTTLS, and the refusals that keep
credentials from ever going out in clear."""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aioimaplib
import pytest

from gateway.mail.imap import ImapClient, InsecureConnection, Security, connect_imap
from tests.mail.dovecot import CERT_NAME, Dovecot

MESSAGE = b"From: ana@example.org\r\nTo: support@example.com\r\nSubject: Order 1234\r\n\r\nWhere is it?\r\n"


def trusting(dovecot: Dovecot) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(dovecot.cert_path))


def new_user(dovecot: Dovecot) -> tuple[str, str]:
    name = f"u{uuid.uuid4().hex[:10]}"
    return name, dovecot.add_user(name)


async def logged_in(dovecot: Dovecot, security: Security, user: str, password: str) -> ImapClient:
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    client = await connect_imap("localhost", port, security, ssl_context=trusting(dovecot), timeout=10)
    response = await client.login(user, password)
    assert response.result == "OK", response
    return client


async def subjects(client: ImapClient) -> list[bytes]:
    response = await client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert response.result == "OK", response
    return [line.strip() for line in response.lines if isinstance(line, bytearray)]


def is_tls(client: ImapClient) -> bool:
    return client.protocol.transport.get_extra_info("ssl_object") is not None


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_implicit_tls_reads_the_mailbox(dovecot: Dovecot) -> None:
    user, password = new_user(dovecot)
    await dovecot.append(user, MESSAGE)

    client = await logged_in(dovecot, "tls", user, password)
    assert is_tls(client)
    selected = await client.select("INBOX")
    assert aioimaplib.extract_exists(selected) == 1
    assert await subjects(client) == [b"Subject: Order 1234"]
    await client.logout()


async def test_starttls_upgrades_before_the_password_is_sent(dovecot: Dovecot) -> None:
    user, password = new_user(dovecot)
    await dovecot.append(user, MESSAGE)

    client = await connect_imap("localhost", dovecot.imap_port, "starttls", ssl_context=trusting(dovecot), timeout=10)
    assert is_tls(client)
    # The capabilities were read again over TLS: Dovecot no longer offers STARTTLS there.
    assert not client.has_capability("STARTTLS")
    assert client.has_capability("IMAP4rev1")

    assert (await client.login(user, password)).result == "OK"
    assert aioimaplib.extract_exists(await client.select()) == 1
    assert await subjects(client) == [b"Subject: Order 1234"]
    await client.logout()
    # Dovecot itself saw the login arrive over TLS.
    assert await eventually(lambda: any(f"user=<{user}>" in line and "TLS" in line
                                        for line in dovecot.log().splitlines() if "Login:" in line))


async def test_idle_over_starttls_hears_new_mail(dovecot: Dovecot) -> None:
    user, password = new_user(dovecot)
    client = await logged_in(dovecot, "starttls", user, password)
    await client.select()

    idle = await client.idle_start(timeout=10)
    await dovecot.append(user, MESSAGE)
    pushed = await client.wait_server_push(timeout=10)
    client.idle_done()
    await asyncio.wait_for(idle, 10)

    assert any(b"1 EXISTS" in line for line in pushed)
    assert await subjects(client) == [b"Subject: Order 1234"]
    await client.logout()


async def test_credentials_stay_out_of_the_debug_log(dovecot: Dovecot, caplog: pytest.LogCaptureFixture) -> None:
    name = f"u{uuid.uuid4().hex[:10]}"
    password = dovecot.add_user(name, 'se"cr\\et-' + uuid.uuid4().hex)  # quoted on the wire as se\"cr\\et
    caplog.set_level(logging.DEBUG)

    client = await logged_in(dovecot, "starttls", name, password)
    await client.logout()

    assert "LOGIN" in caplog.text
    assert password.split("-")[1] not in caplog.text


@asynccontextmanager
async def fake_imap(answer: Callable[[bytes], bytes]) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A clear-text IMAP server on a free port: greets, then writes answer(line) for each line
    received. Yields its port and the lines it received."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK IMAP4rev1 fake ready\r\n")
        while line := await reader.readline():
            received.append(line)
            writer.write(answer(line))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], received
    finally:
        server.close()
        await server.wait_closed()


def answering(capabilities: str, starttls: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def answer(line: bytes) -> bytes:
        tag, command = line.split()[:2]
        if command.upper() == b"CAPABILITY":
            return b"* CAPABILITY " + capabilities.encode() + b"\r\n" + tag + b" OK done\r\n"
        if command.upper() == b"STARTTLS":
            return starttls(tag)
        return tag + b" BAD unexpected\r\n"

    return answer


@pytest.mark.parametrize(
    ("capabilities", "starttls_answer"),
    [
        pytest.param("IMAP4rev1 AUTH=PLAIN", lambda tag: tag + b" BAD no\r\n", id="not-offered"),
        pytest.param("IMAP4rev1 STARTTLS", lambda tag: tag + b" NO TLS unavailable\r\n", id="refused"),
        # A man in the middle answers for the server and slips a response in before the handshake.
        pytest.param("IMAP4rev1 STARTTLS",
                     lambda tag: tag + b" OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n", id="injected"),
    ],
)
async def test_starttls_never_falls_back_to_clear_text(
    capabilities: str, starttls_answer: Callable[[bytes], bytes]
) -> None:
    async with fake_imap(answering(capabilities, starttls_answer)) as (port, received):
        with pytest.raises(InsecureConnection):
            await connect_imap("127.0.0.1", port, "starttls", timeout=5)
        await asyncio.sleep(0.1)
    assert all(line.split()[1].upper() in (b"CAPABILITY", b"STARTTLS") for line in received), received


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_an_untrusted_certificate_is_refused(dovecot: Dovecot, security: Security) -> None:
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect_imap("localhost", port, security, timeout=10)


async def test_a_restarted_dovecot_keeps_its_mail(dovecot: Dovecot) -> None:
    user, password = new_user(dovecot)
    await dovecot.append(user, MESSAGE)
    lost = asyncio.Event()
    client = await connect_imap("localhost", dovecot.imaps_port, "tls", ssl_context=trusting(dovecot),
                                timeout=10, conn_lost_cb=lambda exc: lost.set())
    assert (await client.login(user, password)).result == "OK"

    dovecot.restart()  # from the main thread: see Dovecot.start
    await asyncio.wait_for(lost.wait(), 10)  # the old connection was dropped

    again = await logged_in(dovecot, "tls", user, password)
    assert aioimaplib.extract_exists(await again.select()) == 1
    await dovecot.append(user, MESSAGE.replace(b"1234", b"5678"))
    assert await dovecot.count(user) == 2
    await again.logout()


# ---- connecting to a vetted address (against DNS rebinding) ----

@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_with_an_address_the_connection_goes_there_and_tls_still_checks_the_host_name(
        dovecot: Dovecot, security: Security) -> None:
    """`host` never resolves (.invalid): reading mail proves the connection went to `address`; the
    certificate holds the host name (and 127.0.0.1), so passing proves it was checked against `host`."""
    user, password = new_user(dovecot)
    await dovecot.append(user, MESSAGE)
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port

    client = await connect_imap(CERT_NAME, port, security, ssl_context=trusting(dovecot), timeout=10, address=dovecot.host)
    assert is_tls(client)
    assert client.protocol.transport.get_extra_info("peername")[0] == dovecot.host
    assert (await client.login(user, password)).result == "OK"
    await client.select("INBOX")
    assert await subjects(client) == [b"Subject: Order 1234"]
    await client.logout()


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_with_an_address_a_certificate_for_another_name_is_refused(dovecot: Dovecot, security: Security) -> None:
    """The certificate is valid for the address itself (IP:127.0.0.1), yet refused: what counts is `host`."""
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    with pytest.raises(ssl.SSLCertVerificationError, match="other.wecc.invalid"):
        await connect_imap("other.wecc.invalid", port, security, ssl_context=trusting(dovecot), timeout=10,
                           address=dovecot.host)


async def test_without_an_address_the_host_name_is_looked_up(dovecot: Dovecot) -> None:
    """The control for the tests above: by name alone, CERT_NAME cannot be reached."""
    with pytest.raises(OSError) as raised:
        await connect_imap(CERT_NAME, dovecot.imaps_port, "tls", ssl_context=trusting(dovecot), timeout=10)
    assert not isinstance(raised.value, ssl.SSLError)


async def test_with_an_address_and_no_tls_the_connection_goes_there(dovecot: Dovecot) -> None:
    user, password = new_user(dovecot)
    client = await connect_imap(CERT_NAME, dovecot.imap_port, "none", timeout=10, address=dovecot.host)
    assert not is_tls(client)
    assert (await client.login(user, password)).result == "OK"
    await client.logout()

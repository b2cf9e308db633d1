"""The email channel's IMAP connection: implicit TLS, STARTTLS, or (a local server only) none.

aioimaplib has IMAP4 (plain) and IMAP4_SSL (implicit TLS) but no STARTTLS, so `ImapClient` adds it
(RFC 3501 §6.2.1): send STARTTLS, await the tagged OK, upgrade the same transport with
`loop.start_tls`, forget the capabilities read in clear and ask again. Credentials are never sent in
clear: a server that doesn't offer STARTTLS, refuses it, or slips clear-text responses in after its
OK (the response-injection attack on STARTTLS) ends the connection with `InsecureConnection`.

aioimaplib internals relied on (aioimaplib 2.0.x, pinned <3 in pyproject.toml):
- `IMAP4.create_client` / `IMAP4._client_task`: the hook IMAP4_SSL itself overrides to build the
  protocol; we build ours there, and `wait_hello_from_server` awaits `_client_task`.
- `IMAP4ClientProtocol.execute`, `Command`, `new_tag`, `state`, `capabilities`, `capability()`:
  STARTTLS is in aioimaplib's command table (sync, NONAUTH) but has no method; CAPABILITY is re-run
  through the same method the greeting uses.
- `IMAP4ClientProtocol.transport`: swapped for the TLS transport, since `start_tls` doesn't call
  `connection_made` again and every later command writes to `protocol.transport`.
- `IMAP4ClientProtocol._handle_responses` / `_response_done`: the parser entry point and the tagged
  response handler, wrapped to notice bytes that follow STARTTLS's OK before the handshake.
- `IMAP4ClientProtocol.send(line, scrub)`: replaced for commands carrying a secret, because
  aioimaplib's debug log masks the password only as given, not as LOGIN quotes it nor as XOAUTH2
  base64-encodes it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Literal

import aioimaplib

log = logging.getLogger(__name__)

Security = Literal["tls", "starttls", "none"]


class InsecureConnection(ConnectionError):
    """TLS was required but the connection could not be secured; nothing secret was sent."""


class _Protocol(aioimaplib.IMAP4ClientProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, conn_lost_cb: Callable[[Exception | None], None] | None) -> None:
        super().__init__(loop, conn_lost_cb)
        self.cleartext_closed = False  # STARTTLS's OK was read: any clear text after it is injected
        self.injected = False

    def _response_done(self, line: bytes) -> None:
        command = self.pending_sync_command
        super()._response_done(line)
        if command is not None and command.name == "STARTTLS" and command.response.result == "OK":
            self.cleartext_closed = True

    def _handle_responses(self, data: bytes, line_handler: Callable[[bytes, aioimaplib.Command], aioimaplib.Command | None],
                          current_cmd: aioimaplib.Command | None = None) -> None:
        if self.cleartext_closed and data:
            self.injected = True  # dropped unparsed, the connection is refused after the handshake
            return
        super()._handle_responses(data, line_handler, current_cmd)

    def send(self, line: str, scrub: str | None = None) -> None:
        if scrub is None:
            super().send(line)
            return
        log.debug("Sending : %s (credentials hidden)", " ".join(line.split(" ", 2)[:2]))
        self.transport.write(f"{line}\r\n".encode())


class ImapClient(aioimaplib.IMAP4):
    """aioimaplib's IMAP4 with STARTTLS; built by `connect_imap`. With `address`, the TCP
    connection goes to that IP while TLS still checks the certificate against `host`."""

    def __init__(self, host: str, port: int, *, address: str | None = None, timeout: float,
                 conn_lost_cb: Callable[[Exception | None], None] | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.address = address  # set first: IMAP4.__init__ calls create_client
        super().__init__(host, port, timeout=timeout, conn_lost_cb=conn_lost_cb, ssl_context=ssl_context)

    def create_client(self, host: str, port: int, loop: asyncio.AbstractEventLoop | None,
                      conn_lost_cb: Callable[[Exception | None], None] | None = None,
                      ssl_context: ssl.SSLContext | None = None) -> None:
        # As IMAP4.create_client, with our protocol, and to the vetted address when one is given.
        running = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _Protocol(running, conn_lost_cb)
        self._client_task = running.create_task(running.create_connection(
            lambda: self.protocol, self.address or host, port, ssl=ssl_context,
            server_hostname=host if ssl_context is not None else None))

    async def starttls(self, ssl_context: ssl.SSLContext, server_hostname: str) -> None:
        protocol = self.protocol
        if protocol.state != aioimaplib.NONAUTH:
            raise InsecureConnection(f"{self.host}:{self.port} greeted with PREAUTH: no STARTTLS possible")
        if "STARTTLS" not in protocol.capabilities:
            raise InsecureConnection(f"{self.host}:{self.port} does not offer STARTTLS")
        response = await protocol.execute(
            aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop, timeout=self.timeout))
        if response.result != "OK":
            raise InsecureConnection(f"{self.host}:{self.port} refused STARTTLS: {_text(response)}")
        self._refuse_injected()
        protocol.transport = await protocol.loop.start_tls(
            protocol.transport, protocol, ssl_context,
            server_hostname=server_hostname, ssl_handshake_timeout=self.timeout)
        protocol.cleartext_closed = False
        self._refuse_injected()
        protocol.capabilities = set()
        await asyncio.wait_for(protocol.capability(), self.timeout)

    def _refuse_injected(self) -> None:
        if self.protocol.injected:
            raise InsecureConnection(f"{self.host}:{self.port} sent clear text after its STARTTLS OK")

    def abort(self) -> None:
        """Drops the connection at once, without LOGOUT."""
        self._client_task.cancel()
        if self.protocol.transport is not None:
            self.protocol.transport.abort()


def _text(response: aioimaplib.Response) -> str:
    return " ".join(line.decode(errors="replace") for line in response.lines if isinstance(line, bytes))


async def connect_imap(host: str, port: int, security: Security, *, ssl_context: ssl.SSLContext | None = None,
                       timeout: float = 30,
                       conn_lost_cb: Callable[[Exception | None], None] | None = None,
                       address: str | None = None) -> ImapClient:
    """A client that has the server's greeting and capabilities, over TLS unless security is
    "none" (implicit TLS for "tls", upgraded with STARTTLS for "starttls"). The certificate is
    verified against the system's CAs unless `ssl_context` says otherwise. `timeout` bounds each
    step (connection, greeting, STARTTLS, handshake) and every later command of the client.

    `address` (an IP, as vetted by gateway.events.targets.vetted_address) is where the TCP
    connection goes instead of looking `host` up again; the certificate and SNI still use `host`."""
    if security not in ("tls", "starttls", "none"):
        raise ValueError(f"unknown IMAP security {security!r}")
    context = None if security == "none" else ssl_context or ssl.create_default_context()
    client = ImapClient(host, port, address=address, timeout=timeout, conn_lost_cb=conn_lost_cb,
                        ssl_context=context if security == "tls" else None)
    try:
        await client.wait_hello_from_server()
        if security == "starttls" and context is not None:
            await client.starttls(context, server_hostname=host)
    except BaseException:
        client.abort()
        raise
    return client

"""The gateway's SIP endpoint over UDP: transactions and dialogs for calls that come in from trunks.

RFC 3261's rules, as far as a gateway answering calls needs them:
- Server transactions absorb retransmissions: a repeated request gets the last response again,
  never a second call. An INVITE gets 100 Trying at once.
- A 2xx to an INVITE is sent again (T1, doubling up to T2) until its ACK comes; without one in
  64*T1 the dialog is given up and the application told (`on_ack_timeout`). A final error
  response is sent again until its ACK (Timer G), for at most 64*T1 (Timer H).
- INFO in a dialog carrying a key press (dtmf-relay or dtmf) is passed on; other INFO gets 415.
- A re-INVITE in a dialog (hold, resume, a new address) is answered with the application's SDP,
  or refused (488) keeping the call as it was.
- CANCEL (§9.2): before the final response it gets 200 and the INVITE 487, and the application
  is told; after it (the caller hung up just as the call was answered) it gets 200 and changes
  nothing; the call is then ended with BYE like any other.
- Requests this endpoint sends (BYE, and dialling.py's INVITE, CANCEL and REGISTER) are client
  transactions: responses reach them by branch and method. A non-INVITE request is sent again
  (Timer E) until a response, for at most 64*T1 (Timer F), and answers a trunk's digest
  challenge once when it has credentials. A 2xx sent again for a call we placed gets its ACK again.
- Only trunks are served (trunks.py: by source address, digest authentication or both); anything
  else gets 403, or 401 with a challenge where a trunk authenticates (never a hint of which
  numbers exist). The exception is REGISTER, from agents' own phones anywhere, when there is a
  registrar (registrar.py), which authenticates them itself. A request that can't be parsed gets 400 with the reason when it has the
  headers to answer to, and is dropped otherwise.

Responses go back where the request came from (RFC 3581 symmetric response routing, whether or
not the client asked with rport), which is what reaches a trunk or phone behind NAT; over TCP,
on the connection the request came in on (messages framed by Content-Length, RFC 3261 §18.3),
where nothing is retransmitted but a 2xx until its ACK. A request of ours to a peer over TCP
opens a connection when there is none (theirs closed, or we speak first; in a call, to its
Contact), which is then read like theirs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.voice.sip.digest import Credentials, authorization
from channels.voice.sip.trunks import TrunkPolicy
from channels.voice.sip.message import (
    MAX_MESSAGE_BYTES, SipMessage, SipParseError, parse, response_to, tag_of, uri_of,
)

log = logging.getLogger(__name__)

T1, T2 = 0.5, 4.0
TRANSACTION_SECONDS = 64 * T1
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
_DTMF_KEYS = "0123456789*#ABCD"
# (ip, port, "udp" | "tcp"): where a message came from and where its answers go.
Address = tuple[str, int, str]
MAX_TCP_CONNECTIONS = 1_000
MAX_TCP_PER_PHONE_ADDRESS = 20  # connections from one non-trunk address (phones in an office behind one NAT)
TCP_IDLE_SECONDS = 600.0  # a trunk's connection with nothing on it this long is closed


def new_tag() -> str:
    return secrets.token_hex(8)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(10)


@dataclass(eq=False)
class Dialog:
    """An answered call's dialog, from our side (the UAS)."""

    call_id: str
    local_tag: str
    remote_tag: str | None
    local_uri: str  # the To of the INVITE, as our From in requests we send
    remote_uri: str  # its From
    remote_target: str  # its Contact: where requests in the dialog go
    route_set: list[str]  # its Record-Route, in order
    peer: Address  # where its INVITE came from
    local_cseq: int = field(default_factory=lambda: secrets.randbelow(10_000) + 1)
    invite_cseq: int = 0
    acked: bool = False
    ended: bool = False
    ack: bytes | None = None  # a call we placed: the ACK of its 2xx, sent again if the 2xx is


class IncomingCall:
    """An INVITE the application answers: `ringing()`, then `answer(sdp)` or `reject(status)`."""

    def __init__(self, endpoint: SipEndpoint, request: SipMessage, source: Address) -> None:
        self.request = request
        self.source = source
        self.cancelled = asyncio.Event()
        self._endpoint = endpoint
        self._transaction = endpoint._server_transaction(request, source)
        contact = request.get("contact")
        self.dialog = Dialog(
            call_id=request.call_id, local_tag=new_tag(), remote_tag=request.from_tag,
            local_uri=request.get("to") or "", remote_uri=request.get("from") or "",
            remote_target=uri_of(contact) if contact else uri_of(request.get("from") or ""),
            route_set=request.get_all("record-route"), peer=source, invite_cseq=request.cseq[0])

    @property
    def finished(self) -> bool:
        return self._transaction.final is not None

    def ringing(self) -> None:
        if not self.finished:
            self._respond(180, "Ringing")

    def answer(self, sdp: str) -> bool:
        """False when it is too late (cancelled meanwhile): the application then drops the call."""
        if self.finished:
            return False
        headers = [("contact", f"<{self._endpoint.contact_uri}>"), ("allow", ALLOW),
                   ("content-type", "application/sdp")]
        self._respond(200, "OK", headers=headers, body=sdp.encode())
        self._endpoint._await_ack(self.dialog, self._transaction)
        return True

    def reject(self, status: int, reason: str, retry_after: int | None = None) -> None:
        if not self.finished:
            self._respond(status, reason, headers=[("retry-after", str(retry_after))] if retry_after else None)
            self._endpoint._end_dialog(self.dialog)

    def _respond(self, status: int, reason: str, **options) -> None:
        response = response_to(self.request, status, reason, to_tag=self.dialog.local_tag, **options)
        self._endpoint._send_response(self._transaction, response, final=status >= 200)


@dataclass(eq=False)
class _ServerTransaction:
    request: SipMessage
    source: Address
    last_response: bytes | None = None
    final: int | None = None  # the final status sent
    retransmitter: asyncio.Task[None] | None = None


@dataclass(eq=False)
class _ClientTransaction:
    responses: asyncio.Queue[SipMessage] = field(default_factory=asyncio.Queue)


class SipEndpoint(asyncio.DatagramProtocol):
    def __init__(self, host: str, port: int, advertised_host: str, *,
                 trunks: TrunkPolicy,
                 on_invite: Callable[[IncomingCall], Awaitable[None]],
                 on_bye: Callable[[Dialog], Awaitable[None]],
                 on_cancel: Callable[[IncomingCall], Awaitable[None]],
                 on_ack_timeout: Callable[[Dialog], Awaitable[None]],
                 on_reinvite: Callable[[Dialog, SipMessage], Awaitable[str | tuple[int, str]]],
                 on_key: Callable[[Dialog, str], None],
                 on_register: Callable[[SipMessage, Address], Awaitable[tuple[int, str, list[tuple[str, str]]]]] | None = None,
                 ) -> None:
        self.host, self.port, self.advertised_host = host, port, advertised_host
        self._trunks = trunks
        self._on_invite, self._on_bye, self._on_cancel, self._on_ack_timeout = on_invite, on_bye, on_cancel, on_ack_timeout
        self._on_reinvite = on_reinvite  # the answer SDP, or (status, reason) to refuse it
        self._on_key = on_key  # a key press sent as INFO
        self._on_register = on_register  # agents' phones registering (registrar.py): the response
        self._transport: asyncio.DatagramTransport | None = None
        self._server: dict[tuple[str, str], _ServerTransaction] = {}
        self._client: dict[tuple[str, str], _ClientTransaction] = {}  # by (branch, method)
        self._calls: dict[tuple[str, str], IncomingCall] = {}  # by the INVITE's (branch, call id)
        self._dialogs: dict[tuple[str, str], Dialog] = {}  # by (call id, our tag)
        self._tasks: set[asyncio.Task[None]] = set()
        self._tcp_server: asyncio.Server | None = None
        self._tcp: dict[tuple[str, int], asyncio.StreamWriter] = {}

    @property
    def contact_uri(self) -> str:
        return f"sip:{self.advertised_host}:{self.port}"

    async def start(self) -> None:
        """Listens on UDP and TCP, on the same port."""
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, self.port))
        assert self._transport is not None
        self.port = self._transport.get_extra_info("sockname")[1]  # the one given, or the free one for 0
        self._tcp_server = await asyncio.start_server(self._serve_tcp, self.host, self.port, limit=MAX_MESSAGE_BYTES)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tcp_server is not None:
            self._tcp_server.close()
        for writer in list(self._tcp.values()):
            writer.close()
        if self._transport is not None:
            self._transport.close()

    # ---- receiving ----
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self._received(data, (addr[0], addr[1], "udp"))

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip, port = writer.get_extra_info("peername")[:2]
        trunk = self._trunks.may_connect(ip)
        # Agents' phones may connect from anywhere, a few at a time per address; trunks keep a share of the connections.
        from_address = sum(1 for peer in self._tcp if peer[0] == ip)
        phone = (self._on_register is not None and from_address < MAX_TCP_PER_PHONE_ADDRESS
                 and len(self._tcp) < MAX_TCP_CONNECTIONS * 3 // 4)
        if len(self._tcp) >= MAX_TCP_CONNECTIONS or not (trunk or phone):
            writer.close()  # a stranger gets no connection to talk on (UDP strangers get a 403)
            return
        await self._read_tcp(reader, writer, ip, port)

    async def _connect_tcp(self, ip: str, port: int) -> None:
        """A connection of ours to a peer (a trunk we send a request to), read like theirs."""
        writer = self._tcp.get((ip, port))
        if writer is not None and not writer.is_closing():
            return
        reader, writer = await asyncio.open_connection(ip, port, limit=MAX_MESSAGE_BYTES)
        self._tcp[(ip, port)] = writer
        self._spawn(self._read_tcp(reader, writer, ip, port))

    async def _read_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ip: str, port: int) -> None:
        """One TCP connection: messages one after another, each framed by its Content-Length."""
        self._tcp[(ip, port)] = writer
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    head = await reader.readuntil(b"\r\n\r\n")
                head = head.lstrip(b"\r\n")  # keep-alive CRLFs between messages
                if not head:
                    continue
                length = _content_length(head)
                if length is None or len(head) + length > MAX_MESSAGE_BYTES:
                    # Framing is lost: answered with 400 if it can be, then nothing more can be read.
                    self._received(head + b"\r\n", (ip, port, "tcp"))
                    await writer.drain()
                    return
                body = await reader.readexactly(length) if length else b""
                self._received(head + body, (ip, port, "tcp"))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError):
            pass
        finally:
            if self._tcp.get((ip, port)) is writer:
                del self._tcp[(ip, port)]
            writer.close()

    def _received(self, data: bytes, source: Address) -> None:
        if not data.strip():
            return  # a keep-alive (RFC 5626 CRLF)
        try:
            message = parse(data)
        except SipParseError as exc:
            self._answer_unparseable(data, source, exc)
            return
        if not message.is_request:
            self._response_received(message)
            return
        try:
            if not self._admitted(message, source):
                return
            self._request_received(message, source)
        except SipParseError as exc:
            self._send(response_to(message, 400, f"Bad Request ({exc})", to_tag=new_tag()).serialize(), source)

    def _admitted(self, request: SipMessage, source: Address) -> bool:
        """From a trunk (by address, or digest-authenticated), or part of a call already admitted;
        otherwise answered 403, or 401 with a challenge for a trunk that authenticates."""
        if request.method == "ACK" or self._dialog_of(request) is not None or (
                request.method == "CANCEL" and (self._branch(request), request.call_id) in self._calls):
            return True
        if (self._branch(request), request.method) in self._server:
            return True  # a retransmission of a request admitted already
        if request.method == "REGISTER" and self._on_register is not None:
            return True  # agents' phones, from anywhere: the registrar authenticates them
        verdict = self._trunks.admit(request, source[0])
        if verdict == "ok":
            return True
        # Answered statelessly: a flood from strangers leaves no transactions behind (a lost
        # answer is simply asked for again, and answered again).
        if verdict == "forbidden":
            log.info("SIP request refused: not from a trunk", extra={"source": source[0], "method": request.method})
            refusal = response_to(request, 403, "Forbidden", to_tag=new_tag())
        else:
            challenge = self._trunks.realm.challenge(stale=verdict == "stale")
            refusal = response_to(request, 401, "Unauthorized", to_tag=new_tag(), headers=[("www-authenticate", challenge)])
        self._send(refusal.serialize(), source)
        return False

    def _answer_unparseable(self, data: bytes, source: Address, problem: SipParseError) -> None:
        """A 400 (or 505) when the request carries enough to be answered (Via, From, To, Call-ID, CSeq)."""
        if not data[:1].isalpha() or data.startswith(b"SIP/") or not self._trunks.may_connect(source[0]):
            return
        try:
            lenient = parse_headers_only(data)
        except SipParseError:
            return
        reason = "Version Not Supported" if problem.status == 505 else f"Bad Request ({problem})"
        self._send(response_to(lenient, problem.status, reason, to_tag=new_tag()).serialize(), source)

    def _request_received(self, request: SipMessage, source: Address) -> None:
        method = request.method
        if method == "ACK":
            self._ack_received(request)
            return
        key = self._key(request)
        existing = self._server.get(key)
        if existing is not None:  # a retransmission: the last answer again, nothing new happens
            if existing.last_response is not None:
                self._send(existing.last_response, source)
            return
        if method == "INVITE":
            if request.to_tag is not None:  # a re-INVITE in a dialog: hold, resume, a new address
                dialog = self._dialog_of(request)
                if dialog is None or dialog.ended:
                    self._reply(request, source, 481, "Call/Transaction Does Not Exist")
                    return
                self._spawn(self._reinvited(dialog, request, source))
                return
            call = IncomingCall(self, request, source)
            self._calls[(self._branch(request), request.call_id)] = call
            self._dialogs[(call.dialog.call_id, call.dialog.local_tag)] = call.dialog
            call._respond(100, "Trying")
            self._spawn(self._on_invite(call))
        elif method == "CANCEL":
            self._cancel_received(request, source)
        elif method == "BYE":
            dialog = self._dialog_of(request)
            if dialog is None or dialog.ended:
                self._reply(request, source, 481, "Call/Transaction Does Not Exist")
                return
            self._end_dialog(dialog)
            self._reply(request, source, 200, "OK")
            self._spawn(self._on_bye(dialog))
        elif method == "INFO":
            self._info_received(request, source)
        elif method == "REGISTER" and self._on_register is not None:
            self._spawn(self._registering(request, source))
        elif method == "OPTIONS":  # a trunk's keep-alive
            self._reply(request, source, 200, "OK", headers=[("allow", ALLOW), ("accept", "application/sdp")])
        else:
            self._reply(request, source, 405, "Method Not Allowed", headers=[("allow", ALLOW)])

    def _info_received(self, request: SipMessage, source: Address) -> None:
        """A key press sent as SIP INFO (application/dtmf-relay or application/dtmf), as some
        PBXs do instead of RFC 4733 in the audio."""
        dialog = self._dialog_of(request)
        if dialog is None or dialog.ended:
            self._reply(request, source, 481, "Call/Transaction Does Not Exist")
            return
        kind = (request.get("content-type") or "").split(";")[0].strip().lower()
        text = request.body.decode("utf-8", "replace").strip()
        if kind == "application/dtmf-relay":
            fields = dict(line.split("=", 1) for line in text.replace("\r", "").split("\n") if "=" in line)
            key = fields.get("Signal", fields.get("signal", "")).strip()
        elif kind == "application/dtmf":
            key = text
        else:
            self._reply(request, source, 415, "Unsupported Media Type",
                        headers=[("accept", "application/dtmf-relay, application/dtmf")])
            return
        key = {"10": "*", "11": "#"}.get(key, key).upper()
        if len(key) != 1 or key not in _DTMF_KEYS:
            self._reply(request, source, 400, "Bad Request (not a key)")
            return
        self._reply(request, source, 200, "OK")
        self._on_key(dialog, key)

    async def _registering(self, request: SipMessage, source: Address) -> None:
        assert self._on_register is not None
        status, reason, headers = await self._on_register(request, source)
        if status in (401, 403):  # stateless, like the trunks' refusals (a lost one is asked for again)
            self._send(response_to(request, status, reason, to_tag=new_tag(), headers=headers).serialize(), source)
        else:
            self._reply(request, source, status, reason, headers=headers)

    async def _reinvited(self, dialog: Dialog, request: SipMessage, source: Address) -> None:
        transaction = self._server_transaction(request, source)
        self._send_response(transaction, response_to(request, 100, "Trying"), final=False)
        answer = await self._on_reinvite(dialog, request)
        if isinstance(answer, str):
            dialog.invite_cseq, dialog.acked = request.cseq[0], False
            headers = [("contact", f"<{self.contact_uri}>"), ("allow", ALLOW), ("content-type", "application/sdp")]
            self._send_response(transaction, response_to(request, 200, "OK", to_tag=dialog.local_tag, headers=headers,
                                                         body=answer.encode()), final=True)
            self._await_ack(dialog, transaction)
        else:
            status, reason = answer
            self._send_response(transaction, response_to(request, status, reason, to_tag=dialog.local_tag), final=True)

    def _cancel_received(self, request: SipMessage, source: Address) -> None:
        call = self._calls.get((self._branch(request), request.call_id))
        if call is None:
            self._reply(request, source, 481, "Call/Transaction Does Not Exist")
            return
        self._reply(request, source, 200, "OK")
        if not call.finished:
            call.cancelled.set()
            call._respond(487, "Request Terminated")
            self._end_dialog(call.dialog)
            self._spawn(self._on_cancel(call))

    def _ack_received(self, ack: SipMessage) -> None:
        dialog = self._dialog_of(ack)
        if dialog is not None and ack.cseq[0] == dialog.invite_cseq:
            dialog.acked = True  # stops the 2xx being sent again
        transaction = self._server.get((self._branch(ack), "INVITE"))
        if transaction is not None and transaction.final is not None and transaction.final >= 300:
            self._stop_retransmitting(transaction)  # the error response's ACK (Timer G ends)

    def _response_received(self, response: SipMessage) -> None:
        try:
            branch, method = response.top_via.branch or "", response.cseq[1]
        except SipParseError:
            return
        transaction = self._client.get((branch, method))
        if transaction is not None:
            transaction.responses.put_nowait(response)
        elif method == "INVITE" and 200 <= response.status < 300:
            # A call we placed: its 2xx is sent again until our ACK arrives, so the ACK is repeated.
            dialog = self._dialogs.get((response.call_id, response.from_tag or ""))
            if dialog is not None and dialog.ack is not None:
                self._send(dialog.ack, dialog.peer)

    # ---- client transactions (requests we send) ----
    def client_transaction(self, branch: str, method: str) -> asyncio.Queue[SipMessage]:
        """The responses to a request we send with this branch, as they come (dialling.py)."""
        transaction = self._client[(branch, method)] = _ClientTransaction()
        return transaction.responses

    def forget_client_transaction(self, branch: str, method: str) -> None:
        self._client.pop((branch, method), None)

    def via(self, transport: str, branch: str) -> tuple[str, str]:
        return "via", f"SIP/2.0/{transport.upper()} {self.advertised_host}:{self.port};branch={branch};rport"

    def add_dialog(self, dialog: Dialog) -> None:
        """A call we placed, once answered: requests in it (BYE, re-INVITE, INFO) are served."""
        self._dialogs[(dialog.call_id, dialog.local_tag)] = dialog

    def background(self, coroutine: Awaitable[None]) -> None:
        """Work of a transaction that outlives its caller (a CANCEL, Timer D), stopped with the endpoint."""
        self._spawn(coroutine)

    def send_now(self, data: bytes, destination: Address) -> None:
        """Sends again on the connection there is (a retransmission, an ACK)."""
        self._send(data, destination)

    async def send(self, data: bytes, destination: Address) -> None:
        """Sends a request of ours, over a new TCP connection if there is none to the peer."""
        if destination[2] == "tcp":
            await self._connect_tcp(destination[0], destination[1])
        self._send(data, destination)

    async def request(self, request: SipMessage, destination: Address, credentials: Credentials | None = None,
                      branch: str | None = None) -> SipMessage | None:
        """A non-INVITE request of ours (BYE, REGISTER): its final response, or None when none
        came in 64*T1. Sent again at T1, doubling to T2, over UDP; a digest challenge is answered
        once when there are `credentials` (the request goes again, a new branch, CSeq + 1).
        `branch`: a CANCEL's, which is its INVITE's."""
        for attempt in range(2):
            response = await self._non_invite(request, destination, branch if not attempt else None)
            if response is None or response.status not in (401, 407) or credentials is None or attempt:
                return response
            try:
                request = with_authorization(request, response, credentials)
            except ValueError as exc:
                log.warning("a trunk's challenge can't be answered: %s", exc)
                return response
        return None

    async def _non_invite(self, request: SipMessage, destination: Address, branch: str | None) -> SipMessage | None:
        branch = branch or new_branch()
        request.headers = [self.via(destination[2], branch) if key == "via" else (key, value) for key, value in request.headers]
        method, data = request.method, request.serialize()
        responses = self.client_transaction(branch, method)
        try:
            interval = T1
            async with asyncio.timeout(TRANSACTION_SECONDS):
                await self.send(data, destination)
                while True:
                    wait = None if destination[2] == "tcp" else interval  # reliable: sent once (Timer F alone)
                    try:
                        response = await asyncio.wait_for(responses.get(), wait)
                    except TimeoutError:
                        self._send(data, destination)
                        interval = min(2 * interval, T2)
                        continue
                    if response.status >= 200:
                        return response
                    interval = T2  # a provisional answer: the peer has it, and asks for patience
        except (TimeoutError, OSError):
            log.info("a SIP request got no answer", extra={"method": method, "peer": destination[0]})
            return None
        finally:
            self.forget_client_transaction(branch, method)

    # ---- sending ----
    async def bye(self, dialog: Dialog) -> None:
        """Ends an answered call from our side; returns once the peer answered or gave no answer."""
        if dialog.ended:
            return
        self._end_dialog(dialog)
        dialog.local_cseq += 1
        headers = [("via", ""), ("max-forwards", "70"),
                   ("from", with_tag(dialog.local_uri, dialog.local_tag)),
                   ("to", with_tag(dialog.remote_uri, dialog.remote_tag)),
                   ("call-id", dialog.call_id), ("cseq", f"{dialog.local_cseq} BYE")]
        headers += [("route", route) for route in dialog.route_set]
        await self.request(SipMessage(method="BYE", uri=dialog.remote_target, headers=headers), self._in_dialog(dialog))

    def _in_dialog(self, dialog: Dialog) -> Address:
        """Where a request in the dialog goes: back where the peer's messages come from, or, when
        that was a TCP connection that is gone (closed by the peer, or idle), to a new connection
        to its Contact (RFC 3261 §18.2.2: the peer listens there; its old port may not)."""
        ip, port, transport = dialog.peer
        writer = self._tcp.get((ip, port))
        if transport != "tcp" or (writer is not None and not writer.is_closing()) or dialog.route_set:
            return dialog.peer
        target = _host_port(dialog.remote_target)
        return (target[0], target[1], "tcp") if target is not None else dialog.peer

    def _reply(self, request: SipMessage, source: Address, status: int, reason: str, **options) -> None:
        transaction = self._server_transaction(request, source)
        self._send_response(transaction, response_to(request, status, reason, to_tag=new_tag(), **options), final=True)

    def _server_transaction(self, request: SipMessage, source: Address) -> _ServerTransaction:
        key = self._key(request)
        transaction = self._server.get(key)
        if transaction is None:
            transaction = self._server[key] = _ServerTransaction(request, source)
            self._spawn(self._forget_later(key))
        return transaction

    def _send_response(self, transaction: _ServerTransaction, response: SipMessage, *, final: bool) -> None:
        data = response.serialize()
        transaction.last_response = data
        self._send(data, transaction.source)
        if final:
            transaction.final = response.status
            if transaction.request.method == "INVITE" and response.status >= 300 and transaction.source[2] == "udp":
                transaction.retransmitter = self._spawn(self._retransmit(data, transaction.source, lambda: False))

    def _await_ack(self, dialog: Dialog, transaction: _ServerTransaction) -> None:
        assert transaction.last_response is not None
        self._spawn(self._retransmit_2xx(dialog, transaction.last_response))

    async def _retransmit_2xx(self, dialog: Dialog, data: bytes) -> None:
        acked = await self._retransmit(data, dialog.peer, lambda: dialog.acked or dialog.ended)
        if not acked and not dialog.ended:
            log.info("an answered call got no ACK", extra={"call_id": dialog.call_id})
            await self._on_ack_timeout(dialog)

    async def _retransmit(self, data: bytes, destination: Address, done: Callable[[], bool]) -> bool:
        """Sends `data` again at T1, 2*T1... (at most T2 apart) until `done()`, for 64*T1."""
        interval, waited = T1, 0.0
        while waited < TRANSACTION_SECONDS:
            await asyncio.sleep(interval)
            waited += interval
            if done():
                return True
            self._send(data, destination)
            interval = min(2 * interval, T2)
        return done()

    def _stop_retransmitting(self, transaction: _ServerTransaction) -> None:
        if transaction.retransmitter is not None:
            transaction.retransmitter.cancel()

    def _send(self, data: bytes, destination: Address) -> None:
        ip, port, transport = destination
        if transport == "tcp":
            writer = self._tcp.get((ip, port))
            if writer is not None and not writer.is_closing():
                writer.write(data)
            else:
                log.info("a SIP message could not be sent: the peer's TCP connection is gone", extra={"peer": ip})
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, (ip, port))

    # ---- bookkeeping ----
    def _dialog_of(self, request: SipMessage) -> Dialog | None:
        return self._dialogs.get((request.call_id, request.to_tag or ""))

    @staticmethod
    def _branch(request: SipMessage) -> str:
        via = request.top_via
        # RFC 2543 clients have no magic-cookie branch: the Call-ID and CSeq number stand in.
        return via.branch if via.branch and via.branch.startswith("z9hG4bK") else f"{request.call_id}:{request.cseq[0]}"

    def _key(self, request: SipMessage) -> tuple[str, str]:
        return self._branch(request), request.method

    async def _forget_later(self, key: tuple[str, str]) -> None:
        """A transaction is kept 64*T1 (and a little) to absorb retransmissions, then dropped."""
        await asyncio.sleep(TRANSACTION_SECONDS + T2)
        transaction = self._server.pop(key, None)
        if transaction is not None and key[1] == "INVITE":
            self._stop_retransmitting(transaction)
            self._calls.pop((key[0], transaction.request.call_id), None)

    def _end_dialog(self, dialog: Dialog) -> None:
        # A BYE sent again meets its transaction, which answers it: the dialog can go now.
        dialog.ended = True
        self._dialogs.pop((dialog.call_id, dialog.local_tag), None)

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a SIP handler failed", exc_info=task.exception())


def _content_length(head: bytes) -> int | None:
    """The Content-Length of a message's header block (required over TCP), or None."""
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None


def parse_headers_only(data: bytes) -> SipMessage:
    """Enough of a bad request to answer it: its Via, From, To, Call-ID and CSeq lines as sent."""
    text = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = text.replace("\r\n", "\n").split("\n")
    message = SipMessage(method=lines[0].split(" ", 1)[0][:32], uri="")
    compact = {"v": "via", "f": "from", "t": "to", "i": "call-id"}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = compact.get(name.strip().lower(), name.strip().lower())
        if colon and name in ("via", "from", "to", "call-id", "cseq"):
            message.headers.append((name, value.strip()))
    if not all(message.get(name) for name in ("via", "from", "to", "call-id", "cseq")):
        raise SipParseError("not enough to answer")
    return message


def _host_port(uri: str) -> tuple[str, int] | None:
    """The IP address and port of a sip: URI (5060 when it names none); None for a host name."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    hostport = rest.rsplit("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    if hostport.startswith("["):  # an IPv6 reference
        host, _, after = hostport[1:].partition("]")
        port = after[1:] if after.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host, int(port) if port.isdigit() else 5060


def with_authorization(request: SipMessage, challenge: SipMessage, credentials: Credentials) -> SipMessage:
    """`request` again (CSeq + 1), answering the 401/407 `challenge`; ValueError when it can't be."""
    proxy = challenge.status == 407
    asked = challenge.get("proxy-authenticate" if proxy else "www-authenticate") or ""
    number, method = request.cseq
    answer = authorization(asked, method, request.uri, credentials)
    header = "proxy-authorization" if proxy else "authorization"
    headers = [(key, value) for key, value in request.headers if key not in ("authorization", "proxy-authorization", "cseq")]
    headers += [("cseq", f"{number + 1} {method}"), (header, answer)]
    return SipMessage(method=request.method, uri=request.uri, headers=headers, body=request.body)


def with_tag(header: str, tag: str | None) -> str:
    return header if tag is None or tag_of(header) == tag else f"{header};tag={tag}"

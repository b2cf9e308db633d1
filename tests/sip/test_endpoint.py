"""The SIP endpoint's transactions over real UDP, with requests written as trunks send them
(and as they get lost, repeated and raced): what a trunk sees back, and what the application is told."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from channels.voice.sip.endpoint import Dialog, IncomingCall, SipEndpoint
from channels.voice.sip.message import SipMessage, parse
from channels.voice.sip.settings import TrunkSettings
from channels.voice.sip.trunks import TrunkPolicy

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


class Trunk(asyncio.DatagramProtocol):
    """A trunk's side: sends raw requests, keeps every response."""

    def __init__(self) -> None:
        self.received: list[SipMessage] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self._arrived = asyncio.Event()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.append(parse(data))
        self._arrived.set()

    def send(self, text: str, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(crlf(text), ("127.0.0.1", port))

    async def response(self, status: int, method: str = "INVITE", count: int = 1) -> SipMessage:
        async with asyncio.timeout(5):
            while True:
                matching = [m for m in self.received if not m.is_request and m.status == status and m.cseq[1] == method]
                if len(matching) >= count:
                    return matching[count - 1]
                self._arrived.clear()
                await self._arrived.wait()

    def count(self, status: int, method: str = "INVITE") -> int:
        return sum(1 for m in self.received if not m.is_request and m.status == status and m.cseq[1] == method)

    def requests(self, method: str) -> list[SipMessage]:
        return [m for m in self.received if m.is_request and m.method == method]


def crlf(text: str) -> bytes:
    """Line ends as SIP has them, whether the text was written with \\n or \\r\\n."""
    return re.sub(r"(?<!\r)\n", "\r\n", text).encode()


def request(method: str, port: int, *, branch: str = "z9hG4bK-1", call_id: str = "call-1", cseq: int = 1,
            to_tag: str | None = None, body: str = "", extra: str = "") -> str:
    to = f"<sip:+4930123456@127.0.0.1>{';tag=' + to_tag if to_tag else ''}"
    return (f"{method} sip:+4930123456@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch}\n"
            f"From: <sip:+4930555123@127.0.0.1>;tag=caller-tag\nTo: {to}\nCall-ID: {call_id}\n"
            f"CSeq: {cseq} {method}\nContact: <sip:+4930555123@127.0.0.1:{port}>\nMax-Forwards: 70\n{extra}"
            f"Content-Type: application/sdp\nContent-Length: {len(body)}\n\n") + body


class App:
    """What the application is told; answers each call the way a test says."""

    def __init__(self) -> None:
        self.invites: list[IncomingCall] = []
        self.byes: list[Dialog] = []
        self.cancels: list[IncomingCall] = []
        self.ack_timeouts: list[Dialog] = []
        self.reinvites: list[SipMessage] = []
        self.keys: list[str] = []
        self.answer: str | None = OFFER  # None: leave the call ringing

    async def on_invite(self, call: IncomingCall) -> None:
        self.invites.append(call)
        call.ringing()
        if self.answer is not None:
            call.answer(self.answer)

    async def on_bye(self, dialog: Dialog) -> None:
        self.byes.append(dialog)

    async def on_cancel(self, call: IncomingCall) -> None:
        self.cancels.append(call)

    async def on_ack_timeout(self, dialog: Dialog) -> None:
        self.ack_timeouts.append(dialog)

    async def on_reinvite(self, dialog: Dialog, request: SipMessage) -> str | tuple[int, str]:
        self.reinvites.append(request)
        return OFFER.replace("m=audio", "a=recvonly\r\nm=audio") if request.body else (488, "Not Acceptable Here")


@pytest.fixture
async def running() -> AsyncIterator[tuple[SipEndpoint, App, Trunk]]:
    app = App()
    trunks = TrunkPolicy([TrunkSettings(name="test", addresses=["127.0.0.1"])], realm="wecc")
    endpoint = SipEndpoint("127.0.0.1", 0, "127.0.0.1", trunks=trunks,
                           on_invite=app.on_invite, on_bye=app.on_bye, on_cancel=app.on_cancel,
                           on_ack_timeout=app.on_ack_timeout, on_reinvite=app.on_reinvite,
                           on_key=lambda dialog, key: app.keys.append(key))
    await endpoint.start()
    loop = asyncio.get_running_loop()
    _, trunk = await loop.create_datagram_endpoint(Trunk, local_addr=("127.0.0.1", 0))
    yield endpoint, app, trunk
    trunk.transport.close()
    await endpoint.stop()


async def test_options_keep_alives_are_answered(running) -> None:
    endpoint, _, trunk = running
    trunk.send(request("OPTIONS", trunk.port), endpoint.port)
    answer = await trunk.response(200, "OPTIONS")
    assert "INVITE" in (answer.get("allow") or "")


async def test_a_stranger_is_refused(running) -> None:
    endpoint, app, _ = running
    loop = asyncio.get_running_loop()
    _, stranger = await loop.create_datagram_endpoint(Trunk, local_addr=("127.0.0.2", 0))
    try:
        stranger.send(request("INVITE", stranger.port, body=OFFER), endpoint.port)
        await stranger.response(403)
        assert app.invites == []
    finally:
        stranger.transport.close()


async def test_a_malformed_request_gets_400_with_the_reason_and_garbage_no_answer(running) -> None:
    endpoint, app, trunk = running
    trunk.send(request("INVITE", trunk.port, body=OFFER).replace("CSeq: 1 INVITE", "CSeq: 1 BYE"), endpoint.port)
    bad = await trunk.response(400, "BYE")
    assert "CSeq" in bad.reason and app.invites == []
    short_body = request("INVITE", trunk.port, branch="z9hG4bK-short", body=OFFER).replace(
        f"Content-Length: {len(OFFER)}", "Content-Length: 4000")
    trunk.send(short_body, endpoint.port)
    assert "Content-Length" in (await trunk.response(400, count=1)).reason
    trunk.send("\x00\x01 not sip at all", endpoint.port)
    trunk.send(request("OPTIONS", trunk.port, branch="z9hG4bK-after"), endpoint.port)
    await trunk.response(200, "OPTIONS")  # still serving, and the garbage got nothing
    assert sum(1 for m in trunk.received if m.status == 400) == 2 and app.invites == []


async def test_a_repeated_invite_is_one_call_and_gets_the_same_answer_again(running) -> None:
    endpoint, app, trunk = running
    invite = request("INVITE", trunk.port, body=OFFER)
    trunk.send(invite, endpoint.port)
    first = await trunk.response(200)
    trunk.send(invite, endpoint.port)  # the 200 was lost, as far as the trunk knows
    again = await trunk.response(200, count=2)
    assert len(app.invites) == 1
    assert again.to_tag == first.to_tag and again.body == first.body
    assert first.get("contact") == f"<sip:127.0.0.1:{endpoint.port}>"


async def test_the_answer_is_sent_again_until_its_ack(running) -> None:
    endpoint, app, trunk = running
    trunk.send(request("INVITE", trunk.port, body=OFFER), endpoint.port)
    answer = await trunk.response(200, count=2)  # T1 later, since no ACK came
    trunk.send(request("ACK", trunk.port, branch="z9hG4bK-ack", to_tag=answer.to_tag), endpoint.port)
    await asyncio.sleep(1.5)  # longer than the next two retransmission intervals
    sent = trunk.count(200)
    await asyncio.sleep(2.5)
    assert trunk.count(200) == sent and app.ack_timeouts == []


async def test_cancel_before_the_answer_ends_the_call_and_after_it_changes_nothing(running) -> None:
    endpoint, app, trunk = running
    app.answer = None
    trunk.send(request("INVITE", trunk.port, body=OFFER), endpoint.port)
    await trunk.response(180)
    trunk.send(request("CANCEL", trunk.port), endpoint.port)
    await trunk.response(200, "CANCEL")
    await trunk.response(487)
    assert len(app.cancels) == 1 and app.invites[0].cancelled.is_set()
    assert app.invites[0].answer(OFFER) is False  # too late to answer

    app.answer = OFFER  # a second call, answered; its caller hangs up just as it is answered
    trunk.send(request("INVITE", trunk.port, branch="z9hG4bK-2", call_id="call-2", body=OFFER), endpoint.port)
    answer = await trunk.response(200)
    trunk.send(request("CANCEL", trunk.port, branch="z9hG4bK-2", call_id="call-2"), endpoint.port)
    await trunk.response(200, "CANCEL", count=2)
    assert len(app.cancels) == 1  # the answered call stands: it ends with BYE
    trunk.send(request("BYE", trunk.port, branch="z9hG4bK-bye", call_id="call-2", cseq=2, to_tag=answer.to_tag),
               endpoint.port)
    await trunk.response(200, "BYE")
    assert [dialog.call_id for dialog in app.byes] == ["call-2"]
    trunk.send(request("BYE", trunk.port, branch="z9hG4bK-bye2", call_id="call-2", cseq=3, to_tag=answer.to_tag),
               endpoint.port)
    await trunk.response(481, "BYE")  # a new BYE for a call that is over


async def test_our_bye_is_sent_again_until_the_trunk_answers(running) -> None:
    endpoint, app, trunk = running
    trunk.send(request("INVITE", trunk.port, body=OFFER), endpoint.port)
    answer = await trunk.response(200)
    trunk.send(request("ACK", trunk.port, branch="z9hG4bK-ack", to_tag=answer.to_tag), endpoint.port)
    hanging_up = asyncio.create_task(endpoint.bye(app.invites[0].dialog))
    async with asyncio.timeout(5):
        while len(trunk.requests("BYE")) < 2:  # the first one "lost"
            await asyncio.sleep(0.02)
    bye = trunk.requests("BYE")[-1]
    assert bye.uri == f"sip:+4930555123@127.0.0.1:{trunk.port}" and bye.to_tag == "caller-tag"
    assert bye.from_tag == answer.to_tag
    ok = (f"SIP/2.0 200 OK\nVia: {bye.get('via')}\nFrom: {bye.get('from')}\nTo: {bye.get('to')}\n"
          f"Call-ID: {bye.call_id}\nCSeq: {bye.get('cseq')}\nContent-Length: 0\n\n")
    trunk.send(ok, endpoint.port)
    await asyncio.wait_for(hanging_up, 5)


async def test_a_re_invite_in_the_call_is_answered_and_one_outside_any_call_refused(running) -> None:
    endpoint, app, trunk = running
    trunk.send(request("INVITE", trunk.port, body=OFFER), endpoint.port)
    answer = await trunk.response(200)
    trunk.send(request("ACK", trunk.port, branch="z9hG4bK-ack", to_tag=answer.to_tag), endpoint.port)
    hold = request("INVITE", trunk.port, branch="z9hG4bK-hold", cseq=2, to_tag=answer.to_tag,
                   body=OFFER.replace("m=audio", "a=sendonly\r\nm=audio"))
    trunk.send(hold, endpoint.port)
    held = await trunk.response(200, count=2)
    assert held.cseq == (2, "INVITE") and b"a=recvonly" in held.body and held.to_tag == answer.to_tag
    trunk.send(hold, endpoint.port)  # repeated: answered again, not asked again
    await trunk.response(200, count=3)
    assert len(app.reinvites) == 1
    trunk.send(request("INVITE", trunk.port, branch="z9hG4bK-x", call_id="no-such-call", cseq=5, to_tag="nope",
                       body=OFFER), endpoint.port)
    await trunk.response(481)


async def test_over_tcp_messages_are_framed_by_content_length_and_answered_on_the_connection(running) -> None:
    endpoint, app, _ = running
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    try:
        local_port = writer.get_extra_info("sockname")[1]
        invite = request("INVITE", local_port, body=OFFER).replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        options = request("OPTIONS", local_port, branch="z9hG4bK-opt").replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        # Two requests in one write, the second split across writes: framing, not packets, counts.
        both = crlf(invite + options)
        writer.write(b"\r\n\r\n" + both[:-20])  # a keep-alive first
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(both[-20:])
        answers: list[SipMessage] = []
        async with asyncio.timeout(5):
            while not {(m.status, m.cseq[1]) for m in answers} >= {(200, "INVITE"), (200, "OPTIONS")}:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                answers.append(parse(head + await reader.readexactly(length)))
        assert len(app.invites) == 1
        answer = next(m for m in answers if m.status == 200 and m.cseq[1] == "INVITE")
        ack = request("ACK", local_port, branch="z9hG4bK-ack", to_tag=answer.to_tag).replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        writer.write(crlf(ack))
        hanging_up = asyncio.create_task(endpoint.bye(app.invites[0].dialog))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        bye = parse(head)
        assert bye.method == "BYE" and bye.top_via.transport == "TCP"
        ok = (f"SIP/2.0 200 OK\r\nVia: {bye.get('via')}\r\nFrom: {bye.get('from')}\r\nTo: {bye.get('to')}\r\n"
              f"Call-ID: {bye.call_id}\r\nCSeq: {bye.get('cseq')}\r\nContent-Length: 0\r\n\r\n")
        writer.write(ok.encode())
        await asyncio.wait_for(hanging_up, 5)
    finally:
        writer.close()


async def test_a_tcp_connection_from_a_stranger_is_closed(running) -> None:
    endpoint, _, _ = running
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port, local_addr=("127.0.0.2", 0))
    try:
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


async def test_key_presses_sent_as_info_are_passed_on(running) -> None:
    endpoint, app, trunk = running
    trunk.send(request("INVITE", trunk.port, body=OFFER), endpoint.port)
    answer = await trunk.response(200)
    trunk.send(request("ACK", trunk.port, branch="z9hG4bK-ack", to_tag=answer.to_tag), endpoint.port)

    def info(n: int, content_type: str, body: str) -> str:
        return request("INFO", trunk.port, branch=f"z9hG4bK-info{n}", cseq=10 + n, to_tag=answer.to_tag, body=body).replace(
            "Content-Type: application/sdp", f"Content-Type: {content_type}")

    trunk.send(info(1, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), endpoint.port)
    trunk.send(info(2, "application/dtmf", "11"), endpoint.port)  # the '#' key, by its event number
    await trunk.response(200, "INFO", count=2)
    trunk.send(info(3, "application/media_control+xml", "<media_control/>"), endpoint.port)
    await trunk.response(415, "INFO")
    assert app.keys == ["5", "#"]


async def test_a_bye_reaches_a_trunk_whose_tcp_connection_is_gone_at_its_contact(running) -> None:
    """The trunk closed its connection after the call was set up (or it idled out): our BYE opens a
    new one to the trunk's Contact, where it listens, not to the port it called from."""
    endpoint, app, _ = running
    byes: asyncio.Queue[SipMessage] = asyncio.Queue()

    async def trunk_listens(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        bye = parse(head)
        await byes.put(bye)
        writer.write((f"SIP/2.0 200 OK\r\nVia: {bye.get('via')}\r\nFrom: {bye.get('from')}\r\nTo: {bye.get('to')}\r\n"
                      f"Call-ID: {bye.call_id}\r\nCSeq: {bye.get('cseq')}\r\nContent-Length: 0\r\n\r\n").encode())
        await writer.drain()

    listening = await asyncio.start_server(trunk_listens, "127.0.0.1", 0)
    contact_port = listening.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        local_port = writer.get_extra_info("sockname")[1]
        invite = (request("INVITE", local_port, body=OFFER).replace("SIP/2.0/UDP", "SIP/2.0/TCP")
                  .replace(f"Contact: <sip:+4930555123@127.0.0.1:{local_port}>",
                           f"Contact: <sip:+4930555123@127.0.0.1:{contact_port};transport=tcp>"))
        writer.write(crlf(invite))
        async with asyncio.timeout(5):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                answer = parse(head + await reader.readexactly(length))
                if answer.status == 200:
                    break
        writer.write(crlf(request("ACK", local_port, branch="z9hG4bK-ack", to_tag=answer.to_tag).replace("SIP/2.0/UDP", "SIP/2.0/TCP")))
        await writer.drain()
        writer.close()  # the trunk hangs up the connection, not the call
        await asyncio.sleep(0.2)
        await asyncio.wait_for(endpoint.bye(app.invites[0].dialog), 5)
        bye = await asyncio.wait_for(byes.get(), 1)
        assert bye.method == "BYE" and bye.call_id == "call-1" and bye.top_via.transport == "TCP"
    finally:
        listening.close()

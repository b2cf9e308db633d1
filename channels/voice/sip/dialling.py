"""Calls the gateway places through a trunk (a callback to a customer), and its registration with
the trunk when configured: RFC 3261's client side, over the endpoint's transports.

- The INVITE client transaction (§17.1.1): over UDP the INVITE is sent again (Timer A: T1,
  doubling) until the first response; with none in 64*T1 (Timer B) the trunk is taken as
  unreachable. A final error response is acknowledged (ACK on the same branch), and so is each
  copy of it the trunk sends again while the transaction lasts (Timer D).
- A 401 or 407 is answered once with the trunk's credentials (digest), as a new INVITE in the
  same call (CSeq + 1).
- A 2xx is acknowledged end to end (a new branch, to the callee's Contact through its route
  set); the endpoint repeats that ACK whenever the 2xx comes again.
- A call that rings past its ring time, or that we give up (`cancel()`), is CANCELled (§9.1),
  once it has rung, on the INVITE's branch; a 2xx that crosses the CANCEL is acknowledged and
  the call hung up at once.
- REGISTER (§10) keeps the gateway's Contact registered with the trunk, refreshed before it
  runs out, and removed when the gateway stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from dataclasses import dataclass
from collections.abc import Callable
from typing import Literal

from channels.voice.sip.digest import Credentials
from channels.voice.sip.endpoint import (
    ALLOW, T1, T2, TRANSACTION_SECONDS, Address, Dialog, SipEndpoint, new_branch, new_tag, with_authorization, with_tag,
)
from channels.voice.sip.message import SipMessage, uri_of
from channels.voice.sip.settings import OutboundSettings

log = logging.getLogger(__name__)

RETRY_REGISTER_SECONDS = 60  # after a failed registration


@dataclass(frozen=True)
class Outcome:
    """How a placed call ended up: answered (status 2xx, with its dialog and the callee's SDP),
    or not, with the trunk's status (486 busy, 480 unavailable, 603 declined...), 408 when it
    rang out or the trunk never answered, 487 when we gave it up."""

    status: int
    reason: str
    dialog: Dialog | None = None
    sdp: str = ""

    @property
    def answered(self) -> bool:
        return self.dialog is not None


async def trunk_address(settings: OutboundSettings) -> Address:
    """Where the trunk's proxy is (its name looked up, when it has one)."""
    infos = await asyncio.get_running_loop().getaddrinfo(settings.host, settings.port, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"{settings.host} has no address")
    return infos[0][4][0], settings.port, settings.transport


def credentials_of(settings: OutboundSettings) -> Credentials | None:
    return Credentials(settings.username, settings.password.get_secret_value()) if settings.username else None


class PlacedCall:
    """One call we place: `run()` rings the number and returns the Outcome; `cancel()` gives it up."""

    def __init__(self, endpoint: SipEndpoint, destination: Address, *, target: str, caller: str, sdp: str,
                 credentials: Credentials | None, ring_seconds: float, caller_name: str = "") -> None:
        self.sip_call_id = f"{secrets.token_hex(12)}@{endpoint.advertised_host}"
        self.ringing = asyncio.Event()
        self._endpoint, self._destination = endpoint, destination
        self._target, self._caller, self._sdp = target, caller, sdp
        # Shown on the phone that rings (an agent's: who is calling); quotes and backslashes can't break out.
        self._shown = '"' + "".join(ch for ch in caller_name if ch not in '"\\\r\n')[:60] + '" ' if caller_name else ""
        self._credentials, self._ring_seconds = credentials, ring_seconds
        self._tag = new_tag()
        self._given_up = False
        self._rang_out = False  # CANCELled for ringing past the ring time (not given up)
        self._wake: asyncio.Queue[SipMessage | None] | None = None  # the current INVITE's responses

    def cancel(self) -> None:
        self._given_up = True
        if self._wake is not None:
            self._wake.put_nowait(None)

    async def run(self) -> Outcome:
        if self._given_up:
            return Outcome(487, "Given up")
        transport = self._destination[2]
        contact = self._endpoint.contact_uri + (";transport=tcp" if transport == "tcp" else "")
        request = SipMessage(method="INVITE", uri=self._target, headers=[
            ("via", ""), ("max-forwards", "70"), ("from", f"{self._shown}<{self._caller}>;tag={self._tag}"), ("to", f"<{self._target}>"),
            ("call-id", self.sip_call_id), ("cseq", "1 INVITE"), ("contact", f"<{contact}>"), ("allow", ALLOW),
            ("content-type", "application/sdp")], body=self._sdp.encode())
        deadline = time.monotonic() + self._ring_seconds
        for attempt in range(2):
            branch = new_branch()
            request.headers = [self._endpoint.via(transport, branch) if key == "via" else (key, value)
                               for key, value in request.headers]
            final = await self._transaction(request, branch, deadline)
            if final is None or 200 <= final.status < 300:
                self._endpoint.forget_client_transaction(branch, "INVITE")  # a 2xx again reaches the dialog
                if final is None:
                    return Outcome(408, "No answer from the trunk")
                return await self._answered(request, final)
            self._acknowledge(request, final, branch)
            assert self._wake is not None
            self._endpoint.background(self._absorb(request, branch, self._wake))
            if final.status == 487 and self._rang_out:
                return Outcome(408, "Nobody answered")
            if final.status in (401, 407) and self._credentials is not None and not attempt and not self._given_up:
                try:
                    request = with_authorization(request, final, self._credentials)
                    continue
                except ValueError as exc:
                    log.warning("a trunk's challenge can't be answered: %s", exc)
            return Outcome(final.status, final.reason)
        raise AssertionError("unreachable")

    async def _transaction(self, request: SipMessage, branch: str, deadline: float) -> SipMessage | None:
        """The INVITE sent (again, over UDP) until a final response, CANCELled when it rang out or
        was given up; None when the trunk never answered."""
        endpoint, destination = self._endpoint, self._destination
        data = request.serialize()
        self._wake = responses = endpoint.client_transaction(branch, "INVITE")  # type: ignore[assignment]
        started, interval, rang, cancelling = time.monotonic(), T1, False, False
        try:
            await endpoint.send(data, destination)
            while True:
                now = time.monotonic()
                if not rang and now - started >= TRANSACTION_SECONDS:
                    return None  # Timer B
                if cancelling and now - cancelling >= TRANSACTION_SECONDS:
                    return None  # the CANCEL got the INVITE no final answer
                if rang and not cancelling and (self._given_up or now >= deadline):
                    cancelling, self._rang_out = now, not self._given_up
                    self._endpoint.background(self._cancel(request, branch))
                waits = [started + TRANSACTION_SECONDS - now] if not rang else [TRANSACTION_SECONDS]
                if not rang and destination[2] == "udp":
                    waits.append(interval)
                if rang and not cancelling:
                    waits.append(deadline - now)
                try:
                    response = await asyncio.wait_for(responses.get(), max(0.0, min(waits)))
                except TimeoutError:
                    if not rang and destination[2] == "udp" and time.monotonic() - started < TRANSACTION_SECONDS:
                        endpoint.send_now(data, destination)  # Timer A
                        interval *= 2
                    continue
                if response is None:  # given up: the loop CANCELs once it has rung
                    continue
                if response.status < 200:
                    rang = True
                    if response.status in (180, 183):
                        self.ringing.set()
                    continue
                return response
        except OSError as exc:
            log.info("a call could not be placed: %s", exc)
            return None

    async def _cancel(self, invite: SipMessage, branch: str) -> None:
        headers = [(key, value) for key, value in invite.headers if key in ("via", "max-forwards", "from", "to", "call-id", "route")]
        headers.append(("cseq", f"{invite.cseq[0]} CANCEL"))
        await self._endpoint.request(SipMessage(method="CANCEL", uri=invite.uri, headers=headers), self._destination,
                                     branch=branch)

    async def _absorb(self, invite: SipMessage, branch: str, responses: asyncio.Queue[SipMessage | None]) -> None:
        """Timer D: copies of a final error response the trunk sends again are acknowledged again."""
        try:
            async with asyncio.timeout(TRANSACTION_SECONDS if self._destination[2] == "udp" else 0):
                while True:
                    response = await responses.get()
                    if response is not None and response.status >= 300:
                        self._acknowledge(invite, response, branch)
        except TimeoutError:
            pass
        finally:
            self._endpoint.forget_client_transaction(branch, "INVITE")

    def _acknowledge(self, invite: SipMessage, final: SipMessage, branch: str) -> None:
        """The ACK of a final error response: part of the INVITE's transaction, on its branch."""
        headers = [self._endpoint.via(self._destination[2], branch), ("max-forwards", "70"),
                   ("from", invite.get("from") or ""), ("to", final.get("to") or ""), ("call-id", invite.call_id),
                   ("cseq", f"{invite.cseq[0]} ACK")]
        headers += [("route", route) for route in invite.get_all("route")]
        self._endpoint.send_now(SipMessage(method="ACK", uri=invite.uri, headers=headers).serialize(), self._destination)

    async def _answered(self, invite: SipMessage, final: SipMessage) -> Outcome:
        contact = final.get("contact")
        dialog = Dialog(call_id=invite.call_id, local_tag=self._tag, remote_tag=final.to_tag,
                        local_uri=f"{self._shown}<{self._caller}>", remote_uri=f"<{self._target}>",
                        remote_target=uri_of(contact) if contact else self._target,
                        route_set=list(reversed(final.get_all("record-route"))), peer=self._destination,
                        local_cseq=invite.cseq[0], invite_cseq=invite.cseq[0], acked=True)
        headers = [self._endpoint.via(self._destination[2], new_branch()), ("max-forwards", "70"),
                   ("from", with_tag(dialog.local_uri, dialog.local_tag)), ("to", final.get("to") or ""),
                   ("call-id", dialog.call_id), ("cseq", f"{dialog.invite_cseq} ACK")]
        headers += [("route", route) for route in dialog.route_set]
        dialog.ack = SipMessage(method="ACK", uri=dialog.remote_target, headers=headers).serialize()
        self._endpoint.add_dialog(dialog)
        await self._endpoint.send(dialog.ack, dialog.peer)
        if self._given_up:  # answered just as we gave up: hung up at once
            await self._endpoint.bye(dialog)
            return Outcome(487, "Given up")
        return Outcome(final.status, final.reason, dialog, final.body.decode("utf-8", "replace"))


RegistrationState = Literal["registering", "registered", "failed", "stopped"]


class Registration:
    """The gateway's Contact kept registered with a trunk (outbound `registration = true`)."""

    def __init__(self, endpoint: SipEndpoint, settings: OutboundSettings, on_change: Callable[[], None] = lambda: None) -> None:
        self.state: RegistrationState = "registering"
        self._on_change = on_change  # told when state changes (the trunks' health report)
        self.problem = ""  # why the last attempt failed, for the operator
        self.expires_at = 0.0
        self._endpoint, self._settings = endpoint, settings
        self._call_id = f"{secrets.token_hex(12)}@{endpoint.advertised_host}"
        self._cseq = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._keep())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.state == "registered":
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(2):
                    await self._register(0)
        self.state = "stopped"

    async def _keep(self) -> None:
        while True:
            try:
                granted = await self._register(self._settings.registration_seconds)
            except OSError as exc:
                granted, self.problem = None, str(exc)
            was = self.state
            if granted:
                self.state, self.problem, self.expires_at = "registered", "", time.time() + granted
            else:
                self.state = "failed"
                log.warning("registering with the trunk failed: %s", self.problem, extra={"proxy": self._settings.proxy})
            if self.state != was:
                self._on_change()
            await asyncio.sleep(max(T2, granted * 0.8) if granted else RETRY_REGISTER_SECONDS)

    async def _register(self, seconds: int) -> int | None:
        """One REGISTER (0: removes the binding); the seconds the trunk granted, or None."""
        settings = self._settings
        destination = await trunk_address(settings)
        domain = settings.domain or settings.host
        aor = f"sip:{settings.username}@{domain}"
        contact = (f"<sip:{settings.username}@{self._endpoint.advertised_host}:{self._endpoint.port}"
                   + (";transport=tcp" if settings.transport == "tcp" else "") + ">")
        self._cseq += 1
        request = SipMessage(method="REGISTER", uri=f"sip:{domain}", headers=[
            ("via", ""), ("max-forwards", "70"), ("from", f"<{aor}>;tag={new_tag()}"), ("to", f"<{aor}>"),
            ("call-id", self._call_id), ("cseq", f"{self._cseq} REGISTER"), ("contact", contact),
            ("expires", str(seconds))])
        response = await self._endpoint.request(request, destination, credentials_of(settings))
        if response is not None:
            self._cseq = max(self._cseq, response.cseq[0])
        if response is None or not 200 <= response.status < 300:
            self.problem = (f"the trunk answered {response.status} {response.reason}" if response is not None
                            else "the trunk did not answer")
            return None
        return _granted(response, seconds)


def _granted(response: SipMessage, asked: int) -> int:
    """The registration's lifetime the trunk granted: our Contact's expires, else Expires."""
    for contact in response.get_all("contact"):
        for parameter in contact.rsplit(">", 1)[-1].split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "expires" and value.strip().isdigit():
                return int(value)
    expires = (response.get("expires") or "").strip()
    return int(expires) if expires.isdigit() else asked

"""How the center's SIP trunks are doing, reported for the operator's channel-health view
(gateway/ops/channel_health.py) every CHECK_SECONDS:

- a trunk the gateway registers with: its registration (registered, failing and why, registering);
- a trunk the gateway sends calls to, without registering: an OPTIONS ping to its proxy, the way
  PBXs "qualify" a peer (unless its `qualify` is off). Any final answer (even 404 or 405) shows it is there; none in the
  transaction time means it is unreachable. The round trip is reported;
- a trunk that only sends calls in: unchecked, since the gateway has no address to reach it at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from gateway.ops.channel_health import HealthItem

from channels.voice.sip.dialling import Registration, credentials_of, trunk_address
from channels.voice.sip.endpoint import SipEndpoint, new_tag
from channels.voice.sip.message import SipMessage
from channels.voice.sip.settings import TrunkSettings

log = logging.getLogger(__name__)

CHECK_SECONDS = 60
Report = Callable[[list[HealthItem]], Awaitable[None]]


class TrunkHealth:
    def __init__(self, endpoint: SipEndpoint, trunks: list[TrunkSettings], report: Report) -> None:
        self._endpoint, self._trunks, self._report = endpoint, trunks, report
        self.registrations: dict[str, Registration] = {}  # by trunk name: the ones kept registered
        self._tasks: set[asyncio.Task[None]] = set()
        self._reporting = asyncio.Lock()  # one report at a time, so the newest is what stays

    def start(self) -> None:
        self._spawn(self._keep())

    def changed(self) -> None:
        """A registration's state changed: the operator sees it now, not at the next round."""
        self._spawn(self._report_now())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep(self) -> None:
        while True:
            await self._report_now()
            await asyncio.sleep(CHECK_SECONDS)

    async def _report_now(self) -> None:
        async with self._reporting:
            try:
                await self._report(list(await asyncio.gather(*(self.check(trunk) for trunk in self._trunks))))
            except Exception:  # a lost Redis must not end the checks for good
                log.warning("the SIP trunks' health could not be reported", exc_info=True)

    async def check(self, trunk: TrunkSettings) -> HealthItem:
        now = time.time()
        registration = self.registrations.get(trunk.name)
        if registration is not None:
            if registration.state == "registered":
                return _item(trunk, "ok", f"registered with {trunk.outbound.proxy}" if trunk.outbound else "registered", now)
            if registration.state == "failed":
                return _item(trunk, "failing", f"registering failed: {registration.problem}", now)
            return _item(trunk, "checking", "registering", now)
        if trunk.outbound is None:
            return _item(trunk, "unchecked", "it only sends calls in: there is no address to check it at", now)
        if not trunk.outbound.qualify:
            return _item(trunk, "unchecked", "OPTIONS pings are off for it (qualify = false)", now)
        started = time.monotonic()
        try:
            answer = await self._options(trunk)
        except OSError as exc:
            return _item(trunk, "failing", f"{trunk.outbound.proxy} can't be reached: {exc}", now)
        if answer is None:
            return _item(trunk, "failing", f"{trunk.outbound.proxy} did not answer OPTIONS", now)
        return _item(trunk, "ok", f"{trunk.outbound.proxy} answered {answer} in {(time.monotonic() - started) * 1000:.0f} ms", now)

    async def _options(self, trunk: TrunkSettings) -> int | None:
        """The status of the trunk's final answer to an OPTIONS, or None when none came."""
        settings = trunk.outbound
        assert settings is not None
        destination = await trunk_address(settings)
        domain = settings.domain or settings.host
        me = f"sip:{settings.username or 'wecc'}@{domain}"
        request = SipMessage(method="OPTIONS", uri=f"sip:{domain}", headers=[
            ("via", ""), ("max-forwards", "70"), ("from", f"<{me}>;tag={new_tag()}"), ("to", f"<sip:{domain}>"),
            ("call-id", f"{secrets.token_hex(12)}@{self._endpoint.advertised_host}"), ("cseq", "1 OPTIONS"),
            ("accept", "application/sdp")])
        response = await self._endpoint.request(request, destination, credentials_of(settings))
        return None if response is None else response.status


def _item(trunk: TrunkSettings, state: str, detail: str, now: float) -> HealthItem:
    return HealthItem(kind="sip_trunk", name=trunk.name, state=state, detail=detail, checked_at=now)  # type: ignore[typeddict-item]

"""MediaService: the gateway's handle on voice calls' audio, which runs in worker processes
(worker.py), because aiortc does its RTP and SRTP in Python on the event loop: one loop carries
a core's worth of calls (about 20 recorded calls on two workers here, bench/README.md), so calls
are spread over a worker per core.

All legs of a call live on one worker (chosen at the call's first leg: the one carrying the fewest
legs), since they are mixed together. Commands travel to it over a Unix socket (wire.py), each
with a timeout; the worker's events come back the same way and are handed, in order, to
`on_event`. A worker that dies costs its calls (a `worker_lost` event each) but not the service:
it is started again, and new calls go on being placed.

Workers are started with the forkserver context, never fork: the gateway has threads."""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.config import MediaConfig
from gateway.media import wire
from gateway.media.mixer import Mode, Role
from gateway.media.worker import NO_CUSTOMER, CommandError, WorkerSettings, check_mode, check_role, run_worker

log = logging.getLogger(__name__)

_START_TIMEOUT = 60.0  # a worker imports aiortc, PyAV and numpy (~0.5 s) before it connects
_STOP_TIMEOUT = 10.0
# Between attempts to start a worker again, so one that cannot run (a broken install) does not
# spin the machine.
_RESTART_PAUSE_SECONDS = 2.0


class MediaError(Exception):
    """A media operation that failed; the message is meant for users and admins."""


@dataclass(frozen=True)
class MediaEvent:
    call_id: str
    leg_id: str | None  # None: the whole call (worker_lost)
    kind: str  # "connected" | "failed" | "closed" | "worker_lost" | "dtmf" (a plain RTP leg's key press)
    detail: str = ""  # why, for failed and closed; the key ("0"-"9", "*", "#", "A"-"D") for dtmf


@dataclass(frozen=True)
class RecordingInfo:
    path: str
    seconds: float
    bytes: int


@dataclass(eq=False)
class _Call:
    worker: _Worker
    legs: set[str] = field(default_factory=set)
    recording: bool = False


class _Worker:
    """One worker process and the connection to it."""

    def __init__(self, slot: int, process: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.slot = slot
        self.process = process  # multiprocessing.Process
        self.reader = reader
        self.writer = writer
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.lost = False
        self.reading: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, slot: int, context: Any, socket_dir: str, settings: WorkerSettings) -> _Worker:
        loop = asyncio.get_running_loop()
        connected: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = loop.create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if connected.done():
                writer.close()  # only the worker we started may connect, and once
            else:
                connected.set_result((reader, writer))

        path = os.path.join(socket_dir, f"worker{slot}-{uuid.uuid4().hex[:8]}.sock")
        server = await asyncio.start_unix_server(on_connect, path, limit=wire.LINE_LIMIT)
        process = context.Process(target=run_worker, args=(path, settings), name=f"wecc-media-{slot}", daemon=True)
        exited = loop.create_future()
        try:
            # Starting may start the fork server first: not on the loop.
            await asyncio.to_thread(process.start)
            loop.add_reader(process.sentinel, lambda: exited.done() or exited.set_result(None))
            done, _ = await asyncio.wait([connected, exited], timeout=_START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if connected not in done:
                raise MediaError("a media worker could not start")
            reader, writer = connected.result()
        except BaseException:
            if process.pid is not None:
                process.kill()
            raise
        finally:
            if process.pid is not None:
                loop.remove_reader(process.sentinel)
            server.close()
            os.unlink(path)
        return cls(slot, process, reader, writer)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()


class MediaService:
    def __init__(self, settings: MediaConfig, on_event: Callable[[MediaEvent], Awaitable[None]]) -> None:
        self._size = settings.workers or os.cpu_count() or 1
        self._timeout = settings.request_timeout_seconds
        self._worker_settings = WorkerSettings(
            stun_servers=list(settings.stun_servers),
            turn_servers=[{"url": t.url, "username": t.username, "credential": t.credential.get_secret_value()}
                          for t in settings.turn_servers],
            public_ip=settings.public_ip,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            rtp_ports=(settings.rtp_port_min, settings.rtp_port_max),
            rtp_timeout_seconds=settings.rtp_timeout_seconds,
        )
        self._on_event = on_event
        # Not fork: the gateway has threads.
        self._context = multiprocessing.get_context("forkserver")
        self._workers: dict[int, _Worker] = {}
        self._calls: dict[str, _Call] = {}
        self._request_ids = itertools.count(1)
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._socket_dir = ""
        self._running = False
        self._worker_started = asyncio.Event()

    # Lifecycle.

    async def start(self) -> None:
        self._socket_dir = tempfile.mkdtemp(prefix="wecc-media-")
        self._running = True
        self._spawn(self._deliver_events(), "media events")
        try:
            await asyncio.gather(*(self._start_worker(slot) for slot in range(self._size)))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        self._running = False
        workers, self._workers = list(self._workers.values()), {}
        await asyncio.gather(*(self._stop_worker(worker) for worker in workers))
        self._calls.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    # Calls and legs.

    async def open_leg(self, call_id: str, leg_id: str, role: Role, offer_sdp: str, mode: Mode | None = None,
                       address: str | None = None, peer_ip: str | None = None) -> str:
        """The answer SDP for the leg's offer; the leg's connection is then reported by events.

        A WebRTC leg (a browser), or with `address` a plain RTP one (a SIP trunk or phone: G.711,
        RFC 4733 key presses reported as "dtmf" events): `address` is the local IP address the
        peer sends to, announced in the answer (or [media] public_ip in its place). Such a leg is
        connected when the peer's first audio arrives; its audio is taken from the SDP's address
        and from `peer_ip` (where its signalling comes from), from no one else.

        A "supervisor" leg joins a call that has a customer leg, in `mode` (default "listen"):
        listen — hears the customer and the agents, heard by no one; whisper — also heard by the
        agents, never by the customer; barge — heard by everyone. Only a supervisor has a mode.
        A supervisor is not an agent: the customer hears hold audio until an agent connects."""
        try:
            check_role(role, mode)
        except CommandError as exc:
            raise MediaError(str(exc)) from None
        call = self._calls.get(call_id)
        if call is None and role == "supervisor":
            raise MediaError(NO_CUSTOMER)  # the worker checks that the call's legs include a customer
        if call is None:
            worker = await self._least_loaded()
            call = self._calls.setdefault(call_id, _Call(worker))  # another leg may have placed it meanwhile
        if leg_id in call.legs:
            raise MediaError("the leg is already open")
        call.legs.add(leg_id)
        try:
            return await self._request(call.worker, "open_leg", call_id=call_id, leg_id=leg_id, role=role,
                                       offer_sdp=offer_sdp, mode=mode, address=address, peer_ip=peer_ip)
        except MediaError:
            call.legs.discard(leg_id)
            if not call.legs and not call.recording and self._calls.get(call_id) is call:
                del self._calls[call_id]  # the worker forgot it by the same rule
            raise

    async def offer_leg(self, call_id: str, leg_id: str, role: Role, address: str, peer_ip: str | None = None) -> str:
        """A plain RTP leg for a call we place (a callback dialled through a trunk): our SDP offer
        for the INVITE; `address` and `peer_ip` as in open_leg. It waits for answer_leg."""
        call = self._calls.get(call_id)
        if call is None:
            worker = await self._least_loaded()
            call = self._calls.setdefault(call_id, _Call(worker))
        if leg_id in call.legs:
            raise MediaError("the leg is already open")
        call.legs.add(leg_id)
        try:
            return await self._request(call.worker, "offer_leg", call_id=call_id, leg_id=leg_id, role=role,
                                       address=address, peer_ip=peer_ip)
        except MediaError:
            call.legs.discard(leg_id)
            if not call.legs and not call.recording and self._calls.get(call_id) is call:
                del self._calls[call_id]
            raise

    async def answer_leg(self, call_id: str, leg_id: str, answer_sdp: str) -> None:
        """The callee's SDP answer to offer_leg's offer; MediaError when it can't be used."""
        await self._request(self._call(call_id).worker, "answer_leg", call_id=call_id, leg_id=leg_id, answer_sdp=answer_sdp)

    async def update_leg(self, call_id: str, leg_id: str, offer_sdp: str) -> str:
        """A plain RTP leg's new offer (a phone's re-INVITE: hold, resume, a new address): the
        answer, on the same port. The leg goes on as it was when the offer is refused."""
        return await self._request(self._call(call_id).worker, "update_leg", call_id=call_id, leg_id=leg_id,
                                   offer_sdp=offer_sdp)

    async def close_leg(self, call_id: str, leg_id: str) -> None:
        call = self._calls.get(call_id)
        if call is None or leg_id not in call.legs:
            return
        call.legs.discard(leg_id)
        await self._request(call.worker, "close_leg", call_id=call_id, leg_id=leg_id)

    async def end_call(self, call_id: str) -> None:
        """Closes every leg; a recording still running is finished and kept."""
        call = self._calls.pop(call_id, None)
        if call is not None:
            await self._request(call.worker, "end_call", call_id=call_id)

    async def set_mode(self, call_id: str, leg_id: str, mode: Mode) -> None:
        """A supervisor's leg's mode, at once: "listen", "whisper" or "barge" (see open_leg). The
        recording gets a supervisor's voice, on the agent side, only while barging: a whisper
        is coaching the customer never hears, and is recorded nowhere."""
        try:
            check_mode(mode)
        except CommandError as exc:
            raise MediaError(str(exc)) from None
        await self._request(self._call(call_id).worker, "set_mode", call_id=call_id, leg_id=leg_id, mode=mode)

    async def set_hold(self, call_id: str, on: bool) -> None:
        """On hold, customers hear hold audio; agents and supervisors hear only the agent side
        (the agents, and supervisors who whisper or barge; an agent alone: silence); the
        recording gets silence."""
        await self._request(self._call(call_id).worker, "set_hold", call_id=call_id, on=on)

    async def announce(self, call_id: str, text: str, *, beeps: int) -> None:
        """Say `text` to the caller in place of their hold audio (beeps, `beeps` of them, where
        espeak-ng is missing). Heard only while they hear hold audio: waiting, or on hold."""
        await self._request(self._call(call_id).worker, "announce", call_id=call_id, text=text, beeps=beeps)

    async def set_muted(self, call_id: str, leg_id: str, muted: bool) -> None:
        """A muted leg's voice reaches no other party, nor the recording."""
        await self._request(self._call(call_id).worker, "set_muted", call_id=call_id, leg_id=leg_id, muted=muted)

    async def start_recording(self, call_id: str, path: str) -> None:
        call = self._call(call_id)
        await self._request(call.worker, "start_recording", call_id=call_id, path=path)
        call.recording = True

    async def pause_recording(self, call_id: str, paused: bool) -> None:
        """Paused, nothing is written: the file holds only the recorded intervals, back to back."""
        await self._request(self._call(call_id).worker, "pause_recording", call_id=call_id, paused=paused)

    async def stop_recording(self, call_id: str) -> RecordingInfo:
        call = self._call(call_id)
        call.recording = False
        result = await self._request(call.worker, "stop_recording", call_id=call_id)
        return RecordingInfo(path=result["path"], seconds=result["seconds"], bytes=result["bytes"])

    async def stats(self, call_id: str) -> dict[str, dict[str, Any]]:
        """Per leg, best effort: rtt_seconds, jitter_seconds, packets_lost, packets_received,
        packets_sent... (a measure is missing until aiortc has it)."""
        return await self._request(self._call(call_id).worker, "stats", call_id=call_id)

    def worker_pid(self, call_id: str) -> int | None:
        """The process carrying the call, for diagnostics."""
        call = self._calls.get(call_id)
        return call.worker.process.pid if call else None

    # Workers.

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            raise MediaError("the call has no media")
        return call

    async def _least_loaded(self) -> _Worker:
        if not self._running:
            raise MediaError("the media service is not running")
        if not self._live_workers():
            # Every worker is being restarted (one died): a new call waits for one rather than fail.
            try:
                await asyncio.wait_for(self._worker_started.wait(), self._timeout)
            except asyncio.TimeoutError:
                raise MediaError("no media worker is running") from None
        workers = self._live_workers()
        if not workers:
            raise MediaError("no media worker is running")
        load = {worker: 0 for worker in workers}
        for call in self._calls.values():
            if call.worker in load:
                load[call.worker] += len(call.legs)
        return min(workers, key=lambda worker: (load[worker], worker.slot))

    def _live_workers(self) -> list[_Worker]:
        return [worker for worker in self._workers.values() if not worker.lost]

    async def _request(self, worker: _Worker, op: str, **args: Any) -> Any:
        if worker.lost:
            raise MediaError("the call's media worker has stopped")
        request_id = next(self._request_ids)
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.pending[request_id] = reply
        try:
            await wire.send(worker.writer, {"id": request_id, "op": op, "args": args})
            return await asyncio.wait_for(reply, self._timeout)
        except asyncio.TimeoutError:
            raise MediaError("the media worker did not answer in time") from None
        except ConnectionError:
            raise MediaError("the call's media worker has stopped") from None
        finally:
            worker.pending.pop(request_id, None)

    async def _start_worker(self, slot: int) -> None:
        worker = await _Worker.start(slot, self._context, self._socket_dir, self._worker_settings)
        if not self._running:
            await self._stop_worker(worker)
            return
        self._workers[slot] = worker
        self._worker_started.set()
        self._worker_started.clear()  # wakes those waiting now; later ones wait for the next
        worker.reading = self._spawn(self._read(worker), f"media worker {slot}")

    async def _read(self, worker: _Worker) -> None:
        while (message := await wire.receive(worker.reader)) is not None:
            if "event" in message:
                self._note_event(MediaEvent(**message["event"]))
                continue
            reply = worker.pending.get(message.get("id"))
            if reply is None or reply.done():
                continue  # timed out already
            if "error" in message:
                reply.set_exception(MediaError(message["error"]))
            else:
                reply.set_result(message.get("result"))
        if self._running and self._workers.get(worker.slot) is worker:
            await self._lose(worker)

    def _note_event(self, event: MediaEvent) -> None:
        call = self._calls.get(event.call_id)
        if event.kind in ("failed", "closed") and call is not None and event.leg_id:
            call.legs.discard(event.leg_id)  # the worker has closed it
        self._events.put_nowait(event)

    async def _lose(self, worker: _Worker) -> None:
        worker.lost = True
        for reply in worker.pending.values():
            if not reply.done():
                reply.set_exception(MediaError("the call's media worker has stopped"))
        await asyncio.to_thread(worker.process.join, _STOP_TIMEOUT)
        code = worker.process.exitcode
        log.error("a media worker stopped (exit code %s); its calls have lost their audio", code)
        for call_id, call in list(self._calls.items()):
            if call.worker is worker:
                del self._calls[call_id]
                self._events.put_nowait(MediaEvent(call_id, None, "worker_lost", f"the media process stopped (exit code {code})"))
        worker.writer.close()
        while self._running:
            try:
                await self._start_worker(worker.slot)
                return
            except MediaError:
                log.error("a media worker could not be started again; retrying")
                await asyncio.sleep(_RESTART_PAUSE_SECONDS)

    async def _stop_worker(self, worker: _Worker) -> None:
        if worker.reading is not None and worker.reading is not asyncio.current_task():
            worker.reading.cancel()  # the shutdown's reply is read here instead
            await asyncio.gather(worker.reading, return_exceptions=True)
        for reply in worker.pending.values():
            if not reply.done():
                reply.set_exception(MediaError("the media service is stopping"))
        if not worker.lost and not worker.writer.is_closing():
            try:
                await asyncio.wait_for(self._request_shutdown(worker), _STOP_TIMEOUT)
            except (asyncio.TimeoutError, ConnectionError, MediaError):
                pass
        worker.lost = True
        await asyncio.to_thread(worker.process.join, _STOP_TIMEOUT)
        worker.kill()
        worker.writer.close()

    async def _request_shutdown(self, worker: _Worker) -> None:
        # Not through _request: its reader task is cancelled, so the socket can be read here.
        await wire.send(worker.writer, {"id": 0, "op": "shutdown"})
        await worker.reader.read()  # the worker closes the socket when done

    async def _deliver_events(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self._on_event(event)
            except Exception:
                log.exception("a media event's handler failed", extra={"call_id": event.call_id, "kind": event.kind})

    def _spawn(self, coroutine: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

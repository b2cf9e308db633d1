"""Chat benchmark (issue 4): visitor->agent delivery latency, messages per second sustained and
memory per idle visitor connection, for one gateway process and, in the same run, for a bare
python-socketio relay carrying the same traffic from the same clients.

Simulated visitors are python-socketio clients, up to 1,000 per process on one event loop each,
in several processes; they connect to /visitor with the demo widget key (websocket transport, as
the widget does first). Simulated agents are python-socketio clients too, in processes of their
own: each logs in over REST (an account the benchmark creates through the operator's admin API,
chat capacity 100), connects to /agent with its session cookie, sets itself available, accepts
every `task.offered` and joins the conversation, as the inbox does; it then hears the visitor's
lines as `message.created`.

At each level (1,000 then 5,000 connected visitors by default):
  1. memory: the visitors still missing connect and stay idle (connected, no chat); the server
     process's RSS growth (/proc/PID/status VmRSS) divided by the visitors added is the memory per
     idle visitor connection. The first level starts after a warm-up batch of visitors, so
     one-time costs (imports, pools, caches) are not counted.
  2. chats: a share of the visitors (--chat-share, 10 %) start a chat (start_chat) and wait until
     an agent has accepted it and joined its room.
  3. open loop: on a fixed schedule, whatever the server does, each chatting visitor sends a line
     every --line-every seconds (10: 10 msgs/s at 1,000 visitors, 50 at 5,000; --rate sets a
     total instead) for a window; each line carries the moment it was sent (time.perf_counter,
     the machine-wide monotonic clock) and the agent that hears it computes visitor->agent
     delivery latency.
  4. saturation: closed loop, --workers messages in flight in all (each sender waits for its ack,
     then sends the next): the messages per second sustained, delivered to agents.
Then the same for the bare relay: a python-socketio AsyncServer on aiohttp in its own process,
in-memory manager, no database, no Redis, no rate limit, no auth; start_chat puts the visitor in
a room and offers the conversation to the next agent (round robin), send_message emits the line
to the agents' room and back to the visitor, as the gateway's forwarder does.

The gateway runs as `run.py` in a subprocess with its own temporary data dir (SQLite), a free
port and a private redis-server (bench/private_redis.py), never the Redis on 127.0.0.1:6379.
Its visitor rate limits and the per-IP login limit are raised by environment variables (every
simulated visitor comes from 127.0.0.1 and sends far more than a person types). Not a test:
nothing is asserted. Writes bench/results/chat-<date>T<time>.json.

    .venv/bin/python bench/chat.py [--quick] [--levels 1000,5000] [--line-every 10 | --rate N] [--only gateway]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py (so named by its issue) must not hide the standard library's email package, which
# importlib.metadata and aiohttp use: this folder goes to the end of the path, after the stdlib.
_FOLDER = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _FOLDER] + [str(_FOLDER)]

import argparse
import asyncio
import contextlib
import ctypes
import datetime as dt
import json
import logging
import math
import re
import multiprocessing as mp
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from importlib import metadata
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import socketio
from aiohttp import web

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

import private_redis  # noqa: E402

VISITOR_NS = "/visitor"
AGENT_NS = "/agent"
PER_PROCESS = 1_000  # visitors per client process at the largest level
AGENT_CAPACITY = 100  # chats per simulated agent (the API's maximum per channel)
AGENT_PROCESSES = 2
AGENT_PASSWORD = "bench-agent-password"
FILLER = "Hello, I have a question about my order, could somebody help me please?"
CONNECT_IN_FLIGHT = 16  # handshakes in flight per visitor process
TARGET_P99_RATIO = 1.5
TARGET_VISITORS = 5_000
TARGET_KB_PER_IDLE_VISITOR = 20.0
KB = 1024  # /proc reports kB = KiB; so do we

# The gateway's limits that a benchmark's traffic would hit (all visitors share 127.0.0.1).
GATEWAY_ENV = {
    "WECC__REALTIME__VISITOR_EVENTS_PER_WINDOW": "100000000",
    "WECC__REALTIME__VISITOR_EVENTS_PER_IP_WINDOW": "1000000000",
    "WECC__AUTH__LOGIN_ATTEMPTS_PER_IP": "100000",
    "WECC__AUTH__LOGIN_ATTEMPTS_PER_ACCOUNT": "100000",
}


# ---------------------------------------------------------------- processes, pipes, the machine

def _die_with_parent() -> None:
    """In a child: end when the benchmark ends, even if it is killed; and room for many sockets."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    raise_open_files()


def _quiet_clients() -> None:
    """A client process counts what goes wrong (Crowd.errors) instead of logging it 5,000 times."""
    for name in ("engineio.client", "socketio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def recv(conn: Connection) -> Any:
    """Connection.recv without blocking the event loop (or a thread)."""
    loop = asyncio.get_running_loop()
    while not conn.poll():
        ready = loop.create_future()
        loop.add_reader(conn.fileno(), lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(conn.fileno())
    return conn.recv()


async def serve_commands(conn: Connection, handlers: dict[str, Callable[..., Awaitable[Any]]]) -> None:
    """A worker process's loop: (command, kwargs) in, the handler's result out; "quit" ends it."""
    while True:
        command, kwargs = await recv(conn)
        if command == "quit":
            conn.send(None)
            return
        try:
            conn.send(await handlers[command](**kwargs))
        except Exception as exc:  # noqa: BLE001 - the coordinator reports it
            conn.send({"worker_error": f"{type(exc).__name__}: {exc}"})


class Worker:
    """A client process the coordinator talks to through a pipe."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=target, args=(child, *args), daemon=True)
        self.process.start()
        child.close()

    async def ask(self, command: str, **kwargs: Any) -> Any:
        self.conn.send((command, kwargs))
        answer = await recv(self.conn)
        if isinstance(answer, dict) and "worker_error" in answer:
            raise RuntimeError(f"{command} failed in worker {self.process.pid}: {answer['worker_error']}")
        return answer

    async def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ask("quit"), 20)
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


async def ask_all(workers: list[Worker], command: str, per_worker: list[dict[str, Any]] | None = None,
                  **kwargs: Any) -> list[Any]:
    args = per_worker or [{} for _ in workers]
    return list(await asyncio.gather(*(w.ask(command, **kwargs, **a) for w, a in zip(workers, args))))


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy_jiffies() -> int | None:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "python_socketio": _version("python-socketio"),
        "python_engineio": _version("python-engineio"),
        "aiohttp": _version("aiohttp"),
        "open_files_limit": raise_open_files(),
    }


class CpuMeter:
    """CPU used during a phase by the server process, its redis-server (gateway only), the client
    processes, and everything else on the machine (the noise of a shared machine)."""

    def __init__(self, server_pid: int, redis_pid: int | None, client_pids: list[int]) -> None:
        self.server_pid, self.redis_pid, self.client_pids = server_pid, redis_pid, client_pids

    def _sample(self) -> tuple[float, float, float, float, int | None]:
        return (time.perf_counter(), cpu_seconds(self.server_pid), cpu_seconds(self.redis_pid),
                sum(cpu_seconds(p) for p in self.client_pids), _busy_jiffies())

    def start(self) -> None:
        self.first = self._sample()

    def stop(self, messages: int) -> dict[str, Any]:
        wall0, server0, redis0, clients0, busy0 = self.first
        wall1, server1, redis1, clients1, busy1 = self._sample()
        wall = wall1 - wall0
        server, red, clients = server1 - server0, redis1 - redis0, clients1 - clients0
        per = max(messages, 1)
        out: dict[str, Any] = {
            "server_cpu_us_per_message": round(server / per * 1e6, 1),
            "redis_cpu_us_per_message": round(red / per * 1e6, 1),
            "server_cores": round(server / wall, 2),
            "redis_cores": round(red / wall, 2),
            "client_processes_cores": round(clients / wall, 2),
            "other_processes_cores": None,
        }
        if busy0 is not None and busy1 is not None:
            machine_busy = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
            out["other_processes_cores"] = round(max(0.0, machine_busy - server - red - clients) / wall, 2)
        return out


# ---------------------------------------------------------------- visitors (a client process)

class Crowd:
    """Hundreds of visitors on one event loop: idle ones, and ones that have started a chat."""

    def __init__(self, url: str, widget_key: str) -> None:
        self.url, self.widget_key = url, widget_key
        self.idle: list[socketio.AsyncClient] = []
        self.chatting: list[tuple[socketio.AsyncClient, str]] = []
        self.turn = 0
        self.closing = False
        self.errors: Counter[str] = Counter()
        self.dropped: list[float] = []  # perf_counter of each disconnect the visitor did not ask for

    def _error(self, what: str, exc: BaseException | Any) -> None:
        detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
        self.errors[f"{what}: {detail[:80]}"] += 1

    def _on_disconnect(self, reason: Any = None) -> None:
        if not self.closing:
            self.dropped.append(time.perf_counter())
            self.errors[f"disconnected: {reason}"] += 1

    def _take_errors(self) -> dict[str, int]:
        errors, self.errors = dict(self.errors), Counter()
        return errors

    async def connect(self, count: int) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_IN_FLIGHT)

        async def one() -> None:
            async with gate:
                sio = socketio.AsyncClient(reconnection=False)
                sio.on("disconnect", self._on_disconnect, namespace=VISITOR_NS)
                try:
                    await sio.connect(self.url, auth={"widget_key": self.widget_key, "visitor_id": secrets.token_hex(16)},
                                      namespaces=[VISITOR_NS], transports=["websocket"], wait_timeout=60)
                except Exception as exc:  # noqa: BLE001
                    self._error("connect", exc)
                    with contextlib.suppress(Exception):
                        await sio.disconnect()
                    return
                self.idle.append(sio)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return {"seconds": time.perf_counter() - started, **await self.status()}

    async def status(self) -> dict[str, Any]:
        return {"connected": sum(s.connected for s in self.idle) + sum(s.connected for s, _ in self.chatting),
                "chatting": len(self.chatting), "dropped_at": list(self.dropped), "errors": self._take_errors()}

    async def start_chats(self, count: int) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_IN_FLIGHT)
        chosen, self.idle = self.idle[:count], self.idle[count:]

        async def one(sio: socketio.AsyncClient) -> None:
            async with gate:
                try:
                    ack = await sio.call("start_chat", {"client_id": secrets.token_hex(8), "text": FILLER, "name": "Bench visitor"},
                                         namespace=VISITOR_NS, timeout=60)
                except Exception as exc:  # noqa: BLE001
                    self._error("start_chat", exc)
                    self.idle.append(sio)  # still connected: counted, and idle
                    return
                if not isinstance(ack, dict) or not ack.get("ok"):
                    self._error("start_chat", ack)
                    self.idle.append(sio)
                    return
                self.chatting.append((sio, ack["conversation_id"]))

        started = time.perf_counter()
        await asyncio.gather(*(one(s) for s in chosen))
        return {"seconds": time.perf_counter() - started, **await self.status()}

    async def _send(self, phase: str, acks: list[float]) -> bool:
        sio, conversation_id = self.chatting[self.turn % len(self.chatting)]
        self.turn += 1
        sent_at = time.perf_counter()
        text = f"b|{phase}|{sent_at:.6f}|{FILLER}"
        try:
            ack = await sio.call("send_message", {"conversation_id": conversation_id, "client_id": secrets.token_hex(8), "text": text},
                                 namespace=VISITOR_NS, timeout=60)
        except Exception as exc:  # noqa: BLE001
            self._error("send_message", exc)
            return False
        if not isinstance(ack, dict) or not ack.get("ok"):
            self._error("send_message", ack)
            return False
        acks.append(time.perf_counter() - sent_at)
        return True

    async def open_loop(self, phase: str, rate: float, seconds: float) -> dict[str, Any]:
        """Messages on a fixed schedule, whatever the server does; each waits for its ack."""
        if not self.chatting or rate <= 0:
            return {"sent": 0, "failed": 0, "acks": [], "seconds": seconds, "late": 0, "errors": self._take_errors()}
        acks: list[float] = []
        pending: set[asyncio.Task[bool]] = set()
        total = int(rate * seconds)
        start = time.perf_counter() + 0.05
        late = 0
        for n in range(total):
            wait = start + n / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.01:
                late += 1  # this process could not keep to the schedule (the client, not the server)
            task = asyncio.ensure_future(self._send(phase, acks))
            pending.add(task)
            task.add_done_callback(pending.discard)
        elapsed = time.perf_counter() - start
        results = await asyncio.gather(*pending) if pending else []
        failed = sum(not ok for ok in results)
        return {"sent": len(acks), "failed": failed, "acks": acks, "seconds": elapsed, "late": late,
                "errors": self._take_errors()}

    async def closed_loop(self, phase: str, workers: int, seconds: float) -> dict[str, Any]:
        """`workers` senders, each sending its next line as soon as the last one is acknowledged."""
        acks: list[float] = []
        failed = 0
        if not self.chatting or workers <= 0:
            return {"sent": 0, "failed": 0, "acks": acks, "seconds": seconds, "errors": self._take_errors()}
        start = time.perf_counter()
        end = start + seconds

        async def sender() -> None:
            nonlocal failed
            while time.perf_counter() < end:
                if not await self._send(phase, acks):
                    failed += 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(sender() for _ in range(workers)))
        return {"sent": len(acks), "failed": failed, "acks": acks, "seconds": time.perf_counter() - start,
                "errors": self._take_errors()}

    async def close(self) -> dict[str, Any]:
        self.closing = True
        sockets = self.idle + [s for s, _ in self.chatting]
        gate = asyncio.Semaphore(64)

        async def one(sio: socketio.AsyncClient) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sio.disconnect(), 10)

        await asyncio.gather(*(one(s) for s in sockets))
        self.idle, self.chatting = [], []
        return {}


def visitor_process(conn: Connection, url: str, widget_key: str) -> None:
    _die_with_parent()
    _quiet_clients()

    async def main() -> None:
        crowd = Crowd(url, widget_key)
        await serve_commands(conn, {"connect": crowd.connect, "status": crowd.status, "start_chats": crowd.start_chats,
                                    "open_loop": crowd.open_loop, "closed_loop": crowd.closed_loop, "close": crowd.close})
        await crowd.close()

    asyncio.run(main())


# ---------------------------------------------------------------- agents (a client process)

class Desk:
    """Simulated agents: accept every offer, join the conversation, time every visitor line."""

    def __init__(self, url: str, accounts: list[tuple[str, str] | None]) -> None:
        self.url, self.accounts = url, accounts
        self.sockets: list[socketio.AsyncClient] = []
        self.joined = 0
        self.offers = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()

    async def _login(self, email: str, password: str) -> str:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.post(f"{self.url}/api/v1/auth/login", json={"email": email, "password": password}) as resp:
                body = await resp.json()
                if resp.status != 200:
                    raise RuntimeError(f"login {email}: {resp.status} {body}")
                return resp.cookies["wecc_session"].value

    async def start(self) -> dict[str, Any]:
        for account in self.accounts:
            headers = {}
            if account is not None:
                headers["Cookie"] = f"wecc_session={await self._login(*account)}"
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("task.offered", self._offer_handler(sio), namespace=AGENT_NS)
            sio.on("message.created", self._on_message, namespace=AGENT_NS)
            await sio.connect(self.url, headers=headers, namespaces=[AGENT_NS], transports=["websocket"], wait_timeout=30)
            ack = await sio.call("presence", {"status": "available"}, namespace=AGENT_NS, timeout=30)
            if not isinstance(ack, dict) or not ack.get("ok"):
                raise RuntimeError(f"presence: {ack}")
            self.sockets.append(sio)
        return await self.status()

    def _offer_handler(self, sio: socketio.AsyncClient) -> Callable[[Any], Awaitable[None]]:
        async def on_offer(data: Any) -> None:
            self.offers += 1
            try:
                ack = await sio.call("accept_task", {"task_id": data["task_id"]}, namespace=AGENT_NS, timeout=60)
                if not ack.get("ok"):
                    self.errors[f"accept_task: {ack.get('code')}"] += 1
                    return
                ack = await sio.call("join_conversation", {"conversation_id": data["conversation_id"]}, namespace=AGENT_NS, timeout=60)
                if not ack.get("ok"):
                    self.errors[f"join_conversation: {ack.get('code')}"] += 1
                    return
            except Exception as exc:  # noqa: BLE001
                self.errors[f"offer: {type(exc).__name__}: {str(exc)[:60]}"] += 1
                return
            self.joined += 1
        return on_offer

    async def _on_message(self, data: Any) -> None:
        received = time.perf_counter()
        message = (data or {}).get("message") or {}
        text = message.get("body_text") or ""
        if message.get("author_type") == "contact" and text.startswith("b|"):
            _, phase, sent_at, _ = text.split("|", 3)
            self.latencies[phase].append(received - float(sent_at))

    async def status(self) -> dict[str, Any]:
        return {"joined": self.joined, "offers": self.offers, "connected": sum(s.connected for s in self.sockets),
                "received": {phase: len(v) for phase, v in self.latencies.items()}, "errors": dict(self.errors)}

    async def latencies_of(self, phase: str) -> list[float]:
        return self.latencies.pop(phase, [])

    async def close(self) -> dict[str, Any]:
        for sio in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.disconnect(), 10)
        self.sockets = []
        return {}


def agent_process(conn: Connection, url: str, accounts: list[tuple[str, str] | None]) -> None:
    _die_with_parent()
    _quiet_clients()

    async def main() -> None:
        desk = Desk(url, accounts)
        await serve_commands(conn, {"start": desk.start, "status": desk.status, "latencies": desk.latencies_of,
                                    "close": desk.close})
        await desk.close()

    asyncio.run(main())


# ---------------------------------------------------------------- the bare relay (its own process)

def serve_relay(port: int) -> None:
    """A bare python-socketio relay: the same events as the gateway, none of its work."""
    raise_open_files()
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app, socketio_path="socket.io")
    agents: list[str] = []
    turn = 0

    def message(conversation_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": secrets.token_hex(8), "client_id": data.get("client_id"), "kind": "message", "author_type": "contact",
                "body_text": str(data.get("text", "")), "body_html": None, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                "conversation_id": conversation_id}

    async def relay(sid: str, conversation_id: str, data: dict[str, Any]) -> dict[str, Any]:
        said = message(conversation_id, data)
        event = {"conversation_id": conversation_id, "message": said}
        await sio.emit("message.created", event, to=f"conversation:{conversation_id}", namespace=AGENT_NS)
        await sio.emit("message.created", event, to=f"conversation:{conversation_id}", namespace=VISITOR_NS)
        return said

    @sio.on("connect", namespace=VISITOR_NS)
    async def visitor_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if not isinstance(auth, dict) or not auth.get("visitor_id"):
            return False
        await sio.save_session(sid, {"visitor_id": auth["visitor_id"]}, namespace=VISITOR_NS)
        await sio.enter_room(sid, f"visitor:{auth['visitor_id']}", namespace=VISITOR_NS)
        return True

    @sio.on("start_chat", namespace=VISITOR_NS)
    async def start_chat(sid: str, data: Any = None) -> dict[str, Any]:
        nonlocal turn
        conversation_id = secrets.token_hex(12)
        await sio.enter_room(sid, f"conversation:{conversation_id}", namespace=VISITOR_NS)
        said = await relay(sid, conversation_id, data or {})
        if agents:
            turn += 1
            await sio.emit("task.offered", {"task_id": conversation_id, "conversation_id": conversation_id},
                           to=agents[turn % len(agents)], namespace=AGENT_NS)
        return {"ok": True, "conversation_id": conversation_id, "message": said}

    @sio.on("send_message", namespace=VISITOR_NS)
    async def send_message(sid: str, data: Any = None) -> dict[str, Any]:
        data = data or {}
        return {"ok": True, "message": await relay(sid, str(data.get("conversation_id")), data)}

    @sio.on("connect", namespace=AGENT_NS)
    async def agent_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        agents.append(sid)

    @sio.on("disconnect", namespace=AGENT_NS)
    async def agent_disconnect(sid: str, reason: Any = None) -> None:
        with contextlib.suppress(ValueError):
            agents.remove(sid)

    @sio.on("presence", namespace=AGENT_NS)
    async def presence(sid: str, data: Any = None) -> dict[str, Any]:
        return {"ok": True, "status": (data or {}).get("status")}

    @sio.on("accept_task", namespace=AGENT_NS)
    async def accept_task(sid: str, data: Any = None) -> dict[str, Any]:
        return {"ok": True, "task_id": (data or {}).get("task_id")}

    @sio.on("join_conversation", namespace=AGENT_NS)
    async def join_conversation(sid: str, data: Any = None) -> dict[str, Any]:
        await sio.enter_room(sid, f"conversation:{(data or {}).get('conversation_id')}", namespace=AGENT_NS)
        return {"ok": True}

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    app.router.add_get("/readyz", ready)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


# ---------------------------------------------------------------- the servers under test

class Server:
    """A server process under test: the gateway (run.py) or the bare relay."""

    def __init__(self, kind: str, process: subprocess.Popen[bytes], url: str, log: Path,
                 redis: subprocess.Popen[bytes] | None = None) -> None:
        self.kind, self.process, self.url, self.log, self.redis = kind, process, url, log, redis

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.redis is not None:
            private_redis.stop(self.redis)


async def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if not server.alive():
                raise RuntimeError(f"the {server.kind} exited ({server.process.returncode}):\n{server.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{server.url}/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the {server.kind} did not get ready in {timeout:.0f} s:\n{server.log_tail()}")


async def start_gateway(workdir: Path, database_url: str = "", launcher: list[str] | None = None,
                        config: Path = ROOT / "config.toml") -> Server:
    """`launcher`: what runs run.py (default: this Python), e.g. bench/gc_watch.py to time collections;
    `config`: another config file (bench/sip.py adds a SIP trunk to config.toml)."""
    redis, redis_port = private_redis.start(str(workdir))
    port = free_port()
    env = {**os.environ, **GATEWAY_ENV,
           "WECC__SERVER__HOST": "127.0.0.1", "WECC__SERVER__PORT": str(port),
           "WECC__DATA__DIR": str(workdir / "data"), "WECC__REDIS__URL": f"redis://127.0.0.1:{redis_port}/0"}
    if database_url:  # e.g. PostgreSQL, as in production; empty: the embedded SQLite in the temp dir
        env["WECC__DATABASE__URL"] = database_url
    log = workdir / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*(launcher or [sys.executable]), str(ROOT / "run.py"), "--config", str(config)], cwd=ROOT,
                                   env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   preexec_fn=_die_with_parent)
    server = Server("gateway", process, f"http://127.0.0.1:{port}", log, redis)
    try:
        await _wait_ready(server, 120)
    except BaseException:
        server.stop()
        raise
    return server


async def start_relay(workdir: Path) -> Server:
    port = free_port()
    log = workdir / "relay.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-relay", str(port)], cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    server = Server("relay", process, f"http://127.0.0.1:{port}", log)
    try:
        await _wait_ready(server, 30)
    except BaseException:
        server.stop()
        raise
    return server


async def create_agents(url: str, demo: dict[str, Any], count: int) -> list[tuple[str, str]]:
    """Agent accounts in the demo tenant, made by the operator, chat capacity AGENT_CAPACITY."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async def call(method: str, path: str, expect: int, csrf: str | None = None, **kwargs: Any) -> Any:
            headers = {"X-CSRF-Token": csrf} if csrf else {}
            async with http.request(method, f"{url}/api/v1{path}", headers=headers, **kwargs) as resp:
                body = await resp.json()
                if resp.status != expect:
                    raise RuntimeError(f"{method} {path}: {resp.status} {body}")
                return body

        me = await call("POST", "/auth/login", 200, json={"email": demo["operator_email"], "password": demo["operator_password"]})
        csrf = me["csrf_token"]
        tenants = (await call("GET", "/tenants", 200))["items"]
        tenant_id = next(t["id"] for t in tenants if t["slug"] == demo["tenant_slug"])
        seats = await call("GET", f"/tenants/{tenant_id}/seats", 200)
        await call("PATCH", f"/tenants/{tenant_id}", 200, csrf, json={"seat_limit": seats["seats_used"] + count + 10})
        accounts = []
        for n in range(count):
            email = f"bench-agent-{n}@{demo['tenant_slug']}.example"
            await call("POST", f"/tenants/{tenant_id}/members", 201, csrf, json={
                "email": email, "name": f"Bench agent {n}", "password": AGENT_PASSWORD, "role": "agent",
                "capacity": {"chat": AGENT_CAPACITY}})
            accounts.append((email, AGENT_PASSWORD))
        return accounts


# ---------------------------------------------------------------- the run against one server

class Run:
    """Every level against one server: connect, measure memory, chat, open loop, saturation."""

    def __init__(self, server: Server, opts: argparse.Namespace, widget_key: str, agents: list[tuple[str, str] | None]) -> None:
        self.server, self.opts = server, opts
        processes = max(2, math.ceil(max(opts.levels) / PER_PROCESS))
        self.visitors = [Worker(visitor_process, server.url, widget_key) for _ in range(processes)]
        shares = [agents[n::AGENT_PROCESSES] for n in range(AGENT_PROCESSES)]
        self.desks = [Worker(agent_process, server.url, share) for share in shares if share]
        self.connected = self.chats = 0
        self.errors: Counter[str] = Counter()
        self.marks: list[tuple[float, str]] = []  # (perf_counter, what began): to place dropped visitors

    def mark(self, what: str) -> None:
        self.marks.append((time.perf_counter(), what))

    def dropped_during(self, times: list[float]) -> dict[str, int]:
        """Visitors the server disconnected, by the phase that was running then."""
        during: Counter[str] = Counter()
        for at in times:
            during[next((what for began, what in reversed(self.marks) if began <= at), "start")] += 1
        return dict(during)

    def _count(self, answers: list[dict[str, Any]]) -> None:
        for answer in answers:
            self.errors.update(answer.get("errors", {}))

    def cpu(self) -> CpuMeter:
        pids = [w.process.pid for w in self.visitors + self.desks if w.process.pid]
        return CpuMeter(self.server.pid, self.server.redis.pid if self.server.redis else None, pids)

    async def desk_status(self) -> dict[str, Any]:
        answers = await ask_all(self.desks, "status")
        received: Counter[str] = Counter()
        for a in answers:
            received.update(a["received"])
        return {"joined": sum(a["joined"] for a in answers), "offers": sum(a["offers"] for a in answers),
                "connected": sum(a["connected"] for a in answers), "received": received,
                "errors": sum((Counter(a["errors"]) for a in answers), Counter())}

    async def start(self) -> None:
        await ask_all(self.desks, "start")

    async def connect(self, total: int) -> dict[str, Any]:
        before = self.connected
        self.mark(f"connecting to {total}")
        answers = await ask_all(self.visitors, "connect", [{"count": n} for n in split(total - before, len(self.visitors))])
        self._count(answers)
        self.connected = sum(a["connected"] for a in answers)
        seconds = max(a["seconds"] for a in answers)
        return {"asked": total - before, "added": self.connected - before, "connected": self.connected,
                "seconds": round(seconds, 1), "per_s": round((self.connected - before) / max(seconds, 1e-6), 1)}

    async def rss_settled(self) -> int:
        await asyncio.sleep(self.opts.settle)
        return rss_kb(self.server.pid)

    async def start_chats(self, total: int) -> dict[str, Any]:
        add = total - self.chats
        self.mark(f"starting chats to {total}")
        started = time.perf_counter()
        answers = await ask_all(self.visitors, "start_chats", [{"count": n} for n in split(add, len(self.visitors))])
        self._count(answers)
        self.chats = sum(a["chatting"] for a in answers)
        deadline = time.monotonic() + 120
        while (status := await self.desk_status())["joined"] < self.chats and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        return {"chats": self.chats, "agents_joined": status["joined"], "seconds": round(time.perf_counter() - started, 1)}

    async def _drain(self, phase: str, sent: int, patience: float = 15.0) -> None:
        """Wait until the agents heard every acknowledged line, or heard nothing new for `patience` s
        (a server that fell behind delivers its backlog late; only what never comes is lost)."""
        heard, last_progress = -1, time.monotonic()
        while (now_heard := (await self.desk_status())["received"].get(phase, 0)) < sent:
            if now_heard > heard:
                heard, last_progress = now_heard, time.monotonic()
            elif time.monotonic() - last_progress > patience:
                return
            await asyncio.sleep(0.2)

    async def _latencies(self, phase: str) -> list[float]:
        return [x for part in await ask_all(self.desks, "latencies", phase=phase) for x in part]

    async def traffic(self, phase: str, command: str, seconds: float, per_worker: list[dict[str, Any]]) -> dict[str, Any]:
        """One phase of messages (open or closed loop); then waits until the agents heard them all."""
        meter = self.cpu()
        meter.start()
        self.mark(phase)
        answers = await ask_all(self.visitors, command, per_worker, phase=phase, seconds=seconds)
        sent = sum(a["sent"] for a in answers)
        failed = sum(a["failed"] for a in answers)
        elapsed = max(a["seconds"] for a in answers)
        used = meter.stop(sent)
        self.mark(f"{phase} drain")
        await self._drain(phase, sent + failed)
        self.mark(f"after {phase}")
        self._count(answers)
        latencies = await self._latencies(phase)
        acks = [x for a in answers for x in a["acks"]]
        return {
            "messages_acked": sent,
            # an error ack or none within 60 s; such a line may still have been stored and delivered
            "messages_failed": failed,
            "messages_delivered": len(latencies),
            # acknowledged (stored) lines no agent heard; delivered can exceed acked by failed ones
            "lost": max(0, sent - len(latencies)),
            "sent_per_s": round(sent / elapsed, 1),
            "delivered_per_s": round(len(latencies) / elapsed, 1),
            "latency_ms_p50": _ms(percentile(latencies, 50)),
            "latency_ms_p99": _ms(percentile(latencies, 99)),
            "latency_ms_max": _ms(max(latencies) if latencies else None),
            "ack_ms_p50": _ms(percentile(acks, 50)),
            "ack_ms_p99": _ms(percentile(acks, 99)),
            "late_sends": sum(a.get("late", 0) for a in answers),
            "seconds": round(elapsed, 2),
            **used,
        }

    async def level(self, visitors: int, first: bool) -> dict[str, Any]:
        opts = self.opts
        out: dict[str, Any] = {"visitors": visitors}
        if first:  # one-time costs (first connections, pools, caches) are not a visitor's
            warm = min(opts.warmup_visitors, visitors // 2)
            await self.connect(warm)
        before = await self.rss_settled()
        connect = await self.connect(visitors)
        after = await self.rss_settled()
        out["connect"] = connect
        out["memory"] = {
            "rss_kb_before": before, "rss_kb_after": after, "visitors_added": connect["added"],
            "kb_per_idle_visitor": round((after - before) / max(connect["added"], 1), 2),
        }
        print(f"    {visitors:>5} connected in {connect['seconds']} s ({connect['per_s']}/s); RSS {before / KB:.0f} -> "
              f"{after / KB:.0f} MB: {out['memory']['kb_per_idle_visitor']:.1f} KB per idle visitor", flush=True)
        chats = max(1, round(visitors * opts.chat_share))
        out["chats"] = await self.start_chats(chats)
        print(f"    {out['chats']['chats']} chats, {out['chats']['agents_joined']} joined by agents "
              f"({out['chats']['seconds']} s)", flush=True)
        tag = f"{self.server.kind}-{visitors}"
        rate = opts.rate or out["chats"]["chats"] / opts.line_every
        rates = [{"rate": rate / len(self.visitors)} for _ in self.visitors]
        await self.traffic(f"{tag}-warm", "open_loop", opts.warmup, rates)
        out["open_loop"] = r = await self.traffic(f"{tag}-open", "open_loop", opts.window, rates)
        r["rate_per_s"] = round(rate, 2)
        print(f"    open loop {rate:g}/s: delivered {r['delivered_per_s']}/s, visitor->agent p50 {r['latency_ms_p50']} ms, "
              f"p99 {r['latency_ms_p99']} ms, max {r['latency_ms_max']} ms; ack p99 {r['ack_ms_p99']} ms; failed {r['messages_failed']}, "
              f"lost {r['lost']} "
              f"({_cpu_text(r)})", flush=True)
        workers = [{"workers": n} for n in split(opts.workers, len(self.visitors))]
        out["saturation"] = s = await self.traffic(f"{tag}-sat", "closed_loop", opts.window, workers)
        s["workers"] = opts.workers
        print(f"    saturation ({opts.workers} in flight): {s['delivered_per_s']} msgs/s delivered, p50 {s['latency_ms_p50']} ms, "
              f"p99 {s['latency_ms_p99']} ms; failed {s['messages_failed']}, lost {s['lost']} ({_cpu_text(s)})", flush=True)
        status = await ask_all(self.visitors, "status")
        self._count(status)
        desks = await self.desk_status()
        out["still_connected"] = {"visitors": sum(a["connected"] for a in status), "agents": desks["connected"]}
        return out

    async def all_errors(self) -> dict[str, Any]:
        """The visitors' errors so far and the agents' (which the agents keep counting), and when
        visitors were dropped."""
        status = await ask_all(self.visitors, "status")
        self._count(status)
        dropped = self.dropped_during([at for a in status for at in a["dropped_at"]])
        return {"errors": dict(self.errors + (await self.desk_status())["errors"]), "visitors_dropped_during": dropped}

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(w.ask("close") for w in self.visitors + self.desks))
        await asyncio.gather(*(w.close() for w in self.visitors + self.desks))


def _cpu_text(r: dict[str, Any]) -> str:
    text = f"server CPU {r['server_cpu_us_per_message']:.0f} us/msg"
    if r["redis_cores"]:
        text += f" + redis {r['redis_cpu_us_per_message']:.0f} us"
    text += f"; clients {r['client_processes_cores']:.2f} cores"
    other = r["other_processes_cores"]
    return text if other is None else f"{text}, other processes {other:.2f} cores"


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (WARNING|ERROR|CRITICAL) (\S+): (.*)$")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\b.*")
_FIELDS = re.compile(r"(\s+\w+=\S*)+$")  # the text format's key=value fields at the end of a record
_OWN_FRAME = re.compile(r'^\s+File ".*/((?:gateway|channels)/[^"]+)", line (\d+), in (\S+)')


def log_problems(log: Path) -> dict[str, int]:
    """The server's WARNING and ERROR lines (config.toml's text format), counted by logger, message,
    the exception that ended the traceback under them and the gateway's innermost frame in it."""
    problems: Counter[str] = Counter()
    record: dict[str, str] | None = None

    def close() -> None:
        if record is not None:
            text = record["head"]
            if record["exception"]:
                text += f" -> {record['exception'][:160]}"
            if record["frame"]:
                text += f" (at {record['frame']})"
            problems[text] += 1

    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            if line[:4].isdigit() and line[4:5] == "-":  # a new log record
                close()
                found = _LOG_LINE.match(line)
                record = None if found is None else {
                    "head": f"{found.group(1)} {found.group(2)}: {_FIELDS.sub('', found.group(3))[:160]}",
                    "exception": "", "frame": ""}
            elif record is not None:
                if frame := _OWN_FRAME.match(line):
                    record["frame"] = f"{frame.group(1)}:{frame.group(2)} {frame.group(3)}"
                elif _EXCEPTION.match(line):
                    record["exception"] = _FIELDS.sub("", line.strip())
        close()
    return dict(problems.most_common(20))


async def bench_server(kind: str, opts: argparse.Namespace, demo: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"wecc-bench-chat-{kind}-") as tmp:
        workdir = Path(tmp)
        server = await (start_gateway(workdir, opts.database_url) if kind == "gateway" else start_relay(workdir))
        run: Run | None = None
        result: dict[str, Any] = {"levels": []}
        try:
            agents_needed = max(1, math.ceil(round(max(opts.levels) * opts.chat_share) / AGENT_CAPACITY))
            if kind == "gateway":
                accounts: list[tuple[str, str] | None] = list(await create_agents(server.url, demo, agents_needed))
            else:
                accounts = [None] * agents_needed
            run = Run(server, opts, demo["widget_key"], accounts)
            await run.start()
            result["agents"] = agents_needed
            result["visitor_processes"] = len(run.visitors)
            result["rss_kb_at_start"] = rss_kb(server.pid)
            print(f"  {kind}: pid {server.pid} at {server.url}, {agents_needed} agents, {len(run.visitors)} visitor processes",
                  flush=True)
            for n, visitors in enumerate(opts.levels):
                result["levels"].append(await run.level(visitors, first=n == 0))
                if not server.alive():
                    raise RuntimeError(f"the {kind} died:\n{server.log_tail()}")
        except Exception as exc:  # noqa: BLE001 - report what was measured, and why it stopped
            result["failed"] = f"{type(exc).__name__}: {exc}"
            print(f"  {kind} FAILED: {result['failed']}", flush=True)
        finally:
            if run is not None:
                with contextlib.suppress(Exception):
                    result.update(await asyncio.wait_for(run.all_errors(), 30))
                await run.close()
            result["alive_at_end"] = server.alive()
            server.stop()
            result["log_problems"] = log_problems(server.log)
        if result.get("errors"):
            print(f"  {kind} client errors: {result['errors']}", flush=True)
        if result.get("visitors_dropped_during"):
            print(f"  {kind} dropped visitors, by phase: {result['visitors_dropped_during']}", flush=True)
        for problem, count in result.get("log_problems", {}).items():
            print(f"  {kind} log: {count} x {problem}", flush=True)
        return result


def _demo_settings() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from gateway.config import load_config  # the gateway's own reading of config.toml and WECC__ variables

    config = load_config(ROOT / "config.toml")
    return config.demo.model_dump()


def _level(result: dict[str, Any], visitors: int) -> dict[str, Any] | None:
    return next((lv for lv in result.get("levels", []) if lv["visitors"] == visitors), None)


def compare(gateway: dict[str, Any], relay: dict[str, Any], levels: list[int]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    for visitors in levels:
        gw, rl = _level(gateway, visitors), _level(relay, visitors)
        if gw is None:
            continue
        row: dict[str, Any] = {"visitors": visitors}

        def ratio(a: float | None, b: float | None) -> float | None:
            return round(a / b, 2) if a is not None and b else None

        if rl is not None:
            row["p50_ratio"] = ratio(gw["open_loop"]["latency_ms_p50"], rl["open_loop"]["latency_ms_p50"])
            row["p99_ratio"] = ratio(gw["open_loop"]["latency_ms_p99"], rl["open_loop"]["latency_ms_p99"])
            row["throughput_ratio"] = ratio(gw["saturation"]["delivered_per_s"], rl["saturation"]["delivered_per_s"])
            row["memory_ratio"] = ratio(gw["memory"]["kb_per_idle_visitor"], rl["memory"]["kb_per_idle_visitor"])
        rows.append(row)
    top = max(levels)
    gw_top = _level(gateway, top)
    met = {
        "p99_within_1.5x_relay": bool(rows) and all(r.get("p99_ratio") is not None and r["p99_ratio"] <= TARGET_P99_RATIO for r in rows),
        # None: not measured (no level of 5,000 visitors in this run)
        "5000_visitors_one_process": None if top < TARGET_VISITORS else bool(
            gw_top is not None and gw_top["still_connected"]["visitors"] >= TARGET_VISITORS
            and not gateway.get("visitors_dropped_during") and not gateway.get("failed")
            and all(gw_top[phase]["lost"] == 0 and gw_top[phase]["messages_failed"] == 0 for phase in ("open_loop", "saturation"))
            and gateway.get("alive_at_end")),
        "20kb_per_idle_visitor": bool(gateway.get("levels")) and all(
            lv["memory"]["kb_per_idle_visitor"] <= TARGET_KB_PER_IDLE_VISITOR for lv in gateway["levels"]),
    }
    return rows, met


def print_table(gateway: dict[str, Any], relay: dict[str, Any], levels: list[int]) -> None:
    print()
    print(f"  {'visitors':>8} {'server':<8} {'KB/idle':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'ack p99':>8} "
          f"{'sat msg/s':>9} {'sat p99':>8} {'sat CPU':>7} {'failed':>6} {'lost':>5}")
    for visitors in levels:
        for kind, result in (("gateway", gateway), ("relay", relay)):
            lv = _level(result, visitors)
            if lv is None:
                continue
            o, s = lv["open_loop"], lv["saturation"]
            print(f"  {visitors:>8} {kind:<8} {lv['memory']['kb_per_idle_visitor']:>8.1f} {o['latency_ms_p50']!s:>8} "
                  f"{o['latency_ms_p99']!s:>8} {o['latency_ms_max']!s:>8} {o['ack_ms_p99']!s:>8} {s['delivered_per_s']:>9.0f} "
                  f"{s['latency_ms_p99']!s:>8} {s['server_cpu_us_per_message']:>7.0f} "
                  f"{o['messages_failed'] + s['messages_failed']:>6} {o['lost'] + s['lost']:>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 visitors, 5 s windows: a ~1 min look")
    parser.add_argument("--levels", default=None, help="connected visitors per level (default 1000,5000; quick 200)")
    parser.add_argument("--line-every", type=float, default=None,
                        help="open loop: each chatting visitor sends a line every this many seconds (default 10; quick 2)")
    parser.add_argument("--rate", type=float, default=None, help="open loop: a fixed total rate in messages/s instead")
    parser.add_argument("--workers", type=int, default=None, help="saturation: messages in flight (default 50; quick 20)")
    parser.add_argument("--chat-share", type=float, default=0.1, help="share of the connected visitors that chat")
    parser.add_argument("--window", type=float, default=None, help="seconds per measured phase (default 20; quick 5)")
    parser.add_argument("--only", choices=("gateway", "relay"), help="one server only (no ratios)")
    parser.add_argument("--database-url", default="",
                        help="the gateway's database, e.g. postgresql+asyncpg://postgres@127.0.0.1/wecc_bench (an empty one); "
                             "default: embedded SQLite")
    parser.add_argument("--out", default=str(BENCH / "results"))
    parser.add_argument("--serve-relay", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_relay:
        serve_relay(opts.serve_relay)
        return
    opts.levels = [int(x) for x in (opts.levels or ("200" if opts.quick else "1000,5000")).split(",")]
    opts.line_every = opts.line_every or (2.0 if opts.quick else 10.0)
    opts.workers = opts.workers or (20 if opts.quick else 50)
    opts.window = opts.window or (5.0 if opts.quick else 30.0)
    opts.warmup = 1.0 if opts.quick else 3.0
    opts.settle = 1.0 if opts.quick else 3.0
    opts.warmup_visitors = 20 if opts.quick else 50
    asyncio.run(run_bench(opts))


async def run_bench(opts: argparse.Namespace) -> None:
    raise_open_files()
    demo = _demo_settings()
    host = machine()
    started = time.time()
    open_loop = f"{opts.rate:g} msgs/s" if opts.rate else f"a line every {opts.line_every:g} s per chat"
    print(f"chat bench: levels {opts.levels} visitors, {opts.chat_share:.0%} chatting, open loop {open_loop}, "
          f"saturation {opts.workers} in flight, {opts.window:g} s windows", flush=True)
    kinds = [opts.only] if opts.only else ["gateway", "relay"]
    results = {kind: await bench_server(kind, opts, demo) for kind in kinds}
    gateway, relay = results.get("gateway", {}), results.get("relay", {})
    print_table(gateway, relay, opts.levels)
    rows, met = compare(gateway, relay, opts.levels)
    for row in rows:
        print(f"  {row['visitors']} visitors: gateway/relay p50 {row.get('p50_ratio')}x, p99 {row.get('p99_ratio')}x, "
              f"saturation throughput {row.get('throughput_ratio')}x, memory per idle visitor {row.get('memory_ratio')}x")
    verdict = {True: "met", False: "NOT met", None: "not measured"}
    print("  targets: " + ", ".join(f"{name} {verdict[ok]}" for name, ok in met.items())
          + f" (load average now {os.getloadavg()[0]:.2f})")
    result = {
        "benchmark": "chat",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": host,
        "quick": opts.quick,
        "setup": {
            "levels": opts.levels, "chat_share": opts.chat_share, "open_loop_rate_per_s": opts.rate,
            "open_loop_line_every_s": None if opts.rate else opts.line_every,
            "saturation_in_flight": opts.workers, "window_s": opts.window, "warmup_s": opts.warmup,
            "database": opts.database_url.split(":", 1)[0] if opts.database_url else "sqlite (embedded)",
            "visitors_per_process_max": PER_PROCESS, "agent_processes": AGENT_PROCESSES, "agent_chat_capacity": AGENT_CAPACITY,
            "transport": "websocket", "gateway_env": GATEWAY_ENV,
            "latency": "from the visitor's send_message call (time in the text) to the agent's message.created handler",
            "memory": "server RSS growth while the level's idle visitors connected, divided by their number (KB = 1024 bytes)",
        },
        "gateway": gateway,
        "relay": relay,
        "ratios": rows,
        "targets": {
            "p99_ratio_to_relay_max": TARGET_P99_RATIO,
            "visitors_on_one_process": TARGET_VISITORS,
            "kb_per_idle_visitor_max": TARGET_KB_PER_IDLE_VISITOR,
            "met": met,
        },
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "wall_time_s": round(time.time() - started, 1),
    }
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"chat-{dt.datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {path}")


if __name__ == "__main__":
    main()

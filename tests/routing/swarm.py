"""A small call center for the multi-process routing test: N gateway processes (`python run.py`)
sharing one PostgreSQL and one Redis, scripted agents on socket.io who take every offer, and
a REST client that queues work. Everything a test needs to start, disturb and stop it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import signal
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
NAMESPACE = "/agent"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- gateway processes


@dataclass
class Node:
    """One gateway process."""

    index: int
    config_path: Path
    port: int
    process: asyncio.subprocess.Process | None = None
    killed: bool = False
    _drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.config_path.with_suffix(".stderr")

    @property
    def alive(self) -> bool:
        return not self.killed and self.process is not None and self.process.returncode is None

    def stderr_tail(self, lines: int = 25) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def start(self) -> None:
        with self.stderr_path.open("ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "run.py", "--config", str(self.config_path),
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=stderr, stdin=asyncio.subprocess.DEVNULL,
            )
        assert self.process.stdout is not None
        lines: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not any(line.startswith("  Demo operator:") for line in lines):
                    raw = await self.process.stdout.readline()
                    if not raw:
                        await self.process.wait()
                        raise RuntimeError(f"gateway {self.index} exited with {self.process.returncode} before its banner:\n"
                                           f"{self.stderr_tail(60)}")
                    lines.append(raw.decode().rstrip("\n"))
        except TimeoutError:
            raise RuntimeError(f"gateway {self.index}: no banner within {START_TIMEOUT} s; got {lines}\n{self.stderr_tail(60)}") from None
        self._drain = asyncio.create_task(self._drain_stdout())  # never let a full pipe block it

    async def _drain_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while await self.process.stdout.read(65536):
            pass

    async def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no goodbye to sockets or Redis."""
        self.killed = True
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain


class Cluster:
    def __init__(self, base_dir: Path, *, database_url: str, redis_url: str, channel: str, size: int = 3,
                 routing: dict[str, float] | None = None) -> None:
        self.nodes: list[Node] = []
        # Agents are never set away for missed offers here: on a busy 2-core machine an offer can
        # reach its agent after the 3 s ring, and nothing tells an inbox that routing set it away.
        routing = {"ring_seconds": 3.0, "tick_seconds": 0.1, "sticky_seconds": 0.0, "wrapup_seconds": 60.0,
                   "max_missed_offers": 100, **(routing or {})}
        for index in range(size):
            node_dir = base_dir / f"node{index}"
            node_dir.mkdir(parents=True, exist_ok=True)
            port = free_port()
            config_path = node_dir / "wecc.toml"
            config_path.write_text(
                f'[server]\nhost = "127.0.0.1"\nport = {port}\nshutdown_timeout_seconds = 1.0\n'
                f'[data]\ndir = "{node_dir / "data"}"\n'
                f'[database]\nurl = "{database_url}"\npool_size = 8\n'
                f'[redis]\nurl = "{redis_url}"\n'
                f'[realtime]\nchannel = "{channel}"\n'
                "[routing]\n" + "".join(f"{key} = {value!r}\n" for key, value in routing.items()) +
                "[auth]\nlogin_attempts_per_ip = 1000000\nlogin_attempts_per_account = 1000\n"
                '[logging]\nlevel = "WARNING"\nformat = "text"\n'
            )
            self.nodes.append(Node(index, config_path, port))

    async def start(self) -> None:
        """All at once: they migrate and seed the same demo world concurrently."""
        await asyncio.gather(*(node.start() for node in self.nodes))

    def live(self) -> list[Node]:
        return [node for node in self.nodes if node.alive]

    async def stop(self) -> None:
        for node in self.nodes:
            await node.kill()

    def stderr_report(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- gateway {n.index} ({'alive' if n.alive else 'killed' if n.killed else 'exited'}) stderr, last {lines} lines:\n"
            f"{n.stderr_tail(lines)}"
            for n in self.nodes
        )


# --------------------------------------------------------------------------- REST


class ApiFailed(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class Rest:
    """JSON over HTTP against whichever gateway is alive; a request that dies with its gateway is
    retried on another (the callers make that safe)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=200),
                                          timeout=aiohttp.ClientTimeout(total=60))
        self._rr = itertools.count()
        self._logins = asyncio.Semaphore(4)  # argon2: more at once only queue up in the gateways

    async def close(self) -> None:
        await self.http.close()

    def pick(self, prefer: int | None = None) -> Node:
        live = self.cluster.live()
        if not live:
            raise RuntimeError("no gateway is alive")
        if prefer is not None:
            return live[prefer % len(live)]
        return live[next(self._rr) % len(live)]

    async def once(self, node: Node, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
                   ) -> tuple[int, Any, Any]:
        async with self.http.request(method, node.url + path, json=json, headers=headers or {}) as resp:
            body = await resp.json() if resp.status != 204 else None
            return resp.status, body, resp.cookies

    async def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), json: Any = None,
                   headers: dict[str, str] | None = None, prefer: int | None = None, attempts: int = 6) -> tuple[int, Any, Any]:
        for attempt in range(attempts):
            node = self.pick(prefer if attempt == 0 else None)
            try:
                status, body, cookies = await self.once(node, method, path, json=json, headers=headers)
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                await asyncio.sleep(0.2)
                continue
            if status in expect:
                return status, body, cookies
            if status >= 500 or status == 429:
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            raise ApiFailed(status, body)
        raise ApiFailed(0, f"{method} {path}: no gateway answered after {attempts} attempts")

    async def login(self, email: str, password: str, prefer: int | None = None) -> tuple[str, dict[str, Any]]:
        async with self._logins:
            _, body, cookies = await self.call("POST", "/api/v1/auth/login", expect=(200,),
                                               json={"email": email, "password": password}, prefer=prefer)
        return cookies["wecc_session"].value, body


@dataclass
class Staff:
    """A logged-in user on the REST API (cookie + CSRF)."""

    rest: Rest
    cookie: str
    csrf: str

    @classmethod
    async def login(cls, rest: Rest, email: str, password: str) -> "Staff":
        cookie, body = await rest.login(email, password, prefer=0)
        return cls(rest, cookie, body["csrf_token"])

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"wecc_session={self.cookie}", "X-CSRF-Token": self.csrf}

    async def __call__(self, method: str, path: str, json: Any = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        return (await self.rest.call(method, path, json=json, headers=self.headers(), expect=expect, prefer=0))[1]


async def queue_one(rest: Rest, token: str, tenant_id: str, queue_id: str, n: int) -> str:
    """What another system does to raise a case: a contact, a chat conversation, a task."""
    auth = {"Authorization": f"Bearer {token}"}
    _, contact, _ = await rest.call("POST", "/api/v1/contacts", headers=auth, json={"tenant_id": tenant_id, "name": f"Customer {n}"})
    _, conversation, _ = await rest.call("POST", "/api/v1/conversations", headers=auth,
                                         json={"tenant_id": tenant_id, "contact_id": contact["id"], "channel": "chat"})
    try:
        _, task, _ = await rest.call("POST", f"/api/v1/conversations/{conversation['id']}/tasks", headers=auth, json={"queue_id": queue_id})
    except ApiFailed as exc:
        # A retry after the first gateway died having committed the task: it is there already.
        if exc.status == 409 and isinstance(exc.body, dict) and exc.body.get("code") == "already_queued":
            return str(exc.body["details"]["task_id"])
        raise
    return str(task["id"])


# --------------------------------------------------------------------------- scripted agents


class AgentClient(socketio.AsyncClient):  # type: ignore[misc]
    """The inbox's socket, minus the cost of decoding what a scripted agent ignores: every agent
    socket hears every conversation, contact and task event of its tenant (a hundred agents, a
    hundred copies of each), and only its own offers matter here. Other events are dropped
    unparsed; acks, connects and refusals go through as usual."""

    async def _handle_eio_message(self, data: Any) -> None:
        if (not self._binary_packet and isinstance(data, str) and data.startswith("2")
                and '"task.offered"' not in data[:80]):
            return
        await super()._handle_eio_message(data)


@dataclass
class AgentStats:
    offers: int = 0
    accepted: int = 0
    completed: int = 0
    reconnects: int = 0
    relogins: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class ScriptedAgent:
    """An agent in the inbox who takes every offer and finishes it a moment later. When its socket
    drops it connects to another live gateway; when its session is gone (Redis was wiped) it logs
    in again, a moment later, as a person would."""

    def __init__(self, rest: Rest, email: str, password: str, home: int, *, work_ms: tuple[int, int] = (0, 50),
                 relogin_delay: tuple[float, float] = (0.0, 3.0)) -> None:
        self.rest, self.email, self.password, self.home = rest, email, password, home
        self.work_ms, self.relogin_delay = work_ms, relogin_delay
        self.user_id: str | None = None
        self.cookie: str | None = None
        self.sio: socketio.AsyncClient | None = None
        self.node: Node | None = None
        self.stats = AgentStats()
        self.stopping = False
        self._ready = asyncio.Event()
        self._reconnecting: asyncio.Task[None] | None = None
        self._session_epoch = 0
        self._work: set[asyncio.Task[None]] = set()
        self.handled: set[str] = set()  # offers already being worked on (an offer may be announced twice)
        self.complete_sent: dict[str, float] = {}  # task id -> when (epoch ms) it first asked to finish it

    # ---- session and socket ----
    async def login(self) -> None:
        self.cookie, body = await self.rest.login(self.email, self.password, prefer=self.home)
        self.user_id = body["user"]["id"]
        self._session_epoch += 1

    async def connect(self) -> None:
        """Connect to a live gateway (its home one first) and be available; log in again when
        the connection is refused for want of a session."""
        attempt = 0
        while not self.stopping:
            live = self.rest.cluster.live()
            if not live:
                raise RuntimeError("no gateway is alive")
            node = live[(self.home + attempt) % len(live)]
            attempt += 1
            if attempt > 1:
                await asyncio.sleep(min(1.0, 0.1 * attempt))
            refusals: list[Any] = []
            sio = AgentClient(reconnection=False)
            sio.on("task.offered", self._on_offer, namespace=NAMESPACE)
            sio.on("disconnect", lambda *_, sio=sio: self._on_disconnect(sio), namespace=NAMESPACE)
            sio.on("connect_error", lambda data=None: refusals.append(data), namespace=NAMESPACE)
            try:
                await sio.connect(node.url, headers={"Cookie": f"wecc_session={self.cookie}"}, namespaces=[NAMESPACE],
                                  transports=["websocket"], wait_timeout=10)
            except socketio.exceptions.ConnectionError:
                with contextlib.suppress(Exception):
                    await sio.disconnect()
                if "log in" in str(refusals):  # refused: no session (it was in the wiped Redis)
                    await self._login_again()
                continue  # or that gateway is gone: the next one
            old, self.sio, self.node = self.sio, sio, node
            if old is not None and old.connected:
                with contextlib.suppress(Exception):
                    await old.disconnect()
            try:  # as the inbox does on (re)connect: the agent is there and takes work
                ack = await self._raw_call("presence", {"status": "available"})
            except (socketio.exceptions.SocketIOError, ConnectionError):
                continue
            if isinstance(ack, dict) and ack.get("ok"):
                self._ready.set()
                return
            if isinstance(ack, dict) and ack.get("code") == "unauthenticated":
                await self._login_again()

    async def _login_again(self) -> None:
        self.stats.relogins += 1
        await asyncio.sleep(random.uniform(*self.relogin_delay))  # people notice one by one
        with contextlib.suppress(ApiFailed):
            await self.login()

    def _on_disconnect(self, sio: socketio.AsyncClient) -> None:
        if not self.stopping and sio is self.sio:
            self._reconnect()

    def _reconnect(self, login_first: bool = False) -> None:
        """Once, however many calls noticed the socket or the session is gone."""
        self._ready.clear()
        if self._reconnecting is not None and not self._reconnecting.done():
            return
        self.stats.reconnects += 1

        async def again() -> None:
            if login_first:
                await self._login_again()
            while not self.stopping:
                try:
                    await self.connect()
                    return
                except Exception as exc:  # keep trying while any gateway lives; say why in the report
                    self.stats.outcomes[f"reconnect_failed:{type(exc).__name__}"] += 1
                    await asyncio.sleep(0.5)

        self._reconnecting = asyncio.create_task(again())

    async def _raw_call(self, event: str, data: Any) -> Any:
        assert self.sio is not None
        return await self.sio.call(event, data, namespace=NAMESPACE, timeout=10)

    async def call(self, event: str, data: Any, deadline: float = 60.0) -> tuple[dict[str, Any], bool]:
        """(the ack, whether an earlier attempt may have reached the gateway without an answer)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + deadline
        uncertain = False
        while loop.time() < until:
            try:
                async with asyncio.timeout(max(0.1, until - loop.time())):
                    await self._ready.wait()
            except TimeoutError:
                break
            epoch = self._session_epoch
            try:
                ack = await self._raw_call(event, data)
            except (socketio.exceptions.SocketIOError, ConnectionError, AssertionError):
                uncertain = True
                if self.sio is None or not self.sio.connected:
                    self._reconnect()
                await asyncio.sleep(0.1)
                continue
            if isinstance(ack, dict) and ack.get("code") == "unauthenticated":
                if epoch == self._session_epoch:
                    self._reconnect(login_first=True)
                continue
            if isinstance(ack, dict) and ack.get("code") == "internal_error":
                uncertain = True
                await asyncio.sleep(0.2)
                continue
            return ack, uncertain
        return {"ok": False, "code": "gave_up"}, uncertain

    # ---- work ----
    def _on_offer(self, data: Any) -> None:
        if self.stopping or not isinstance(data, dict) or data.get("agent_id") != self.user_id:
            return
        self.stats.offers += 1
        key = f"{data['task_id']}:{data.get('expires_ms')}"
        if key in self.handled:
            return
        self.handled.add(key)
        task = asyncio.create_task(self._work_on(data["task_id"]))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _work_on(self, task_id: str) -> None:
        ack, uncertain = await self.call("accept_task", {"task_id": task_id})
        if not ack.get("ok"):
            if not uncertain:
                self.stats.outcomes[f"accept:{ack.get('code')}"] += 1
                return
            # The accept may have been made by a gateway that died before answering: if the task
            # is ours, finishing it works; if not, it went to someone else.
            self.stats.outcomes[f"accept_uncertain:{ack.get('code')}"] += 1
        else:
            self.stats.accepted += 1
        await asyncio.sleep(random.uniform(*self.work_ms) / 1000)
        self.complete_sent.setdefault(task_id, time.time() * 1000)
        ack, uncertain = await self.call("complete_task", {"task_id": task_id})
        if ack.get("ok"):
            self.stats.completed += 1
        else:
            self.stats.outcomes[f"complete{'_uncertain' if uncertain else ''}:{ack.get('code')}"] += 1

    async def idle(self) -> None:
        """Wait for the work in hand to finish."""
        while self._work:
            await asyncio.gather(*list(self._work), return_exceptions=True)

    async def stop(self) -> None:
        self.stopping = True
        for task in [*self._work, *([self._reconnecting] if self._reconnecting else [])]:
            task.cancel()
        await asyncio.gather(*self._work, *([self._reconnecting] if self._reconnecting else []), return_exceptions=True)
        if self.sio is not None and self.sio.connected:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

"""Wallboard benchmark: "the wallboard updates within a second of the event on a running gateway
(event-driven, no polling)". N supervisors watch the demo business's wallboard while chats arrive
at a steady rate; per update, how long from the event to each supervisor's socket hearing it, and
to each supervisor's wallboard showing it; and how many wallboard computations the gateway did for
how many requests (it coalesces concurrent requests per business: gateway/reports/coalesce.py).

What runs, all on this machine:
- the gateway, in this process (create_app on a free port, a temporary data dir with SQLite, as
  bench/cobrowse.py and tests/browser/conftest.py's serve_gateway), on a private redis-server
  (bench/private_redis.py) unless --redis or WECC_BENCH_REDIS names one;
- supervisors: N accounts (--supervisors, 20) of the demo business with the role supervisor, made
  through the operator's REST API (POST /api/v1/tenants/{id}/members), in a client process of
  their own (the supervisors' browsers are elsewhere: their work must not run on the gateway's
  event loop). Each logs in (POST /api/v1/auth/login), fetches the board once, and connects a
  python-socketio AsyncClient to /supervisor with its session cookie; then it does what the inbox
  does (static/inbox/src/components/Wallboard.jsx, whose MOVES, SETTLE_MS and MAX_WAIT_MS are read
  from the file): on task.* / agent.presence_changed, wait SETTLE_MS (150 ms) for the burst to end
  (but fetch at once when the burst has lasted MAX_WAIT_MS, 0.8 s), then GET
  /api/v1/tenants/{id}/wallboard; an answer older than a later question is dropped, as the inbox
  drops it;
- chats: on a fixed schedule (--rate 5/s for --seconds 30, open loop) a new visitor's chat is
  opened and queued in this process with the core functions, as tests/browser/test_inbox_reports.py's
  queued_chat does (identify_contact, open_conversation, enqueue_task, then the events published).
  Nobody is available, so every chat waits: the board's "offered today" and the queue's "waiting"
  grow by one each time.

The event's time is when the chat's transaction has committed (the task.queued event is recorded
and about to be published); the enqueue call returns once every listener of the bus has run
(routing, the realtime forwarder...), which is also recorded. Times are time.perf_counter, the
machine-wide monotonic clock, in both processes.
- event -> socket: to each supervisor's task.queued handler;
- event -> board: to each supervisor's first wallboard answer (that the inbox would show) whose
  today.offered counts the chat (offered before the phase + its number);
- GET: each wallboard request, sent -> answer parsed;
- computations / requests: the gateway's wallboard() calls (wrapped here) against the requests its
  coalescer was asked (Coalescer.run wrapped), and how long each computation took.

Baseline, in the same run: one supervisor alone (another client process), no load, a chat every
second (--baseline-chats, 10): the same figures, before the load (a fresh day) and after it (the
load's chats still waiting and counted in today's figures).

Not a test: nothing is asserted. Writes bench/results/wallboard-<date>T<time>.json.

    .venv/bin/python bench/wallboard.py [--quick] [--supervisors 20] [--rate 5] [--seconds 30] [--redis URL]
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# As bench/sip.py: this folder off sys.path, or bench/email.py would hide the standard library's email.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH, ROOT)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
import socketio  # noqa: E402
from aiohttp import web  # noqa: E402

WALLBOARD_JSX = ROOT / "static/inbox/src/components/Wallboard.jsx"
SUPERVISOR_NS = "/supervisor"
PASSWORD = "bench-supervisor-password"
TARGET_S = 1.0


def _sibling(name: str) -> Any:
    """Another benchmark script as a module (as bench/sip.py loads them)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


private_redis, _chat = _sibling("private_redis"), _sibling("chat")
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]  # chat.py put it back
cpu_seconds, free_port, machine, percentile = _chat.cpu_seconds, _chat.free_port, _chat.machine, _chat.percentile
Worker, serve_commands = _chat.Worker, _chat.serve_commands


def inbox_rules() -> dict[str, Any]:
    """What the inbox's Wallboard.jsx reacts to and how long it waits: read from the file itself."""
    text = WALLBOARD_JSX.read_text()
    moves = re.search(r"const MOVES = \[(.*?)\];", text, re.S)
    settle = re.search(r"const SETTLE_MS = (\d+)", text)
    most = re.search(r"const MAX_WAIT_MS = (\d+)", text)
    if not (moves and settle and most):
        raise RuntimeError(f"{WALLBOARD_JSX}: MOVES, SETTLE_MS or MAX_WAIT_MS not found; the bench must follow the inbox")
    return {"moves": re.findall(r'"([a-z_.]+)"', moves.group(1)), "settle_ms": int(settle.group(1)),
            "max_wait_ms": int(most.group(1))}


# ---------------------------------------------------------------- supervisors (a client process)

class Supervisor:
    """One supervisor's inbox on the reports page: its /supervisor socket and its wallboard."""

    def __init__(self, url: str, tenant_id: str, rules: dict[str, Any]) -> None:
        self.url, self.tenant_id, self.rules = url, tenant_id, rules
        self.http: aiohttp.ClientSession | None = None
        self.sio: socketio.AsyncClient | None = None
        self.queued: dict[str, float] = {}  # task id -> when its task.queued arrived
        self.boards: list[list[Any]] = []  # [asked, answered, offered, waiting, shown] per request
        self.heard: Counter[str] = Counter()  # socket events by type
        self.errors: Counter[str] = Counter()
        self.asked = 0
        self.pending: asyncio.TimerHandle | None = None
        self.first = 0.0
        self.loads: set[asyncio.Task[None]] = set()

    async def start(self, email: str, password: str) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for an IP address
        async with self.http.post(f"{self.url}/api/v1/auth/login", json={"email": email, "password": password}) as resp:
            if resp.status != 200:
                raise RuntimeError(f"login {email}: {resp.status} {await resp.text()}")
            cookie = resp.cookies["wecc_session"].value
        await self.load()  # the page opens: the board, then live events
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._on_event, namespace=SUPERVISOR_NS)
        await self.sio.connect(self.url, headers={"Cookie": f"wecc_session={cookie}"}, namespaces=[SUPERVISOR_NS],
                               transports=["websocket"], wait_timeout=30)

    async def _on_event(self, event: str, data: Any = None) -> None:
        at = time.perf_counter()
        self.heard[event] += 1
        if event == "task.queued" and isinstance(data, dict) and "task_id" in data:
            self.queued.setdefault(data["task_id"], at)
        if event in self.rules["moves"]:
            self.soon()

    def soon(self) -> None:
        """Wallboard.jsx's soon(): one fetch per burst, SETTLE_MS after its last event, but at once
        when the burst has gone on MAX_WAIT_MS."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.pending is None:
            self.first = now
        else:
            self.pending.cancel()
        delay = 0.0 if now - self.first >= self.rules["max_wait_ms"] / 1000 else self.rules["settle_ms"] / 1000
        self.pending = loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self.pending = None
        self.loads.add(task := asyncio.ensure_future(self.load()))
        task.add_done_callback(self.loads.discard)

    async def load(self) -> None:
        """Wallboard.jsx's load(): GET the board; an answer to an older question is not shown."""
        assert self.http is not None
        self.asked += 1
        mine = self.asked
        asked = time.perf_counter()
        try:
            async with self.http.get(f"{self.url}/api/v1/tenants/{self.tenant_id}/wallboard") as resp:
                body = await resp.json()
                if resp.status != 200:
                    self.errors[f"GET wallboard {resp.status}: {str(body)[:80]}"] += 1
                    return
        except Exception as exc:  # noqa: BLE001 - counted and reported
            self.errors[f"GET wallboard: {type(exc).__name__}: {str(exc)[:60]}"] += 1
            return
        answered = time.perf_counter()
        waiting = sum(q["waiting"] for q in body["queues"])
        self.boards.append([asked, answered, body["today"]["offered"], waiting, mine == self.asked])

    def reset(self) -> None:
        self.queued.clear()
        self.boards.clear()
        self.heard.clear()
        self.errors.clear()

    def records(self) -> dict[str, Any]:
        return {"queued": self.queued, "boards": self.boards, "heard": dict(self.heard), "errors": dict(self.errors),
                "connected": bool(self.sio and self.sio.connected)}

    async def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
        if self.loads:
            await asyncio.wait(self.loads, timeout=10)
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sio.disconnect(), 10)
        if self.http is not None:
            await self.http.close()


class Desk:
    """The supervisors of one client process."""

    def __init__(self) -> None:
        self.people: list[Supervisor] = []

    async def start(self, url: str, tenant_id: str, rules: dict[str, Any], accounts: list[list[str]]) -> dict[str, Any]:
        self.people = [Supervisor(url, tenant_id, rules) for _ in accounts]
        await asyncio.gather(*(person.start(*account) for person, account in zip(self.people, accounts)))
        return {"connected": sum(bool(p.sio and p.sio.connected) for p in self.people)}

    async def reset(self) -> None:
        await asyncio.sleep(0.5)  # what the page's first fetch and the connection stirred settles first
        for person in self.people:
            person.reset()

    async def collect(self) -> list[dict[str, Any]]:
        return [person.records() for person in self.people]

    async def pid(self) -> int:
        return os.getpid()

    async def close(self) -> None:
        await asyncio.gather(*(person.close() for person in self.people))
        self.people = []


def desk_process(conn: Connection) -> None:
    _chat._die_with_parent()
    _chat._quiet_clients()

    async def main() -> None:
        desk = Desk()
        await serve_commands(conn, {"start": desk.start, "reset": desk.reset, "collect": desk.collect, "pid": desk.pid,
                                    "close": desk.close})
        await desk.close()

    asyncio.run(main())


# ---------------------------------------------------------------- the gateway and the chats

def gateway_config(data_dir: Path, port: int, redis_url: str) -> Any:
    """As bench/cobrowse.py: config defaults, this data dir, this port; the login limits raised (every
    supervisor logs in from 127.0.0.1)."""
    from gateway.config import Config

    return Config.model_validate({
        "data": {"dir": str(data_dir)},
        "logging": {"format": "text", "level": "WARNING"},
        "server": {"port": port, "public_url": f"http://127.0.0.1:{port}"},
        "redis": {"url": redis_url},
        "auth": {"login_attempts_per_ip": 100_000, "login_attempts_per_account": 100_000},
        # pub/sub ignores the database index: a channel of our own on a shared Redis
        "realtime": {"channel": f"wecc-bench-wallboard:{uuid.uuid4().hex[:8]}"},
    })


class Counted:
    """Wraps the wallboard's computation and the coalescer the route asks, to count both."""

    def __init__(self) -> None:
        import gateway.api.routes.reports as route
        from gateway.reports.coalesce import Coalescer

        self.computations: list[tuple[float, float]] = []  # (start, end) of each wallboard() run
        self.requests: list[float] = []  # when the route asked the coalescer
        original, run = route.wallboard, Coalescer.run
        self.original = original

        async def wallboard(app: web.Application, tenant_id: str) -> Any:
            start = time.perf_counter()
            try:
                return await original(app, tenant_id)
            finally:
                self.computations.append((start, time.perf_counter()))

        async def counted_run(coalescer: Any, key: Any, compute: Any) -> Any:
            self.requests.append(time.perf_counter())
            return await run(coalescer, key, compute)

        route.wallboard = wallboard  # the route's lambda looks the name up at each request
        Coalescer.run = counted_run  # type: ignore[method-assign]

    def between(self, t0: float, t1: float) -> dict[str, Any]:
        runs = [(a, b) for a, b in self.computations if t0 <= a <= t1]
        asked = [at for at in self.requests if t0 <= at <= t1]
        return {"requests": len(asked), "computations": len(runs),
                "requests_per_computation": round(len(asked) / len(runs), 2) if runs else None,
                "computation": stats([(b - a) for a, b in runs])}


async def queued_chat(app: web.Application, tenant_id: str, visitor: str) -> tuple[str, float, float]:
    """tests/browser/test_inbox_reports.py's queued_chat. Returns the task, when the transaction
    committed (the event is recorded) and when the enqueue call returned (every listener ran)."""
    from gateway.core.contacts import identify_contact
    from gateway.core.conversations import enqueue_task, open_conversation
    from gateway.keys import DB, EVENTS

    async with app[DB].begin() as conn:
        contact = await identify_contact(conn, tenant_id, "visitor", visitor, name="Grace Hopper")
        conversation_id, opened = await open_conversation(conn, tenant_id, contact.contact_id, "chat")
        task_id, queued = await enqueue_task(conn, tenant_id, conversation_id, "chat")
    committed = time.perf_counter()
    await app[EVENTS].publish(*contact.events, opened, *queued)
    return task_id, committed, time.perf_counter()


async def arrivals(app: web.Application, tenant_id: str, rate: float, seconds: float, tag: str) -> list[dict[str, Any]]:
    """Chats on a fixed schedule whatever the gateway does (each in its own task): open loop."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    count = max(1, round(rate * seconds))
    chats: list[dict[str, Any]] = []

    async def one(n: int) -> None:
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        late, began = loop.time() - due, time.perf_counter()
        task_id, committed, returned = await queued_chat(app, tenant_id, f"bench-{tag}-{n}-{uuid.uuid4().hex[:6]}")
        chats.append({"n": n, "task_id": task_id, "began": began, "committed": committed, "returned": returned, "late_s": late})

    await asyncio.gather(*(one(n) for n in range(count)))
    return sorted(chats, key=lambda c: c["n"])


async def rest(http: aiohttp.ClientSession, url: str, method: str, path: str, expect: int, csrf: str | None = None,
               **kwargs: Any) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    async with http.request(method, f"{url}/api/v1{path}", headers=headers, **kwargs) as resp:
        body = await resp.json()
        if resp.status != expect:
            raise RuntimeError(f"{method} {path}: {resp.status} {body}")
        return body


async def create_supervisors(url: str, config: Any, count: int) -> tuple[str, list[list[str]]]:
    """The demo business's id and `count` supervisor accounts, made by the operator (seats raised to fit)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        me = await rest(http, url, "POST", "/auth/login", 200,
                        json={"email": config.demo.operator_email, "password": config.demo.operator_password})
        csrf = me["csrf_token"]
        tenants = (await rest(http, url, "GET", "/tenants", 200))["items"]
        tenant_id = next(t["id"] for t in tenants if t["slug"] == config.demo.tenant_slug)
        seats = await rest(http, url, "GET", f"/tenants/{tenant_id}/seats", 200)
        await rest(http, url, "PATCH", f"/tenants/{tenant_id}", 200, csrf, json={"seat_limit": seats["seats_used"] + count + 5})
        accounts = []
        for n in range(count):
            email = f"bench-supervisor-{n}@{config.demo.tenant_slug}.example"
            await rest(http, url, "POST", f"/tenants/{tenant_id}/members", 201, csrf, json={
                "email": email, "name": f"Bench supervisor {n}", "password": PASSWORD, "role": "supervisor"})
            accounts.append([email, PASSWORD])
        return tenant_id, accounts


# ---------------------------------------------------------------- figures

def stats(values: list[float]) -> dict[str, Any]:
    """values in seconds -> ms figures."""
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    return {"n": len(values), "p50_ms": ms(percentile(values, 50)), "p95_ms": ms(percentile(values, 95)),
            "p99_ms": ms(percentile(values, 99)), "max_ms": ms(max(values) if values else None)}


def figures(chats: list[dict[str, Any]], seen: list[dict[str, Any]], base_offered: int) -> dict[str, Any]:
    """Per chat and supervisor: event -> socket, event -> board; per request: GET."""
    to_socket, from_return, to_board, socket_to_board, gets = [], [], [], [], []
    missing_socket = missing_board = 0
    slow: list[dict[str, Any]] = []
    thirds: list[list[float]] = [[], [], []]
    for s, person in enumerate(seen):
        shown = sorted((b[1], b[2]) for b in person["boards"] if b[4])  # (answered, offered) the inbox shows
        gets += [b[1] - b[0] for b in person["boards"]]
        for chat in chats:
            heard = person["queued"].get(chat["task_id"])
            if heard is None:
                missing_socket += 1
            else:
                to_socket.append(heard - chat["committed"])
                from_return.append(heard - chat["returned"])
            board = next((at for at, offered in shown if offered >= base_offered + chat["n"] + 1), None)
            if board is None:
                missing_board += 1
                continue
            to_board.append(board - chat["committed"])
            thirds[min(2, chat["n"] * 3 // len(chats))].append(board - chat["committed"])
            if heard is not None:
                socket_to_board.append(board - heard)
            if board - chat["committed"] > TARGET_S:
                slow.append({"chat": chat["n"], "supervisor": s, "event_to_board_ms": round((board - chat["committed"]) * 1000, 1),
                             "event_to_socket_ms": None if heard is None else round((heard - chat["committed"]) * 1000, 1)})
    updates = len(chats) * len(seen)
    events_heard: Counter[str] = Counter()
    for person in seen:
        events_heard.update(person["heard"])
    errors: Counter[str] = Counter()
    for person in seen:
        errors.update(person["errors"])
    return {
        "chats": len(chats),
        "supervisors": len(seen),
        "updates": updates,
        "event_to_socket": stats(to_socket),
        "enqueue_returned_to_socket": stats(from_return),
        "event_to_board": stats(to_board),
        "socket_to_board": stats(socket_to_board),
        "get_wallboard": stats(gets),
        "event_to_board_by_third": [stats(v) for v in thirds],
        "chat_transaction": stats([c["committed"] - c["began"] for c in chats]),
        "publish_call": stats([c["returned"] - c["committed"] for c in chats]),
        "arrival_lateness": stats([c["late_s"] for c in chats]),
        "requests_by_supervisors": sum(len(p["boards"]) for p in seen),
        "requests_per_update": round(sum(len(p["boards"]) for p in seen) / max(updates, 1), 2),
        "answers_dropped_as_stale": sum(1 for p in seen for b in p["boards"] if not b[4]),
        "within_1s": sum(1 for v in to_board if v <= TARGET_S),
        "slower_than_1s": len(slow),
        "slower_than_1s_first": slow[:20],
        "not_at_socket": missing_socket,
        "not_on_board": missing_board,
        "socket_events_heard": dict(events_heard.most_common()),
        "client_errors": dict(errors),
        "waiting_at_end": max((b[3] for p in seen for b in p["boards"]), default=None),
    }


class Cpu:
    """CPU used during a phase: this process (the gateway and the chats' driver), redis-server, the
    client process, and the rest of the machine."""

    def __init__(self, redis_pid: int | None, client_pid: int) -> None:
        self.pids = (os.getpid(), redis_pid, client_pid)
        self.first = self._sample()

    def _sample(self) -> tuple[float, ...]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        return (time.monotonic(), *(cpu_seconds(p) for p in self.pids), busy)

    def stop(self) -> dict[str, Any]:
        now = self._sample()
        wall = now[0] - self.first[0]
        used = [b - a for a, b in zip(self.first[1:], now[1:])]
        gateway, redis, clients, machine_busy = used
        return {"gateway_process": round(gateway / wall, 2), "redis": round(redis / wall, 2) if self.pids[1] else None,
                "supervisor_clients": round(clients / wall, 2),
                "other": round(max(0.0, machine_busy - gateway - redis - clients) / wall, 2)}


# ---------------------------------------------------------------- the run

async def phase(name: str, app: web.Application, url: str, tenant_id: str, rules: dict[str, Any], accounts: list[list[str]],
                rate: float, seconds: float, counted: Counted, redis_pid: int | None, drain: float) -> dict[str, Any]:
    """`accounts` supervisors watch the board while chats come at `rate` for `seconds`."""
    desk = Worker(desk_process)
    try:
        started = time.monotonic()
        ready = await desk.ask("start", url=url, tenant_id=tenant_id, rules=rules, accounts=accounts)
        if ready["connected"] != len(accounts):
            raise RuntimeError(f"{name}: {ready['connected']} of {len(accounts)} supervisors connected")
        print(f"  {name}: {len(accounts)} supervisor(s) logged in, board fetched, /supervisor connected in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        await desk.ask("reset")
        base = (await counted.original(app, tenant_id))["today"]["offered"]  # not counted: the bench's own look
        cpu = Cpu(redis_pid, await desk.ask("pid"))
        t0 = time.perf_counter()
        chats = await arrivals(app, tenant_id, rate, seconds, name)
        await asyncio.sleep(drain)  # the last chats reach every board
        t1 = time.perf_counter()
        used = cpu.stop()
        seen = await desk.ask("collect")
    finally:
        with contextlib.suppress(Exception):
            await desk.ask("close")
        await desk.close()
    return {"rate_per_s": rate, "seconds": seconds, "offered_before": base, **figures(chats, seen, base),
            "gateway": counted.between(t0, t1), "cpu_cores": used}


async def measure(opts: argparse.Namespace, redis_url: str, redis_pid: int | None, workdir: Path) -> dict[str, Any]:
    from gateway.app import create_app

    rules = inbox_rules()
    port = free_port()
    config = gateway_config(workdir / "data", port, redis_url)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        counted = Counted()
        tenant_id, accounts = await create_supervisors(url, config, opts.supervisors)
        print(f"  gateway {url}; {opts.supervisors} supervisors made; the inbox refetches on {len(rules['moves'])} event types, "
              f"{rules['settle_ms']} ms settle, at most {rules['max_wait_ms']} ms", flush=True)
        out: dict[str, Any] = {"inbox_rules": rules}
        out["baseline_before"] = await phase("baseline-before", app, url, tenant_id, rules, accounts[:1], 1.0,
                                             opts.baseline_chats, counted, redis_pid, opts.drain)
        report_phase("baseline, 1 supervisor, a chat a second, fresh day", out["baseline_before"])
        out["load"] = await phase("load", app, url, tenant_id, rules, accounts, opts.rate, opts.seconds, counted, redis_pid, opts.drain)
        report_phase(f"load, {opts.supervisors} supervisors, {opts.rate:g} chats/s", out["load"])
        out["baseline_after"] = await phase("baseline-after", app, url, tenant_id, rules, accounts[:1], 1.0,
                                            opts.baseline_chats, counted, redis_pid, opts.drain)
        report_phase("baseline, 1 supervisor, a chat a second, after the load", out["baseline_after"])
        return out
    finally:
        await runner.cleanup()


def _t(s: dict[str, Any]) -> str:
    return f"p50 {s['p50_ms']} / p95 {s['p95_ms']} / p99 {s['p99_ms']} / max {s['max_ms']} ms (n={s['n']})"


def report_phase(title: str, r: dict[str, Any]) -> None:
    g = r["gateway"]
    print(f"  {title}: {r['chats']} chats, {r['updates']} updates; {r['slower_than_1s']} board updates slower than 1 s, "
          f"{r['not_on_board']} never shown, {r['not_at_socket']} events not heard; waiting at the end {r['waiting_at_end']}", flush=True)
    print(f"    event -> socket  {_t(r['event_to_socket'])}")
    print(f"    event -> board   {_t(r['event_to_board'])}")
    print(f"    GET /wallboard   {_t(r['get_wallboard'])}")
    print(f"    gateway: {g['requests']} wallboard requests, {g['computations']} computations "
          f"({g['requests_per_computation']} requests each), a computation {_t(g['computation'])}")
    print(f"    the chat's transaction {_t(r['chat_transaction'])}; publishing its events {_t(r['publish_call'])}")
    print(f"    supervisors' requests: {r['requests_by_supervisors']} ({r['requests_per_update']} an update; events closer than "
          f"the settle make one fetch), {r['answers_dropped_as_stale']} answers dropped as stale")
    print(f"    CPU cores: {r['cpu_cores']}; socket events heard: {r['socket_events_heard']}", flush=True)
    if r["client_errors"]:
        print(f"    client errors: {r['client_errors']}")


def table(m: dict[str, Any]) -> None:
    load, before, after = m["load"], m["baseline_before"], m["baseline_after"]
    rows = [
        ("event -> socket, load", load["event_to_socket"]),
        ("event -> board, load", load["event_to_board"]),
        ("socket -> board, load", load["socket_to_board"]),
        ("GET /wallboard, load", load["get_wallboard"]),
        ("wallboard computation, load", load["gateway"]["computation"]),
        ("event -> socket, baseline before", before["event_to_socket"]),
        ("event -> board, baseline before", before["event_to_board"]),
        ("GET /wallboard, baseline before", before["get_wallboard"]),
        ("event -> socket, baseline after", after["event_to_socket"]),
        ("event -> board, baseline after", after["event_to_board"]),
        ("GET /wallboard, baseline after", after["get_wallboard"]),
    ]
    print()
    print(f"  {'path':34} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, s in rows:
        print(f"  {name:34} {s['n']:>6} {s['p50_ms']!s:>8} {s['p95_ms']!s:>8} {s['p99_ms']!s:>8} {s['max_ms']!s:>8}")
    g = load["gateway"]
    print(f"  load: {g['requests']} wallboard requests, {g['computations']} computations ({g['requests_per_computation']} "
          f"requests a computation); {load['within_1s']} of {load['updates']} updates on the board within 1 s")
    print("  event -> board by third of the load window (the queue grows): "
          + ", ".join(f"p95 {s['p95_ms']} / max {s['max_ms']} ms" for s in load["event_to_board_by_third"]))


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


async def run_bench(opts: argparse.Namespace) -> None:
    host = machine()
    started = time.time()
    print(f"wallboard bench: {opts.supervisors} supervisors, {opts.rate:g} chats/s for {opts.seconds:g} s; baseline 1 supervisor, "
          f"{opts.baseline_chats:g} chats a second apart, before and after", flush=True)
    with tempfile.TemporaryDirectory(prefix="wecc-bench-wallboard-") as tmp:
        redis_server = None
        redis_url = opts.redis
        if not redis_url:  # a private redis-server, never the machine's (the tests FLUSHALL it)
            redis_server, redis_port = private_redis.start(tmp)
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
        print(f"  redis {redis_url}{' (private)' if redis_server else ''}", flush=True)
        try:
            measured = await measure(opts, redis_url, redis_server.pid if redis_server else None, Path(tmp))
        finally:
            if redis_server is not None:
                private_redis.stop(redis_server)
    table(measured)
    load, before = measured["load"], measured["baseline_before"]
    ratios = {
        "event_to_board_p95_load_to_baseline": ratio(load["event_to_board"]["p95_ms"], before["event_to_board"]["p95_ms"]),
        "event_to_socket_p95_load_to_baseline": ratio(load["event_to_socket"]["p95_ms"], before["event_to_socket"]["p95_ms"]),
        "get_p95_load_to_baseline": ratio(load["get_wallboard"]["p95_ms"], before["get_wallboard"]["p95_ms"]),
    }
    worst = load["event_to_board"]["max_ms"]
    met = load["not_on_board"] == 0 and worst is not None and worst <= TARGET_S * 1000
    print(f"  load / baseline before, p95: event -> board {ratios['event_to_board_p95_load_to_baseline']}x, event -> socket "
          f"{ratios['event_to_socket_p95_load_to_baseline']}x, GET {ratios['get_p95_load_to_baseline']}x")
    print(f"  target: every board updated within {TARGET_S:g} s of the event: {'met' if met else 'NOT met'} "
          f"(max {worst} ms, {load['slower_than_1s']} of {load['updates']} slower, {load['not_on_board']} never shown) "
          f"(load average now {os.getloadavg()[0]:.2f})")
    result = {
        "benchmark": "wallboard",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": host,
        "quick": opts.quick,
        "setup": {
            "supervisors": opts.supervisors, "rate_per_s": opts.rate, "seconds": opts.seconds,
            "baseline_chats": opts.baseline_chats, "drain_s": opts.drain,
            "redis": "private redis-server" if not opts.redis else opts.redis,
            "gateway": "in this process (create_app, SQLite in a temp dir), config defaults; login limits raised",
            "supervisors_run": "one client process: python-socketio AsyncClient on /supervisor + aiohttp, as Wallboard.jsx",
            "chats": "queued in this process with the core functions (tests/browser/test_inbox_reports.py's queued_chat); "
                     "nobody available, so they wait",
            "event_time": "after the chat's transaction committed, before its events are published",
            "clock": "time.perf_counter (CLOCK_MONOTONIC) in both processes",
        },
        **measured,
        "ratios": ratios,
        "met": {"every_update_within_1s": met},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "wall_time_s": round(time.time() - started, 1),
    }
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"wallboard-{dt.datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supervisors", type=int, default=20, help="supervisors watching the wallboard (default 20)")
    parser.add_argument("--rate", type=float, default=5.0, help="chats a second (default 5)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of chats (default 30; quick 6)")
    parser.add_argument("--baseline-chats", type=int, default=None,
                        help="chats, a second apart, for each baseline (default 10; quick 3)")
    parser.add_argument("--quick", action="store_true", help="6 s of load, 3 baseline chats before and after: ~25 s")
    parser.add_argument("--redis", default=os.environ.get("WECC_BENCH_REDIS", ""),
                        help="a Redis URL (not 127.0.0.1:6379: the tests FLUSHALL it); default: a private redis-server")
    parser.add_argument("--out", default=str(BENCH / "results"))
    opts = parser.parse_args()
    opts.seconds = opts.seconds or (6.0 if opts.quick else 30.0)
    opts.baseline_chats = opts.baseline_chats or (3 if opts.quick else 10)
    opts.drain = 1.5 if opts.quick else 2.0  # after the last chat, until every board has shown it
    asyncio.run(run_bench(opts))


if __name__ == "__main__":
    main()

"""Routing engine benchmark (issue 3): decisions per second and enqueue->offer latency.

One gateway-like process drives the engine on a real Redis: 1,000 agents with 20 skills, tasks
arriving at rising rates (open loop) while simulated agents accept every offer at once and complete
after a handle time, so the system stays in a steady state; then a closed-loop saturation run; then,
in the same run, the baseline: a bare single-client EVALSHA loop of a Lua script of the same size
as the engine's enqueue script (the shared library plus a one-command body), and the same script
with the saturation run's concurrency.

A "routing decision" is one atomic engine script call that changes routing state (enqueue, accept,
complete, tick); offers/s (tasks matched to an agent) are reported too: every task costs three
decisions (enqueue, accept, complete). Latency = from the moment a task was due to arrive (the
open loop's schedule, not the moment the generator got round to it, so a loop that falls behind
shows in the figures) to the moment the enqueue call that returned the task's offer returned.

What is measured is what a gateway process would see: the engine's client, built the way the
gateway builds it (``decode_responses``, the default event loop), runs in one process together
with the load generator. The generator is deliberately light (an accept, a sleep and a complete per
offer) and stays in the same process because a gateway does this work (and much more) in the same
loop; its share of the client CPU is part of the figures. Each phase also reports the CPU it used
per decision, in this process and in redis-server, and how many cores *other* processes kept busy
meanwhile (from /proc/stat): the machines are shared, and a phase that ran next to a busy
neighbour is visible as such. Run it twice and compare; see bench/README.md.

    .venv/bin/python bench/routing.py [--quick] [--redis redis://127.0.0.1:6379/9]

``make bench`` runs it against a private redis-server on a free port (bench/private_redis.py).
Writes bench/results/routing-<date>T<time>.json. The engine's keys live under a prefix of their
own, deleted at the end; nothing else in the database is touched. Not a test: nothing is asserted.
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
import datetime as dt
import json
import os
import platform
import random
import time
import uuid
from collections import Counter
from typing import Any

import redis as redis_py
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.routing.engine import RoutingEngine, script_source  # noqa: E402
from gateway.routing.model import AgentSpec, TaskSpec, Transition  # noqa: E402

AGENTS = 1_000
TOPICS = [f"topic{n:02d}" for n in range(15)]
LANGUAGES = [f"lang{n}" for n in range(5)]  # 20 skills in all
CHANNELS = [("chat", 0.5), ("voice", 0.3), ("email", 0.2)]
TENANTS = ("acme", "globex")
HANDLE_S = 0.4  # simulated handle time: in flight = rate x 0.4 s
WORKERS = 32  # saturation run: callers in flight


def now_ms() -> int:
    return int(time.time() * 1000)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis_py": redis_py.__version__,
        "hiredis": _hiredis_version(),
        "event_loop": type(asyncio.get_event_loop_policy()).__name__,
    }


def _hiredis_version() -> str | None:
    try:
        import hiredis
    except ImportError:
        return None
    return str(getattr(hiredis, "__version__", "yes"))


def _busy_jiffies() -> int | None:
    """CPU time all processes of the machine used so far (USER_HZ ticks), or None off Linux."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # less idle and iowait


class CpuMeter:
    """CPU used during a phase: by this process, by redis-server (INFO cpu) and by all the other
    processes of the machine (the noise of a shared machine)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def _sample(self) -> tuple[float, float, float, int | None]:
        info = await self.redis.info("cpu")
        return (time.perf_counter(), time.process_time(),
                float(info["used_cpu_sys"]) + float(info["used_cpu_user"]), _busy_jiffies())

    async def start(self) -> None:
        self.first = await self._sample()

    async def stop(self, decisions: int) -> dict[str, Any]:
        wall0, own0, redis0, busy0 = self.first
        wall1, own1, redis1, busy1 = await self._sample()
        wall, own, red = wall1 - wall0, own1 - own0, redis1 - redis0
        per = max(decisions, 1)
        out: dict[str, Any] = {
            "client_cpu_us_per_decision": round(own / per * 1e6, 1),
            "redis_cpu_us_per_decision": round(red / per * 1e6, 1),
            "client_cores": round(own / wall, 2),
            "redis_cores": round(red / wall, 2),
            "other_processes_cores": None,
        }
        if busy0 is not None and busy1 is not None:
            machine_busy = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
            out["other_processes_cores"] = round(max(0.0, machine_busy - own - red) / wall, 2)
        return out


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class World:
    """The simulated center: agents who accept every offer and finish after HANDLE_S."""

    def __init__(self, engine: RoutingEngine, rng: random.Random) -> None:
        self.engine = engine
        self.rng = rng
        self.count = 0
        self.calls = 0
        self.offers = 0
        self.started: dict[str, float] = {}  # task id -> perf_counter at its enqueue call
        self.latencies: list[float] = []
        self.pending: set[asyncio.Task[None]] = set()
        self.errors: Counter[str] = Counter()
        self.measuring = False

    def agents(self) -> list[AgentSpec]:
        specs = []
        for n in range(AGENTS):
            skills = {s: self.rng.randint(1, 5) for s in self.rng.sample(TOPICS, 4)}
            skills.update({s: self.rng.randint(1, 3) for s in self.rng.sample(LANGUAGES, 2)})
            tenants = {"acme": skills} if n % 4 else {"acme": skills, "globex": dict(skills)}
            if n % 10 == 0:
                tenants = {"globex": skills}
            specs.append(AgentSpec(id=f"agent{n:04d}", tenants=tenants, capacity={"chat": 3, "voice": 1, "email": 5}))
        return specs

    def new_task(self) -> TaskSpec:
        self.count += 1
        channel = self.rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        skills = {self.rng.choice(TOPICS): self.rng.randint(1, 3)}
        if self.rng.random() < 0.3:
            skills[self.rng.choice(LANGUAGES)] = 1
        return TaskSpec(
            id=f"task{self.count}", tenant_id="globex" if self.count % 5 == 0 else "acme", channel=channel,
            queue_id=f"{channel}-q", priority=self.rng.choice([2, 5, 5, 5, 7, 9]), enqueued_ms=now_ms(), skills=skills,
        )

    def every_signature(self) -> list[TaskSpec]:
        """One task per (tenant, channel, skill signature) the generator can produce."""
        signatures = [{topic: level} for topic in TOPICS for level in (1, 2, 3)]
        signatures += [{**sig, lang: 1} for sig in list(signatures) for lang in LANGUAGES]
        specs = []
        for tenant in TENANTS:
            for channel, _ in CHANNELS:
                for skills in signatures:
                    self.count += 1
                    specs.append(TaskSpec(id=f"seed{self.count}", tenant_id=tenant, channel=channel,
                                          queue_id=f"{channel}-q", priority=0, enqueued_ms=now_ms(), skills=skills))
        return specs

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def handle(self, made: list[Transition]) -> None:
        done_at = time.perf_counter()
        for tr in made:
            if tr.kind != "offered":
                continue
            self.offers += self.measuring
            start = self.started.pop(tr.task_id, None)
            if start is not None and self.measuring:
                self.latencies.append(done_at - start)
            self.spawn(self.work(tr.task_id, tr.agent_id or ""))

    async def call(self, coro: Any) -> list[Transition]:
        try:
            made = await coro
        except Exception as exc:  # noqa: BLE001 - a benchmark counts, it does not stop
            self.errors[type(exc).__name__ + ": " + str(exc)[:60]] += 1
            return []
        self.calls += self.measuring
        self.handle(made)
        return made

    async def enqueue(self, due: float | None = None) -> None:
        """A new task; `due` (perf_counter) is when it was due to arrive, the latency's start."""
        task = self.new_task()
        self.started[task.id] = time.perf_counter() if due is None else due
        await self.call(self.engine.enqueue(task, now_ms()))

    async def work(self, task_id: str, agent_id: str, handle_s: float = HANDLE_S) -> None:
        await self.call(self.engine.accept(task_id, agent_id, now_ms()))
        if handle_s:
            await asyncio.sleep(handle_s)
        await self.call(self.engine.complete(task_id, agent_id, now_ms()))

    async def ticker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.call(self.engine.tick(now_ms()))
            try:
                await asyncio.wait_for(stop.wait(), 0.25)
            except TimeoutError:
                pass

    def reset(self) -> None:
        self.calls = self.offers = 0
        self.latencies = []


# The arrival clock: a process of its own that writes each task's due time (perf_counter, the
# system-wide monotonic clock) to its stdout at that time. Arrivals then wake the event loop the
# way requests from the network do, precisely on schedule; a timer inside the loop (asyncio.sleep)
# would be up to a millisecond late (epoll's resolution) and that lateness would count as latency.
ARRIVAL_CLOCK = """
import sys, time
start, rate, total = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
n = 0
while n < total:
    now = time.perf_counter()
    if start + (n + 1) / rate > now:
        time.sleep(start + (n + 1) / rate - now)
        now = time.perf_counter()
    due = []
    while n < total and start + (n + 1) / rate <= now:
        n += 1
        due.append(repr(start + n / rate))
    sys.stdout.write("\\n".join(due) + "\\n")
    sys.stdout.flush()
"""


async def open_loop(world: World, cpu: CpuMeter, rate: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Tasks arrive at `rate` per second on a fixed schedule (the arrival clock); each task's latency
    starts at its due time. Returns what the measuring window saw."""
    start = time.perf_counter() + 0.3  # time for the clock process to start
    total = int((warmup + seconds) * rate)
    clock = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ARRIVAL_CLOCK, repr(start), str(rate), str(total), stdout=asyncio.subprocess.PIPE
    )
    assert clock.stdout is not None
    measured_from = start + warmup
    world.measuring = False
    arrived = 0
    window_start = measured_from
    while line := await clock.stdout.readline():
        due = float(line)
        if due >= measured_from and not world.measuring:
            world.reset()
            world.measuring = True
            await cpu.start()
            window_start = time.perf_counter()
        arrived += world.measuring
        world.spawn(world.enqueue(due))
    await clock.wait()
    elapsed = time.perf_counter() - window_start
    world.measuring = False
    calls, offers, latencies = world.calls, world.offers, world.latencies
    used = await cpu.stop(calls)
    return {
        "arrival_rate_per_s": rate,
        "achieved_arrivals_per_s": round(arrived / elapsed, 1),
        "decisions_per_s": round(calls / elapsed, 1),
        "offers_per_s": round(offers / elapsed, 1),
        "latency_ms_p50": _ms(percentile(latencies, 50)),
        "latency_ms_p99": _ms(percentile(latencies, 99)),
        "latency_ms_max": _ms(max(latencies) if latencies else None),
        "offers_measured": len(latencies),
        "waiting_at_end": len(world.started),
        **used,
    }


async def saturate(world: World, cpu: CpuMeter, workers: int, seconds: float) -> dict[str, Any]:
    """Closed loop: `workers` coroutines each enqueue a task and accept and complete every offer
    they are handed, as fast as the engine answers."""
    engine = world.engine
    loop = asyncio.get_running_loop()
    calls = offers = 0
    latencies: list[float] = []
    started: dict[str, float] = {}
    stop = False

    async def call(coro: Any) -> list[Transition]:
        nonlocal calls, offers
        made = await coro
        calls += 1
        done_at = time.perf_counter()
        handed = []
        for tr in made:
            if tr.kind == "offered":
                offers += 1
                start = started.pop(tr.task_id, None)
                if start is not None:
                    latencies.append(done_at - start)
                handed.append(tr)
        return handed

    async def worker() -> None:
        todo: list[Transition] = []
        while todo or not stop:
            if not todo:
                task = world.new_task()
                started[task.id] = time.perf_counter()
                todo += await call(engine.enqueue(task, now_ms()))
                continue
            tr = todo.pop()
            await call(engine.accept(tr.task_id, tr.agent_id or "", now_ms()))
            todo += await call(engine.complete(tr.task_id, tr.agent_id or "", now_ms()))

    await cpu.start()
    begin = loop.time()
    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    await asyncio.sleep(seconds)
    stop = True
    await asyncio.gather(*tasks)
    elapsed = loop.time() - begin
    used = await cpu.stop(calls)
    return {
        "workers": workers,
        "decisions_per_s": round(calls / elapsed, 1),
        "offers_per_s": round(offers / elapsed, 1),
        "latency_ms_p50": _ms(percentile(latencies, 50)),
        "latency_ms_p99": _ms(percentile(latencies, 99)),
        **used,
    }


def _cpu_text(r: dict[str, Any]) -> str:
    other = r["other_processes_cores"]
    text = (f"CPU per decision: client {r['client_cpu_us_per_decision']:.0f} us, "
            f"redis {r['redis_cpu_us_per_decision']:.0f} us")
    return text if other is None else f"{text}; other processes {other:.2f} cores"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


async def baseline(redis: Redis, prefix: str, seconds: float, workers: int) -> dict[str, Any]:
    """A bare EVALSHA loop of a script as large as the engine's enqueue script (the same shared
    library, so the same per-call setup, and a one-command body)."""
    body = "redis.call('INCR', P .. 'baseline')\nreturn result()\n"
    source = script_source("enqueue")
    lib = source[: source.index("-- enqueue(")]
    script = lib + body
    script += "\n" + "-" * max(0, len(source) - len(script) - 2) + "\n"  # pad to the same size
    run = redis.register_script(script)
    args = [prefix, 0, 20_000, 3]
    loop = asyncio.get_running_loop()

    async def loop_for(duration: float) -> int:
        n = 0
        end = loop.time() + duration
        while loop.time() < end:
            for _ in range(50):
                await run(keys=[], args=args)
            n += 50
        return n

    await loop_for(0.3)  # warm up
    start = loop.time()
    single = await loop_for(seconds)
    single_rate = single / (loop.time() - start)
    start = loop.time()
    counts = await asyncio.gather(*(loop_for(seconds) for _ in range(workers)))
    concurrent_rate = sum(counts) / (loop.time() - start)
    return {
        "script_bytes": len(script),
        "engine_enqueue_script_bytes": len(source),
        "single_client_evalsha_per_s": round(single_rate, 1),
        "concurrent_evalsha_per_s": round(concurrent_rate, 1),
        "concurrent_workers": workers,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~15 s run")
    parser.add_argument("--redis", default=os.environ.get("WECC_BENCH_REDIS", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--rates", default="250,500,1000,2000")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    opts = parser.parse_args()
    rates = [int(r) for r in opts.rates.split(",")]
    window, warmup, sat_s, base_s = (2.0, 0.5, 2.0, 1.0) if opts.quick else (12.0, 2.0, 10.0, 4.0)
    workers = WORKERS

    redis = Redis.from_url(opts.redis, decode_responses=True, health_check_interval=30)  # as gateway/app.py
    prefix = f"wecc:bench:{uuid.uuid4().hex[:8]}:"
    engine = RoutingEngine(redis, prefix=prefix, ring_ms=20_000)
    rng = random.Random(3)
    world = World(engine, rng)
    cpu = CpuMeter(redis)
    info = await redis.info("server")
    host = machine()
    started = time.time()
    print(f"routing bench: {AGENTS} agents, {len(TOPICS) + len(LANGUAGES)} skills, Redis {info.get('redis_version')} "
          f"at {opts.redis}, prefix {prefix}")
    try:
        t = time.perf_counter()
        agents = [(spec, "available", now_ms() - AGENTS + n) for n, spec in enumerate(world.agents())]
        # a restart with one waiting task per skill signature: every signature is known before
        # the runs (a center's set of signatures is stable), so they measure steady state
        seeds = [(spec, "queued", None) for spec in world.every_signature()]
        made = await engine.rebuild(tasks=seeds, agents=agents, rules={}, now_ms=now_ms())
        offered = {tr.task_id: tr.agent_id or "" for tr in made if tr.kind == "offered"}
        await asyncio.gather(*(world.work(task_id, agent_id, 0) for task_id, agent_id in offered.items()))
        while world.pending:
            await asyncio.gather(*list(world.pending))
        for spec, _, _ in seeds:
            if (await engine.task_info(spec.id) or {}).get("state") == "queued":
                await engine.cancel(spec.id, "cancelled", now_ms())
        world.started.clear()
        print(f"  setup: rebuild with {AGENTS} agents and {len(seeds)} signatures, drained: "
              f"{time.perf_counter() - t:.1f} s")

        stop = asyncio.Event()
        ticker = asyncio.ensure_future(world.ticker(stop))
        runs = []
        for rate in rates:
            r = await open_loop(world, cpu, rate, window, warmup)
            runs.append(r)
            print(f"  {rate:>5}/s arriving: {r['decisions_per_s']:>8.0f} decisions/s, {r['offers_per_s']:>7.0f} offers/s, "
                  f"enqueue->offer p50 {r['latency_ms_p50']} ms, p99 {r['latency_ms_p99']} ms "
                  f"(achieved {r['achieved_arrivals_per_s']}/s, waiting at end {r['waiting_at_end']}; {_cpu_text(r)})")
        stop.set()
        await ticker
        while world.pending:
            await asyncio.gather(*list(world.pending))
        sat = await saturate(world, cpu, workers, sat_s)
        print(f"  saturation ({workers} in flight, enqueue+accept+complete): {sat['decisions_per_s']:.0f} decisions/s, "
              f"{sat['offers_per_s']:.0f} offers/s, enqueue->offer p50 {sat['latency_ms_p50']} ms, p99 {sat['latency_ms_p99']} ms "
              f"({_cpu_text(sat)})")
        base = await baseline(redis, prefix, base_s, workers)
        print(f"  baseline EVALSHA ({base['script_bytes']} bytes): single client {base['single_client_evalsha_per_s']:.0f}/s, "
              f"{workers} in flight {base['concurrent_evalsha_per_s']:.0f}/s")
    finally:
        await engine.aclose()
        await _cleanup(redis, prefix)
    ratio_single = sat["decisions_per_s"] / base["single_client_evalsha_per_s"]
    ratio_concurrent = sat["decisions_per_s"] / base["concurrent_evalsha_per_s"]
    at_1000 = next((r for r in runs if r["arrival_rate_per_s"] == 1000), None)
    print(f"  ratio saturation / single-client EVALSHA baseline: {ratio_single:.2f}; "
          f"/ same-concurrency baseline: {ratio_concurrent:.2f}")
    if world.errors:
        print(f"  errors: {dict(world.errors)}")
    met = {
        "decisions_per_s": sat["decisions_per_s"] >= 5000,
        "p99_at_1000_per_s": bool(at_1000 and at_1000["latency_ms_p99"] is not None and at_1000["latency_ms_p99"] <= 5),
        "ratio": ratio_single >= 0.5,
    }
    print("  targets: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in met.items())
          + f" (load average now {os.getloadavg()[0]:.2f})")
    result = {
        "benchmark": "routing",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**host, "redis_version": info.get("redis_version")},
        "quick": opts.quick,
        "setup": {"agents": AGENTS, "skills": len(TOPICS) + len(LANGUAGES), "tenants": len(TENANTS),
                  "handle_time_s": HANDLE_S, "saturation_workers": workers,
                  "latency": "from the task's scheduled arrival to the return of the enqueue call that offered it",
                  "decision": "one engine script call that changes routing state (enqueue, accept, complete, tick)"},
        "open_loop": runs,
        "saturation": sat,
        "baseline": base,
        "ratio_to_single_client_baseline": round(ratio_single, 3),
        "ratio_to_concurrent_baseline": round(ratio_concurrent, 3),
        "targets": {
            "decisions_per_s_min": 5000,
            "p99_ms_at_1000_per_s_max": 5,
            "ratio_to_baseline_min": 0.5,
            "met": met,
        },
        "errors": dict(world.errors),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "wall_time_s": round(time.time() - started, 1),
    }
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"routing-{dt.datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {path}")
    await redis.aclose()


async def _cleanup(redis: Redis, prefix: str) -> None:
    pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"
    batch: list[str] = []
    async for key in redis.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await redis.unlink(*batch)
            batch = []
    if batch:
        await redis.unlink(*batch)


if __name__ == "__main__":
    asyncio.run(main())

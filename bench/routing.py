"""Routing engine benchmark (issue 3): decisions per second and enqueue->offer latency.

One gateway-like process drives the engine on a real Redis: 1,000 agents with 20 skills, tasks
arriving at rising rates (open loop) while simulated agents accept every offer at once and complete
after a handle time, so the system stays in a steady state; then a closed-loop saturation run; then,
in the same run, the baseline: a bare single-client EVALSHA loop of a Lua script of the same size
as the engine's enqueue script (the shared library plus a one-command body), and the same script
with the saturation run's concurrency.

A "routing decision" is one atomic engine script call that changes routing state (enqueue, accept,
complete, tick); offers/s are reported too. Latency = from the enqueue call to the call that
returned the task's offer, measured in this process.

    .venv/bin/python bench/routing.py [--quick] [--redis redis://127.0.0.1:6379/9]

Writes bench/results/routing-<date>.json. The engine's keys live under a prefix of their own,
deleted at the end; nothing else in the database is touched. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.routing.engine import RoutingEngine, script_source  # noqa: E402
from gateway.routing.model import AgentSpec, TaskSpec, Transition  # noqa: E402

AGENTS = 1_000
TOPICS = [f"topic{n:02d}" for n in range(15)]
LANGUAGES = [f"lang{n}" for n in range(5)]  # 20 skills in all
CHANNELS = [("chat", 0.5), ("voice", 0.3), ("email", 0.2)]
TENANTS = ("acme", "globex")
HANDLE_S = 0.4  # simulated handle time: in flight = rate x 0.4 s
POOL = 32  # connections of the gateway process


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
    }


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

    async def enqueue(self, task: TaskSpec | None = None) -> None:
        task = task or self.new_task()
        self.started[task.id] = time.perf_counter()
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


async def open_loop(world: World, rate: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Tasks arrive at `rate` per second; returns what the measuring window saw."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    measured_from = start + warmup
    world.measuring = False
    while True:
        now = loop.time()
        if now >= measured_from and not world.measuring:
            world.reset()
            world.measuring = True
            window_start, sent_at_window = now, sent
        if now >= start + warmup + seconds:
            break
        due = int((now - start) * rate) - sent
        for _ in range(due):
            world.spawn(world.enqueue())
        sent += max(due, 0)
        await asyncio.sleep(0.002)
    elapsed = loop.time() - window_start
    world.measuring = False
    result = {
        "arrival_rate_per_s": rate,
        "achieved_arrivals_per_s": round((sent - sent_at_window) / elapsed, 1),
        "decisions_per_s": round(world.calls / elapsed, 1),
        "offers_per_s": round(world.offers / elapsed, 1),
        "latency_ms_p50": _ms(percentile(world.latencies, 50)),
        "latency_ms_p99": _ms(percentile(world.latencies, 99)),
        "latency_ms_max": _ms(max(world.latencies) if world.latencies else None),
        "offers_measured": len(world.latencies),
        "waiting_at_end": len(world.started),
    }
    return result


async def saturate(world: World, workers: int, seconds: float) -> dict[str, Any]:
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

    begin = loop.time()
    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    await asyncio.sleep(seconds)
    stop = True
    await asyncio.gather(*tasks)
    elapsed = loop.time() - begin
    return {
        "workers": workers,
        "decisions_per_s": round(calls / elapsed, 1),
        "offers_per_s": round(offers / elapsed, 1),
        "latency_ms_p50": _ms(percentile(latencies, 50)),
        "latency_ms_p99": _ms(percentile(latencies, 99)),
    }


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
    workers = 32

    redis = Redis(connection_pool=BlockingConnectionPool.from_url(opts.redis, max_connections=POOL))
    prefix = f"wecc:bench:{uuid.uuid4().hex[:8]}:"
    engine = RoutingEngine(redis, prefix=prefix, ring_ms=20_000)
    rng = random.Random(3)
    world = World(engine, rng)
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
            r = await open_loop(world, rate, window, warmup)
            runs.append(r)
            print(f"  {rate:>5}/s arriving: {r['decisions_per_s']:>8.0f} decisions/s, {r['offers_per_s']:>7.0f} offers/s, "
                  f"enqueue->offer p50 {r['latency_ms_p50']} ms, p99 {r['latency_ms_p99']} ms "
                  f"(achieved {r['achieved_arrivals_per_s']}/s, waiting at end {r['waiting_at_end']})")
        stop.set()
        await ticker
        while world.pending:
            await asyncio.gather(*list(world.pending))
        sat = await saturate(world, workers, sat_s)
        print(f"  saturation ({workers} in flight, enqueue+accept+complete): {sat['decisions_per_s']:.0f} decisions/s, "
              f"{sat['offers_per_s']:.0f} offers/s, enqueue->offer p50 {sat['latency_ms_p50']} ms, p99 {sat['latency_ms_p99']} ms")
        base = await baseline(redis, prefix, base_s, workers)
        print(f"  baseline EVALSHA ({base['script_bytes']} bytes): single client {base['single_client_evalsha_per_s']:.0f}/s, "
              f"{workers} in flight {base['concurrent_evalsha_per_s']:.0f}/s")
    finally:
        await _cleanup(redis, prefix)
    ratio_single = sat["decisions_per_s"] / base["single_client_evalsha_per_s"]
    ratio_concurrent = sat["decisions_per_s"] / base["concurrent_evalsha_per_s"]
    at_1000 = next((r for r in runs if r["arrival_rate_per_s"] == 1000), None)
    print(f"  ratio saturation / single-client EVALSHA baseline: {ratio_single:.2f}; "
          f"/ same-concurrency baseline: {ratio_concurrent:.2f}")
    if world.errors:
        print(f"  errors: {dict(world.errors)}")
    result = {
        "benchmark": "routing",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**host, "redis_version": info.get("redis_version")},
        "quick": opts.quick,
        "setup": {"agents": AGENTS, "skills": len(TOPICS) + len(LANGUAGES), "tenants": len(TENANTS),
                  "handle_time_s": HANDLE_S, "connections": POOL,
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
            "met": {
                "decisions_per_s": sat["decisions_per_s"] >= 5000,
                "p99_at_1000_per_s": bool(at_1000 and at_1000["latency_ms_p99"] is not None
                                          and at_1000["latency_ms_p99"] <= 5),
                "ratio": ratio_single >= 0.5,
            },
        },
        "errors": dict(world.errors),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "wall_time_s": round(time.time() - started, 1),
    }
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"routing-{dt.date.today().isoformat()}.json"
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

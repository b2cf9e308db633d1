"""A closer look at one gateway's chat path than bench/chat.py gives: CHATS visitors chat with
simulated agents while IDLE more stay connected; lines go out at RATE per second in all, each chat
in turn, for SECONDS. Prints (and writes as JSON, with the machine and the date) visitor->agent
delivery latency, the gateway's CPU per line, and every garbage collection the gateway made while
the lines flowed (a full collection stops the whole process). No baseline: compare runs of the
same machine and moment (e.g. before and after a change, alternating), or use bench/chat.py.

    .venv/bin/python bench/chat_probe.py [--chats 100] [--idle 900] [--rate 10] [--seconds 20] [--agents 1]

Same setup as bench/chat.py: run.py in a subprocess with a temporary SQLite data dir and a private
redis-server, the demo tenant, agents made through the operator's API.
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
import tempfile
import time
from typing import Any

import chat as bench  # bench/chat.py: the same clients, agents and gateway start-up

BENCH = Path(__file__).resolve().parent


def _percentiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{p}": bench._ms(bench.percentile(values, p)) for p in (50, 90, 99)} | {"max": bench._ms(max(values, default=None))}


def _gc_during(path: Path, start: float, end: float) -> dict[str, Any]:
    """The gateway's collections that began while the lines flowed, by generation."""
    out = {}
    for gen, pauses in json.loads(path.read_text()).items():
        during = [took for began, took in pauses if start <= began <= end]
        out[f"gen{gen}"] = {"count": len(during), "total_ms": round(sum(during) * 1000, 1),
                            "max_ms": round(max(during, default=0) * 1000, 1)}
    return out


async def probe(opts: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="wecc-probe-"))
    gc_file = workdir / "gc.json"
    server = await bench.start_gateway(workdir, launcher=[sys.executable, str(BENCH / "gc_watch.py"), str(gc_file)])
    try:
        demo = bench._demo_settings()
        desk = bench.Desk(server.url, await bench.create_agents(server.url, demo, opts.agents))
        await desk.start()
        idle = bench.Crowd(server.url, demo["widget_key"])
        await idle.connect(opts.idle)
        crowd = bench.Crowd(server.url, demo["widget_key"])
        await crowd.connect(opts.chats)
        await crowd.start_chats(opts.chats)
        while desk.joined < opts.chats:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        cpu_before = bench.cpu_seconds(server.pid)
        started = time.perf_counter()
        sent = await crowd.open_loop("probe", opts.rate, opts.seconds)
        await asyncio.sleep(2)  # the last lines arrive
        cpu = bench.cpu_seconds(server.pid) - cpu_before
        elapsed = time.perf_counter() - started
        latencies = await desk.latencies_of("probe")
        await crowd.close()
        await idle.close()
        await desk.close()
    finally:
        server.stop()  # the gateway stops cleanly, and gc_watch writes what it saw
    return {
        "setup": vars(opts),
        "lines": {"sent": len(sent["acks"]), "heard": len(latencies), "failed": sent["failed"], "late_sends": sent["late"]},
        "latency_ms": _percentiles(latencies),
        "server_cpu": {"ms_per_line": round(cpu / max(len(latencies), 1) * 1000, 2), "share_of_a_core": round(cpu / elapsed, 3)},
        "gc": _gc_during(gc_file, started, started + elapsed) if gc_file.exists() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--idle", type=int, default=900, help="visitors connected but not chatting")
    parser.add_argument("--rate", type=float, default=10.0, help="lines per second, all chats together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--out", default=str(BENCH / "results"))
    opts = parser.parse_args()
    bench.raise_open_files()
    result = {"machine": bench.machine(), "date": dt.datetime.now().isoformat(timespec="seconds"), **asyncio.run(probe(opts))}
    lat, cpu = result["latency_ms"], result["server_cpu"]
    print(f"{opts.chats} chats, {opts.idle} idle, {opts.rate:g} lines/s for {opts.seconds:g} s: "
          f"p50 {lat['p50']} ms, p90 {lat['p90']}, p99 {lat['p99']}, max {lat['max']}; "
          f"gateway CPU {cpu['ms_per_line']} ms/line ({cpu['share_of_a_core']:.0%} of a core)")
    if result["gc"]:
        print("the gateway's garbage collections meanwhile: " + ", ".join(
            f"{g} {v['count']} ({v['total_ms']} ms, max {v['max_ms']})" for g, v in result["gc"].items()))
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"chat-probe-{dt.datetime.now().strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

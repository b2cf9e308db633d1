"""SIP benchmark (issue 7), first part: call setups per second, and calls held at once on hold
audio with G.711 audio both ways, through a running gateway, driven by SIPp (Debian's sip-tester).

The gateway runs as run.py in a subprocess (config.toml plus a [channels.voice.sip] section for
a trunk on 127.0.0.1 and the demo tenant's number; temporary data dir; private redis-server), as
bench/chat.py starts it. Two phases:

- setups: SIPp's built-in caller scenario (`-sn uac`) at each rate (calls/s) for 5 s of calls,
  each hanging up after 1 s in the queue. Reported: calls placed, successful, failed (SIPp's own
  counts), the rate SIPp achieved, and the gateway's CPU (its process and its media workers)
  per call set up.
- held: N calls at once with SIPp's `uac_pcap` scenario, which streams G.711 A-law from a
  capture for 8 s after the answer while the gateway sends hold audio back. Reported: failed
  calls and the gateway's CPU per held call, measured over the middle of the calls.
- bridged: N calls as in held, but N agents (accounts made through the operator's API, logged
  in over /agent, available) accept them and answer with aiortc peers (bench/voice.py's, sending
  a 1 kHz tone), as the inbox does. Each agent's peer counts the frames it receives over a
  window (missing, and late: more than 60 ms after the one before), as bench/voice.py does.
  The gateway's CPU per bridged call is set against the same number of web calls (both legs
  WebRTC) measured by bench/voice.py's code in the same run, after the SIP phases.

SIPp does not check the audio it receives, so lateness is measured on the agents' side only.

    .venv/bin/python bench/sip.py                  # rates 10, 20, 40/s; 10, 20, 40 held; 10, 20, 25 bridged; ~5 min
    .venv/bin/python bench/sip.py --rates 20 --held 20 --bridged 20

It prints the figures and writes bench/results/sip-<date>T<time>.json with the machine.
Nothing is asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]  # as bench/voice.py: no shadowing by bench/*.py

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import csv  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402



def _sibling(name: str) -> Any:
    """Another benchmark script as a module (not on sys.path: bench/email.py would shadow the stdlib)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_chat, _voice = _sibling("chat"), _sibling("voice")
start_gateway, busy_seconds, cpu_seconds, machine = _chat.start_gateway, _voice.busy_seconds, _voice.cpu_seconds, _voice.machine

ROOT = _HERE.parent
NUMBER = "+4930123456"
SIPP = "/usr/bin/sipp"
PCAP = Path("/usr/share/sip-tester/g711a.pcap")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sip_config(workdir: Path, sip_port: int) -> Path:
    config = workdir / "config.toml"
    config.write_text((ROOT / "config.toml").read_text() + f"""
[channels.voice.sip]
listen = "127.0.0.1:{sip_port}"
max_calls = 10000
[[channels.voice.sip.trunks]]
name = "benchmark"
addresses = ["127.0.0.1"]
[[channels.voice.sip.numbers]]
number = "{NUMBER}"
tenant = "demo"
""")
    return config


def gateway_pids(pid: int) -> list[int]:
    """The gateway process and its children (the media workers, the forkserver...)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def gateway_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in gateway_pids(pid))


async def sipp(workdir: Path, sip_port: int, *arguments: str) -> dict[str, Any]:
    """Runs SIPp to the end; its final counters (from its statistics file)."""
    stats = workdir / f"stats-{time.monotonic_ns()}.csv"
    process = await asyncio.create_subprocess_exec(
        SIPP, f"127.0.0.1:{sip_port}", "-s", NUMBER, "-i", "127.0.0.1", "-nostdin", "-timeout", "180",
        "-trace_stat", "-stf", str(stats), "-fd", "1", *arguments, cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await process.wait()
    rows = list(csv.DictReader(stats.open(), delimiter=";")) if stats.exists() else []
    last = rows[-1] if rows else {}
    return {"placed": int(last.get("OutgoingCall(C)", 0) or 0), "successful": int(last.get("SuccessfulCall(C)", 0) or 0),
            "failed": int(last.get("FailedCall(C)", 0) or 0),
            "rate_achieved": float(last.get("CallRate(C)", 0) or 0), "sipp_exit": process.returncode}


async def setups(workdir: Path, sip_port: int, pid: int, rate: int) -> dict[str, Any]:
    calls = rate * 5
    cpu0, busy0, wall0 = gateway_cpu(pid), busy_seconds(), time.perf_counter()
    result = await sipp(workdir, sip_port, "-sn", "uac", "-r", str(rate), "-m", str(calls), "-l", str(calls), "-d", "1000")
    wall = time.perf_counter() - wall0
    cpu, busy = gateway_cpu(pid) - cpu0, busy_seconds() - busy0
    return {"rate": rate, **result, "gateway_cpu_ms_per_call": round(cpu / max(result["successful"], 1) * 1000, 1),
            "gateway_cores": round(cpu / wall, 2), "other_cores": round(max(0.0, busy - cpu) / wall, 2)}


async def held(workdir: Path, sip_port: int, pid: int, calls: int) -> dict[str, Any]:
    run = asyncio.create_task(sipp(workdir, sip_port, "-sn", "uac_pcap", "-r", str(max(calls, 10)), "-m", str(calls),
                                   "-l", str(calls)))
    await asyncio.sleep(calls / max(calls, 10) + 2.5)  # all set up and streaming
    cpu0, busy0, wall0 = gateway_cpu(pid), busy_seconds(), time.perf_counter()
    await asyncio.sleep(4.0)
    wall = time.perf_counter() - wall0
    cpu, busy = gateway_cpu(pid) - cpu0, busy_seconds() - busy0
    result = await run
    return {"calls": calls, **result, "gateway_cpu_percent_per_call": round(cpu / wall / calls * 100, 2),
            "gateway_cores": round(cpu / wall, 2), "other_cores": round(max(0.0, busy - cpu) / wall, 2)}


def long_pcap_scenario(workdir: Path, seconds: int) -> Path:
    """SIPp's uac_pcap, staying on the line `seconds` after its audio starts (it says 8)."""
    built_in = subprocess.run([SIPP, "-sd", "uac_pcap"], capture_output=True, text=True).stdout  # it exits 99 after printing
    path = workdir / "uac_pcap_long.xml"
    assert '<pause milliseconds="8000"/>' in built_in, "SIPp's uac_pcap scenario is not the one this expects"
    path.write_text(built_in.replace('<pause milliseconds="8000"/>', f'<pause milliseconds="{seconds * 1000}"/>'))
    return path


class Agents:
    """Agents in the inbox's steps: available over /agent; on a voice offer, accept the task and
    answer the call with an aiortc peer (bench/voice.py's BenchPeer, sending a 1 kHz tone)."""

    def __init__(self, url: str, accounts: list[tuple[str, str]]) -> None:
        self.url, self.accounts = url, accounts
        self.window = [0.0, 0.0]
        self.peers: list[Any] = []
        self.sockets: list[Any] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self._tone = _voice.encoded_tone(1000.0)

    async def start(self) -> None:
        import socketio

        desk = _chat.Desk(self.url, [])
        for email, password in self.accounts:
            cookie = await desk._login(email, password)
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("task.offered", self._on_offer(sio, cookie), namespace="/agent")
            await sio.connect(self.url, headers={"Cookie": f"wecc_session={cookie}"}, namespaces=["/agent"],
                              transports=["websocket"], wait_timeout=30)
            await sio.call("presence", {"status": "available"}, namespace="/agent", timeout=30)
            self.sockets.append(sio)

    def _on_offer(self, sio: Any, cookie: str) -> Any:
        async def on_offer(data: Any) -> None:
            try:
                ack = await sio.call("accept_task", {"task_id": data["task_id"]}, namespace="/agent", timeout=60)
                if not ack.get("ok"):
                    self.errors[f"accept_task: {ack.get('code')}"] += 1
                    return
                async with aiohttp.ClientSession(headers={"Cookie": f"wecc_session={cookie}"}) as http:
                    async with http.get(f"{self.url}/api/v1/conversations/{data['conversation_id']}") as resp:
                        call_id = (await resp.json())["attributes"]["call"]["id"]
                peer = _voice.BenchPeer(self._tone, self.window)
                self.peers.append(peer)
                await peer.pc.setLocalDescription(await peer.pc.createOffer())
                ack = await sio.call("call_answer", {"call_id": call_id, "sdp": peer.pc.localDescription.sdp},
                                     namespace="/agent", timeout=60)
                if not ack.get("ok"):
                    self.errors[f"call_answer: {ack.get('code')}"] += 1
                    return
                from aiortc import RTCSessionDescription

                await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
            except Exception as exc:  # noqa: BLE001 - counted, the run goes on
                self.errors[f"offer: {type(exc).__name__}"] += 1
        return on_offer

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()
        for sio in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.disconnect(), 10)


async def bridged(workdir: Path, sip_port: int, pid: int, url: str, accounts: list[tuple[str, str]]) -> dict[str, Any]:
    calls, window = len(accounts), 5.0
    agents = Agents(url, accounts)
    await agents.start()
    try:
        scenario = long_pcap_scenario(workdir, 16)
        run = asyncio.create_task(sipp(workdir, sip_port, "-sf", str(scenario), "-r", str(max(calls, 10)),
                                       "-m", str(calls), "-l", str(calls)))
        await asyncio.sleep(calls / max(calls, 10) + 5.0)  # set up, offered, answered, connected
        agents.window[:] = [time.monotonic(), time.monotonic() + window]
        cpu0, busy0, wall0 = gateway_cpu(pid), busy_seconds(), time.perf_counter()
        await asyncio.sleep(window + 0.5)
        wall = time.perf_counter() - wall0
        cpu, busy = gateway_cpu(pid) - cpu0, busy_seconds() - busy0
        legs = [peer.report(1000.0, window) for peer in agents.peers]
        result = await run
    finally:
        await agents.close()
    return {"calls": calls, **result, "answered": len(legs), "agent_errors": dict(agents.errors),
            "frames": sum(leg["frames"] for leg in legs), "expected": sum(leg["expected"] for leg in legs),
            "missing": sum(leg["missing"] for leg in legs), "late": sum(leg["gaps"] for leg in legs),
            "max_gap_ms": max((leg["max_gap_ms"] for leg in legs), default=None),
            "gateway_cpu_percent_per_call": round(cpu / wall / calls * 100, 2),
            "gateway_cores": round(cpu / wall, 2), "other_cores": round(max(0.0, busy - cpu) / wall, 2)}


async def webrtc_level(calls: int) -> dict[str, Any]:
    """bench/voice.py's measure of `calls` recorded web calls (both legs WebRTC), in this run."""
    with tempfile.TemporaryDirectory(prefix="wecc-bench-webrtc-") as record_dir:
        bridge = _voice.GatewayBridge(os.cpu_count() or 1, record_dir)
        await bridge.start()
        try:
            async with _voice.ClientPool(4, 10) as pool:
                return await _voice.measure_level(bridge, pool, calls, 5.0, 3.0, [])
        finally:
            await bridge.end_all()
            await bridge.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="10,20,40", help="call setups per second to try")
    parser.add_argument("--held", default="10,20,40", help="calls held at once to try")
    parser.add_argument("--bridged", default="10,20,25", help="calls bridged to agents at once to try")
    args = parser.parse_args()
    assert shutil.which(SIPP), "SIPp is missing: apt-get install sip-tester (make test installs it)"
    assert PCAP.exists(), f"{PCAP} is missing (Debian's sip-tester ships it)"
    with tempfile.TemporaryDirectory(prefix="wecc-bench-sip-") as temp:
        workdir = Path(temp)
        (workdir / "pcap").symlink_to(PCAP.parent)  # uac_pcap reads pcap/g711a.pcap and pcap/dtmf_2833_1.pcap
        sip_port = free_udp_port()
        server = await start_gateway(workdir, config=sip_config(workdir, sip_port))
        try:
            results: dict[str, Any] = {"setups": [], "held": [], "bridged": []}
            for rate in [int(r) for r in args.rates.split(",")]:
                figures = await setups(workdir, sip_port, server.pid, rate)
                results["setups"].append(figures)
                print(f"setups   {rate:4d}/s  placed {figures['placed']:5d}  ok {figures['successful']:5d}  "
                      f"failed {figures['failed']:3d}  SIPp avg {figures['rate_achieved']:5.1f}/s  "
                      f"| gateway {figures['gateway_cpu_ms_per_call']:6.1f} ms CPU/call, {figures['gateway_cores']} cores  "
                      f"other {figures['other_cores']}", flush=True)
            for calls in [int(c) for c in args.held.split(",")]:
                figures = await held(workdir, sip_port, server.pid, calls)
                results["held"].append(figures)
                print(f"held     {calls:4d} calls  ok {figures['successful']:5d}  failed {figures['failed']:3d}  "
                      f"| gateway {figures['gateway_cpu_percent_per_call']:5.2f} % core/call, {figures['gateway_cores']} cores  "
                      f"other {figures['other_cores']}", flush=True)
            levels = [int(c) for c in args.bridged.split(",") if c]
            # Fresh agents for each level: the last level's are in wrap-up after their calls.
            made = await _chat.create_agents(server.url, _chat._demo_settings(), sum(levels))
            for level, calls in enumerate(levels):
                first = sum(levels[:level])
                figures = await bridged(workdir, sip_port, server.pid, server.url, made[first:first + calls])
                results["bridged"].append(figures)
                print(f"bridged  {calls:4d} calls  ok {figures['successful']:5d}  failed {figures['failed']:3d}  "
                      f"answered {figures['answered']:3d}  frames {figures['frames']:6d}/{figures['expected']:6d}  "
                      f"missing {figures['missing']:4d}  late {figures['late']:4d}  max gap {figures['max_gap_ms']} ms  "
                      f"| gateway {figures['gateway_cpu_percent_per_call']:5.2f} % core/call, {figures['gateway_cores']} cores  "
                      f"other {figures['other_cores']}  {figures['agent_errors'] or ''}", flush=True)
        finally:
            server.stop()
    # The WebRTC figure in the same run: the same number of calls as the largest bridged level,
    # browser to browser (bench/voice.py's gateway path: MediaService, recorded, aiortc clients).
    webrtc = None
    if levels:
        webrtc = await webrtc_level(max(levels))
        cpu = webrtc["cpu"]["per_call_percent_of_core"]
        print(f"webrtc   {webrtc['calls']:4d} calls  frames {webrtc['frames']:6d}/{webrtc['expected']:6d}  "
              f"late or missing {webrtc['late_or_missing']:4d}  | media workers {cpu:5.2f} % core/call", flush=True)
        results["webrtc"] = webrtc
    best_rate = max((r["rate"] for r in results["setups"] if r["failed"] == 0 and r["successful"] == r["placed"] > 0), default=0)
    best_held = max((h["calls"] for h in results["held"] if h["failed"] == 0 and h["successful"] == h["calls"]), default=0)
    print(f"\ntarget ≥ 20 call setups/s with no failed call: {'MET' if best_rate >= 20 else 'NOT met'} ({best_rate}/s)")
    print(f"held on hold audio with no failed call: {best_held}")
    best_bridged = max((b["calls"] for b in results["bridged"] if b["failed"] == 0 and b["answered"] == b["calls"]
                        and b["missing"] == 0 and b["late"] == 0), default=0)
    print(f"target ≥ 20 bridged calls with no failed call and no late frame: {'MET' if best_bridged >= 20 else 'NOT met'} "
          f"({best_bridged})")
    out = ROOT / "bench" / "results" / f"sip-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "date": datetime.now(timezone.utc).isoformat(), **results}, indent=1))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())

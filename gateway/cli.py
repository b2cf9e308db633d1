"""`python run.py [--config PATH]` / `wecc`: start the gateway and run until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from gateway.app import create_app
from gateway.config import Config, ConfigError, load_config
from gateway.logs import configure_logging

log = logging.getLogger("wecc")
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config.toml"


def _banner(config: Config) -> str:
    url = config.public_url
    lines = [
        f"WECC gateway listening on http://{config.server.host}:{config.server.port}",
        f"  Agent inbox:  {url}/inbox/",
        f"  Demo page:    {url}/demo/",
        f"  API document: {url}/api/v1/openapi.json",
    ]
    if config.demo.enabled:
        lines += [
            f"  Demo agent:    {config.demo.agent_email} / {config.demo.agent_password}",
            f"  Demo operator: {config.demo.operator_email} / {config.demo.operator_password}",
        ]
    return "\n".join(lines)


async def serve(config: Config, ready: asyncio.Event | None = None) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=config.server.shutdown_timeout_seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()  # runs every cleanup_ctx start: Redis, database, migrations...
        site = web.TCPSite(runner, config.server.host, config.server.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:  # port taken, or a host that is not an address of this machine
            key = "server.port" if exc.errno == errno.EADDRINUSE else "server.host"
            raise ConfigError(config.source, key, f"cannot listen on {config.server.host}:{config.server.port}: "
                                                  f"{exc.strerror or exc}") from None
        print(_banner(config), flush=True)
        # Full collections stopped the whole process for 200-500 ms with a few thousand visitors
        # connected, every few hundred chat lines (bench/README.md). Everything made at start-up
        # (modules, the schema, pools, caches) lives as long as the process: frozen, no collection
        # walks it again. And a young generation of 10,000 objects instead of 700: with Python's
        # default, objects of requests still in flight outlived a dozen young collections, reached
        # the oldest generation and brought the next full collection on.
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 50, 20)
        if ready:
            ready.set()
        await stop.wait()
        log.info("shutting down: no new connections, finishing in-flight requests")
    finally:
        # Stops listening, lets in-flight requests finish (up to the shutdown timeout), closes
        # sockets, then unwinds cleanup_ctx in reverse: realtime, database, Redis.
        await runner.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wecc", description="Run the WECC gateway.")
    parser.add_argument("--config", default=os.environ.get("WECC_CONFIG", str(DEFAULT_CONFIG)),
                        help="path to the TOML config (default: config.toml beside run.py, or $WECC_CONFIG)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        configure_logging(config.logging.level, config.logging.format)
        asyncio.run(serve(config))
    except ConfigError as exc:
        print(f"wecc: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0

"""Browser tests: Playwright driving Debian's Chromium (installed by `make test`) against a
gateway on a real port. Screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from gateway.app import create_app
from gateway.config import Config
from tests.conftest import make_config

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        yield browser
        await browser.close()


async def serve_gateway(aiohttp_server, tmp_path: Path, **settings) -> tuple[web.Application, str, Config]:
    """A gateway listening on a free port; its public URL is that address so origins match."""
    server: TestServer = await aiohttp_server(web.Application())  # reserve nothing; just a port picker
    port = server.port
    await server.close()
    config = make_config(tmp_path / "data", server={"port": port, "public_url": f"http://127.0.0.1:{port}"}, **settings)
    app = create_app(config)
    started = await aiohttp_server(app, port=port)
    return app, str(started.make_url("")).rstrip("/"), config


@pytest.fixture
async def gateway(aiohttp_server, tmp_path: Path) -> tuple[web.Application, str, Config]:
    return await serve_gateway(aiohttp_server, tmp_path)


@pytest.fixture
async def mail_gateway(aiohttp_server, tmp_path: Path) -> tuple[web.Application, str, Config]:
    """With the email and fax channels on. Its mailboxes are never read: tests store mail as the
    intake would, directly."""
    return await serve_gateway(
        aiohttp_server, tmp_path, mail={"tenant_servers_may_be_private": True},
        channels={"chat": {"enabled": True}, "email": {"enabled": True}, "fax": {"enabled": True}},
        mailboxes={"refresh_seconds": 3600})


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10) -> Any:
    """Polls `check` until it returns something truthy, or the time is up (then its last answer)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


# Keeps the page's peer connections, so the test can ask them what they received.
KEEP_PEER_CONNECTIONS = """
(() => {
  window.__pcs = [];
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""

# Audio bytes the agent's browser received on its call's connection so far.
INBOUND_AUDIO_BYTES = """
async () => {
  let bytes = 0;
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === "closed") continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && (s.kind === "audio" || s.mediaType === "audio")) bytes += s.bytesReceived || 0;
    });
  }
  return bytes;
}
"""

OUTBOUND_AUDIO_BYTES = INBOUND_AUDIO_BYTES.replace('"inbound-rtp"', '"outbound-rtp"').replace("bytesReceived", "bytesSent")


@asynccontextmanager
async def chromium_with_fake_microphone() -> AsyncIterator[Browser]:
    """Its own Chromium (the shared fixture has no media flags): a fake microphone, allowed without asking."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield browser
        finally:
            await browser.close()


def screenshot_path(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")

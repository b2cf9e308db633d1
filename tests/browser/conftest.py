"""Browser tests: Playwright driving Debian's Chromium (installed by `make test`) against a
gateway on a real port. Screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

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


@pytest.fixture
async def gateway(aiohttp_server, tmp_path: Path) -> AsyncIterator[tuple[web.Application, str, Config]]:
    """A gateway listening on a free port; its public URL is that address so origins match."""
    server: TestServer = await aiohttp_server(web.Application())  # reserve nothing; just a port picker
    port = server.port
    await server.close()
    config = make_config(tmp_path / "data", server={"port": port, "public_url": f"http://127.0.0.1:{port}"})
    app = create_app(config)
    started = await aiohttp_server(app, port=port)
    yield app, str(started.make_url("")).rstrip("/"), config


def screenshot_path(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")

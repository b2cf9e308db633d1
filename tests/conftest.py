"""Shared fixtures. Integration tests use the real servers: SQLite files, the PostgreSQL at
127.0.0.1:5432 and the Redis at 127.0.0.1:6379 (on a database index of its own), or the embedded
redis-server the gateway starts itself."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller

from gateway.app import create_app
from gateway.config import Config
from tests.helpers import Api
from tests.mail.dovecot import Dovecot, DovecotMissing
from tests.mail.smtp import SmtpServer, free_port
from tests.realtime.support import Sockets

PG_ADMIN_DSN = os.environ.get("WECC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
EXTERNAL_REDIS = os.environ.get("WECC_TEST_REDIS", "redis://127.0.0.1:6379/9")


def make_config(data_dir: Path, **sections: dict[str, Any]) -> Config:
    base: dict[str, Any] = {"data": {"dir": str(data_dir)}, "logging": {"format": "text", "level": "WARNING"}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return Config.model_validate(base)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"wecc_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    host_part = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{host_part}/{name}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def external_redis_url() -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(EXTERNAL_REDIS)
    await client.flushdb()
    yield EXTERNAL_REDIS
    await client.flushdb()
    await client.aclose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs the test once on SQLite and once on PostgreSQL. (A plain fixture: pytest-asyncio
    cannot set up an async fixture through getfixturevalue from inside a running loop.)"""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'wecc.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture(params=["embedded", "external"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on the embedded redis-server and once on the Redis at :6379."""
    return "" if request.param == "embedded" else request.getfixturevalue("external_redis_url")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """SQLite and the embedded Redis in a temp dir, with the demo world seeded."""
    return make_config(tmp_path / "data")


@pytest.fixture
async def client(config: Config, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    # config first: its database is set up before the app and dropped only after the app stopped.
    # No shared cookie jar: each logged-in Api keeps its own, so users can act side by side.
    return await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())


@pytest.fixture
async def sockets(client: TestClient) -> AsyncIterator[Sockets]:
    """socket.io clients of the gateway behind `client`, on its real TCP port; closed at the end."""
    opened = Sockets(str(client.server.make_url("")).rstrip("/"))
    yield opened
    await opened.close()


@pytest.fixture
async def agent(client: TestClient, config: Config) -> Api:
    """The demo agent, logged in."""
    return await Api.login(client, config.demo.agent_email, config.demo.agent_password)


@pytest.fixture
async def operator(client: TestClient, config: Config) -> Api:
    return await Api.login(client, config.demo.operator_email, config.demo.operator_password)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot on loopback (STARTTLS on `imap_port`, implicit TLS on `imaps_port`, certificate
    at `cert_path`). Shared by the session: each test adds users of its own with `add_user`."""
    try:
        server = Dovecot()
    except DovecotMissing as missing:
        reason = str(missing)  # failed outside the except block: one message, not a chain of two
    else:
        reason = ""
    if reason:
        pytest.fail(reason, pytrace=False)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpServer, int]]:
    """A real SMTP server (aiosmtpd) on a free port, standing for a tenant's mail server."""
    server, port = SmtpServer(), free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    yield server, port
    controller.stop()

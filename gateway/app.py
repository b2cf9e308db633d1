"""Builds the aiohttp application: components start in order in cleanup_ctx and stop in reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import sqlalchemy as sa
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from gateway.api.errors import error_middleware
from gateway.api.routes import build_api
from gateway.auth.middleware import auth_middleware
from gateway.auth.sessions import SessionStore
from gateway.channel import setup_channels
from gateway.config import Config, ConfigError
from gateway.db.engine import create_engine
from gateway.db.migrate import migrate
from gateway.embedded_redis import EmbeddedRedis
from gateway.events.bus import EventBus
from gateway.events.webhooks import setup_webhooks
from gateway.mail.intake import setup_mail_intake
from gateway.mail.outbox import setup_mail
from gateway.keys import API, CONFIG, FILES, DB, EVENTS, LIMITER, REDIS, SESSIONS
from gateway.logs import request_id_middleware
from gateway.ops.health import setup_health
from gateway.ops.metrics import metrics_middleware, setup_metrics
from gateway.ratelimit import RateLimiter
from gateway.realtime.server import setup_realtime
from gateway.routing.service import setup_routing
from gateway.seed import seed_demo
from gateway.storage.files import FileStore
from gateway.web.pages import setup_pages

log = logging.getLogger(__name__)
EMBEDDED_REDIS = web.AppKey("embedded_redis", EmbeddedRedis)


def _unreachable(config: Config, key: str, exc: BaseException) -> ConfigError:
    detail = str(exc).strip() or type(exc).__name__
    return ConfigError(config.source, key, f"cannot connect: {detail}")


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    embedded = None
    url = config.redis.url
    if not url:
        embedded = EmbeddedRedis(config.data_dir)
        try:
            await embedded.start()
        except RuntimeError as exc:
            raise ConfigError(config.source, "redis.url", f"the embedded redis-server did not start: {exc}") from None
        app[EMBEDDED_REDIS] = embedded
        url = embedded.url
    # A blocking pool: under a burst, calls wait (up to the timeout) for a free connection instead
    # of failing at once with "Too many connections" (redis-py's default pool).
    pool = BlockingConnectionPool.from_url(url, decode_responses=True, health_check_interval=30,
                                           max_connections=config.redis.max_connections, timeout=config.redis.pool_timeout_seconds)
    redis = Redis(connection_pool=pool)
    try:
        await asyncio.wait_for(redis.ping(), timeout=5)
    except Exception as exc:
        await redis.aclose()
        if embedded:
            await embedded.stop()
        raise _unreachable(config, "redis.url", exc) from None
    app[REDIS] = redis
    app[SESSIONS] = SessionStore(redis, config.auth.session_ttl_seconds)
    app[LIMITER] = RateLimiter(redis)
    yield
    await redis.aclose()
    if embedded:
        await embedded.stop()


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    engine = create_engine(config.database_url, pool_size=config.database.pool_size, echo=config.database.echo)
    try:
        async with asyncio.timeout(10):
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        await engine.dispose()
        raise _unreachable(config, "database.url", exc) from None
    await migrate(engine)
    app[DB] = engine
    if config.demo.enabled:
        await seed_demo(engine, config)
    yield
    await engine.dispose()


def create_app(config: Config) -> web.Application:
    app = web.Application(
        client_max_size=config.server.max_request_bytes,
        middlewares=[request_id_middleware, metrics_middleware, error_middleware, auth_middleware],
    )
    app[CONFIG] = config
    app[FILES] = FileStore(config.data_dir / "files")
    app[EVENTS] = EventBus()
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(database_ctx)
    setup_routing(app)
    setup_channels(app)
    setup_realtime(app)
    setup_webhooks(app)
    setup_mail(app)
    setup_mail_intake(app)
    setup_health(app)
    setup_metrics(app)
    app[API] = build_api()
    app[API].install(app)
    setup_pages(app)
    return app

"""The application's components, each hung off the aiohttp Application under one of these keys
(no module-level state). Components that need others look them up here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Config

if TYPE_CHECKING:
    from gateway.api.registry import ApiRegistry
    from gateway.channel import ChannelRegistry
    from gateway.auth.sessions import SessionStore
    from gateway.events.bus import EventBus
    from gateway.events.webhooks import WebhookWorker
    from gateway.mail.intake import MailIntake
    from gateway.mail.outbox import MailWorker
    from gateway.ops.metrics import Metrics
    from gateway.ratelimit import RateLimiter
    from gateway.routing.service import RoutingService
    from gateway.realtime.server import SocketServer
    from gateway.storage.files import FileStore

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", AsyncEngine)
REDIS = web.AppKey("redis", Redis)
SESSIONS = web.AppKey("sessions", "SessionStore")
LIMITER = web.AppKey("limiter", "RateLimiter")
EVENTS = web.AppKey("events", "EventBus")
METRICS = web.AppKey("metrics", "Metrics")
CHANNELS = web.AppKey("channels", "ChannelRegistry")
SOCKETS = web.AppKey("sockets", "SocketServer")
WEBHOOKS = web.AppKey("webhooks", "WebhookWorker")
API = web.AppKey("api", "ApiRegistry")
FILES = web.AppKey("files", "FileStore")
ROUTING = web.AppKey("routing", "RoutingService")
MAIL = web.AppKey("mail", "MailWorker")
MAIL_INTAKE = web.AppKey("mail_intake", "MailIntake")
MEDIA = web.AppKey("media", "MediaService")

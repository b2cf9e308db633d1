"""Tenant webhooks: delivers the domain events queued in `webhook_deliveries` (the outbox that
`record_event` fills in the same transaction as the change) to the tenant's URLs.

The worker wakes on every event published in this process that queued deliveries, and polls every
`webhooks.poll_seconds` for the rest (retries that came due, events recorded by other processes).
A delivery is claimed with one conditional UPDATE, so any number of gateway processes can run the
worker and each delivery is attempted by one of them at a time. Delivery is at least once: a
process that stops mid-request leaves its claim to expire and the delivery is sent again.

Each delivery is a POST of the event as JSON (`DomainEvent.as_json()`) with these headers:

    X-WECC-Event      the event type, e.g. message.created
    X-WECC-Delivery   the delivery id; the same on every retry of it (deduplicate on it)
    X-WECC-Timestamp  unix seconds when this attempt was signed
    X-WECC-Signature  sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}" keyed with the secret>

Verifying a delivery (the receiver's side):
  1. Take the raw body bytes as received, before any JSON parsing.
  2. Compute HMAC-SHA256 with the webhook's secret (UTF-8) as key over
     the X-WECC-Timestamp value, a ".", then the raw body.
  3. Compare "sha256=" + the lower-case hex digest with X-WECC-Signature in constant time.
  4. Refuse timestamps more than a few minutes from your clock, so old deliveries can't be replayed.
In Python:

    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    valid = hmac.compare_digest("sha256=" + expected, signature_header)

A 2xx answer marks the delivery delivered. Anything else (another status, a redirect — never
followed —, a timeout, a refused connection) counts as a failed attempt and is retried after
`first_retry_seconds * 2 ** (attempts - 1)` (±10 % jitter), until `max_attempts` attempts: then the
delivery is `failed`, and an admin can retry it by hand (one more attempt).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import WebhookConfig
from gateway.db import schema as t
from gateway.db.schema import utcnow
from gateway.events.bus import DomainEvent
from gateway.events.targets import PublicOnlyResolver, UnsafeTarget, check_literal_host
from gateway.keys import CONFIG, DB, EVENTS, WEBHOOKS

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
_BATCH = 100
_MAX_BACKOFF_SECONDS = 24 * 3600
_USER_AGENT = "WECC-Webhooks/1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-WECC-Signature value for a body sent at `timestamp` (see the module docstring)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def retry_delay(config: WebhookConfig, attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt."""
    base = min(config.first_retry_seconds * 2 ** (attempts - 1), _MAX_BACKOFF_SECONDS)
    return base * random.uniform(0.9, 1.1)


class WebhookWorker:
    def __init__(self, engine: AsyncEngine, config: WebhookConfig) -> None:
        self._engine = engine
        self._config = config
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(config.concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ----
    async def start(self) -> None:
        resolver = None if self._config.allow_private_addresses else PublicOnlyResolver()
        connector = aiohttp.TCPConnector(limit=self._config.concurrency, resolver=resolver)
        self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": _USER_AGENT})
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        self._wake.set()

    async def on_event(self, event: DomainEvent) -> None:
        # Only events that queued deliveries: a pass for every chat line would cost a query each.
        # Deliveries queued by other processes, and retries, come with the poll.
        if event.webhook_deliveries:
            self.wake()

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("webhook worker pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self._config.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    # ---- one pass ----
    async def deliver_due(self) -> int:
        """Attempt every delivery that is due and not claimed elsewhere; the number attempted."""
        attempted = 0
        while True:
            due = await self._due_ids()
            claimed = [delivery_id for delivery_id in due if await self._claim(delivery_id)]
            results = await asyncio.gather(*(self._attempt(delivery_id) for delivery_id in claimed), return_exceptions=True)
            for delivery_id, result in zip(claimed, results):
                if isinstance(result, Exception):  # its claim expires and it is tried again
                    log.error("webhook attempt crashed", exc_info=result, extra={"delivery_id": delivery_id})
            attempted += len(claimed)
            if len(due) < _BATCH:
                return attempted

    def _unlocked(self, now: Any) -> sa.ColumnElement[bool]:
        d = t.webhook_deliveries
        return sa.and_(
            d.c.status == "pending",
            d.c.next_attempt_at <= now,
            sa.or_(d.c.locked_until.is_(None), d.c.locked_until < now),
        )

    async def _due_ids(self) -> list[str]:
        d, w = t.webhook_deliveries, t.webhooks
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(d.c.id)
                .join(w, w.c.id == d.c.webhook_id)
                .where(self._unlocked(utcnow()), w.c.active.is_(True))
                .order_by(d.c.next_attempt_at)
                .limit(_BATCH)
            )
            return list(rows.scalars())

    async def _claim(self, delivery_id: str) -> bool:
        """Atomic across processes: only one UPDATE can find the row unlocked."""
        now = utcnow()
        lock = timedelta(seconds=self._config.timeout_seconds + 30)
        d = t.webhook_deliveries
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(d).where(d.c.id == delivery_id, self._unlocked(now)).values(locked_until=now + lock)
            )
        return result.rowcount == 1

    async def _attempt(self, delivery_id: str) -> None:
        d, w, e = t.webhook_deliveries, t.webhooks, t.events
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        d.c.id, d.c.tenant_id, d.c.webhook_id, d.c.attempts, w.c.url, w.c.secret,
                        e.c.id.label("event_id"), e.c.type, e.c.data, e.c.created_at, e.c.conversation_id, e.c.actor,
                    )
                    .join(w, w.c.id == d.c.webhook_id)
                    .join(e, e.c.id == d.c.event_id)
                    .where(d.c.id == delivery_id)
                )
            ).first()
        if row is None:  # the webhook was deleted meanwhile
            return
        event = DomainEvent(row.event_id, row.type, row.tenant_id, row.data, row.created_at, row.conversation_id, row.actor)
        body = json.dumps(event.as_json(), separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-WECC-Event": event.type,
            "X-WECC-Delivery": row.id,
            "X-WECC-Timestamp": timestamp,
            "X-WECC-Signature": sign(row.secret, timestamp, body),
        }
        async with self._slots:
            status, error = await self._post(row.url, body, headers)
        await self._record(row, status, error)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """(HTTP status or None, error or None); error None means delivered."""
        assert self._session is not None
        try:
            if not self._config.allow_private_addresses:
                check_literal_host(urlsplit(url).hostname or "")
            async with self._session.post(
                url, data=body, headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_seconds),
            ) as response:
                head = await response.content.read(MAX_RESPONSE_BYTES)
                if 200 <= response.status < 300:
                    return response.status, None
                text = head[:200].decode("utf-8", "replace").strip()
                redirect = " (redirects are not followed)" if 300 <= response.status < 400 else ""
                return response.status, f"HTTP {response.status}{redirect}" + (f": {text}" if text else "")
        except UnsafeTarget as exc:
            return None, str(exc)
        except TimeoutError:
            return None, f"no answer within {self._config.timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"

    async def _record(self, row: Any, status: int | None, error: str | None) -> None:
        now = utcnow()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status_code": status, "locked_until": None, "updated_at": now}
        log_extra = {"delivery_id": row.id, "webhook_id": row.webhook_id, "tenant_id": row.tenant_id, "status_code": status}
        if error is None:
            values.update(status="delivered", last_error=None)
            log.info("webhook delivered", extra=log_extra)
        elif attempts >= self._config.max_attempts:
            values.update(status="failed", last_error=error[:500])
            log.warning("webhook delivery failed for good", extra={**log_extra, "attempts": attempts, "error": error})
        else:
            delay = retry_delay(self._config, attempts)
            values.update(last_error=error[:500], next_attempt_at=now + timedelta(seconds=delay))
            log.info("webhook delivery failed; will retry", extra={**log_extra, "attempts": attempts, "error": error})
        d = t.webhook_deliveries
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(d).where(d.c.id == row.id, d.c.tenant_id == row.tenant_id).values(**values))


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    worker = WebhookWorker(app[DB], app[CONFIG].webhooks)
    app[WEBHOOKS] = worker
    app[EVENTS].subscribe(worker.on_event)
    await worker.start()
    yield
    await worker.stop()


def setup_webhooks(app: web.Application) -> None:
    """Call after the database's cleanup context is registered: the worker needs it running."""
    app.cleanup_ctx.append(webhooks_ctx)

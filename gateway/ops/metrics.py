"""Prometheus metrics at /metrics: requests, socket connections, queue sizes, event lag.

One registry per application (not prometheus_client's global one), so several apps in one
process — tests do that — never share counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.db import schema as t
from gateway.events.bus import DomainEvent
from gateway.keys import DB, EVENTS, METRICS


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("wecc_http_requests", "HTTP requests served", ["method", "route", "status"], registry=r)
        self.request_seconds = Histogram("wecc_http_request_seconds", "HTTP request duration", ["route"], registry=r)
        self.socket_connections = Gauge("wecc_socket_connections", "Open socket.io connections", ["namespace"], registry=r)
        self.queued_tasks = Gauge("wecc_queued_tasks", "Tasks waiting in queue", ["tenant", "channel"], registry=r)
        self.event_lag = Histogram(
            "wecc_event_lag_seconds",
            "Time from an event being recorded to its publication to listeners",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
            registry=r,
        )
        self.events = Counter("wecc_events", "Domain events published", ["type"], registry=r)

    async def on_event(self, event: DomainEvent) -> None:
        self.events.labels(event.type).inc()
        self.event_lag.observe(max(0.0, time.time() - event.created_at.timestamp()))


@web.middleware
async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    metrics = request.app[METRICS]
    # The route template, not the path: ids in paths would explode the label set.
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.request_seconds.labels(route).observe(time.perf_counter() - started)


async def serve_metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    async with request.app[DB].connect() as conn:
        rows = (
            await conn.execute(
                sa.select(t.tasks.c.tenant_id, t.tasks.c.channel, sa.func.count())
                .where(t.tasks.c.state == "queued")
                .group_by(t.tasks.c.tenant_id, t.tasks.c.channel)
            )
        ).all()
    metrics.queued_tasks.clear()
    for tenant_id, channel, count in rows:
        metrics.queued_tasks.labels(tenant_id, channel).set(count)
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_metrics(app: web.Application) -> None:
    app[METRICS] = Metrics()
    app.router.add_get("/metrics", serve_metrics)

    async def subscribe(app: web.Application) -> None:
        app[EVENTS].subscribe(app[METRICS].on_event)

    app.on_startup.append(subscribe)

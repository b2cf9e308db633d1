"""Reports for a tenant's supervisors and admins, as JSON for the inbox's charts and tables or as
CSV for a spreadsheet. The figures and what they mean: gateway/reports/traffic.py."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.auth.principal import SUPERVISE
from gateway.db import schema as t
from gateway.keys import DB
from gateway.reports import traffic
from gateway.reports.periods import Period, PeriodError


class TrafficQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date | None = Field(None, alias="from")  # the first day, in the tenant's time zone (default: today)
    end: date | None = Field(None, alias="to")  # the last day, included (default: the first)
    interval: Literal["15", "30", "60", "none"] = "60"
    by: traffic.GroupBy = "queue"
    format: Literal["json", "csv"] = "json"


class TrafficReport(BaseModel):
    tenant_id: str
    timezone: str
    start: date
    end: date
    interval: str
    by: str
    figures: list[str]
    rows: list[dict[str, Any]]
    totals: list[dict[str, Any]]


NO_QUEUE = "(no queue)"


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/reports/traffic", summary="Offered, handled, abandoned, service level and more, per interval",
               tag="reports", query=TrafficQuery, response=TrafficReport, errors=(404, 422))
    async def traffic_report(call: Call) -> Any:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        query: TrafficQuery = call.query
        async with call.app[DB].connect() as conn:
            zone = (await conn.execute(sa.select(t.tenants.c.timezone).where(t.tenants.c.id == tenant_id))).scalar_one_or_none()
            if zone is None:
                raise not_found("tenant")
            first = query.start or Period.today(zone)
            last = query.end or first
            try:
                period = Period.of(first, last, zone, None if query.interval == "none" else int(query.interval))
            except PeriodError as err:
                raise ApiError(422, "invalid_range", str(err)) from None
            works = await traffic.load(conn, tenant_id, period)
            labels = await _labels(conn, tenant_id, query.by)
        rows, totals = traffic.rows(works, period, query.by, labels)
        names = list(traffic.AGENT_FIGURES if query.by == "agent" else traffic.QUEUE_FIGURES)
        if query.format == "csv":
            return _csv(f"traffic-{first}-{last}-{query.by}.csv", rows, names)
        return TrafficReport(tenant_id=tenant_id, timezone=period.zone.key, start=first, end=last,
                             interval=query.interval, by=query.by, figures=names, rows=rows, totals=totals)


async def _labels(conn: Any, tenant_id: str, by: str) -> dict[str, str]:
    """What the groups are called: queue and agent names (a removed agent keeps theirs)."""
    if by == "queue":
        names = dict((await conn.execute(sa.select(t.queues.c.id, t.queues.c.name).where(t.queues.c.tenant_id == tenant_id))).all())
        return {"": NO_QUEUE, **names}
    if by == "agent":
        agents = sa.select(t.task_events.c.agent_id).where(t.task_events.c.tenant_id == tenant_id).distinct().scalar_subquery()
        return dict((await conn.execute(sa.select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(agents)))).all())
    return {"": "All"} if by == "tenant" else {}


def _csv(filename: str, rows: list[dict[str, Any]], names: list[str]) -> web.Response:
    """One line per interval and group; empty cells where a figure has no value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start", "end", "group", *names])
    for row in rows:
        writer.writerow([row["start"], row["end"], _safe(row["label"]), *("" if row[n] is None else row[n] for n in names)])
    return web.Response(body=out.getvalue().encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _safe(text: str) -> str:
    """A spreadsheet must not run a name as a formula (CSV injection): such cells start with a quote."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

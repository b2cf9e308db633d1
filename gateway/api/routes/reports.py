"""Reports, as JSON for the inbox's charts and tables or as CSV for a spreadsheet: the traffic
report for a tenant's supervisors and admins (gateway/reports/traffic.py says what each figure
means), and seat usage for the tenant's admins and, across every business, for the operator's
billing (gateway/reports/seats.py)."""

from __future__ import annotations

import asyncio

import csv
import io
from datetime import date
from functools import cache
from zoneinfo import available_timezones
from typing import Any, Literal

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.auth.principal import ADMIN, SUPERVISE
from gateway.db import schema as t
from gateway.keys import DB
from gateway.reports import seats, traffic
from gateway.reports.coalesce import Coalescer
from gateway.reports.periods import Period, PeriodError
from gateway.reports.wallboard import wallboard


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


class SeatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date | None = Field(None, alias="from")  # the first day (default: today)
    end: date | None = Field(None, alias="to")  # the last day, included (default: the first)
    timezone: str = Field("UTC", max_length=64)  # whose days (the operator's report; a tenant's uses its own)
    format: Literal["json", "csv"] = "json"


class SeatRow(BaseModel):
    tenant_id: str
    tenant: str
    agent_id: str
    agent: str
    logged_in_seconds: int
    work_seconds: int
    handled: int


class SeatsReport(BaseModel):
    timezone: str
    start: date
    end: date
    rows: list[SeatRow]


class WallboardOut(BaseModel):
    tenant_id: str
    timezone: str
    today: dict[str, Any]
    queues: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    agents_by_presence: dict[str, int]


NO_QUEUE = "(no queue)"
SEAT_COLUMNS = ["tenant", "agent", "logged_in_seconds", "work_seconds", "handled"]


def register(api: ApiRegistry) -> None:
    # Every supervisor's board refetches on the same events: one computation per business at a time.
    boards: Coalescer[dict[str, Any] | None] = Coalescer()

    @api.route("GET", "/tenants/{tenant_id}/reports/traffic", summary="Offered, handled, abandoned, service level and more, per interval",
               tag="reports", query=TrafficQuery, response=TrafficReport, errors=(404, 422))
    async def traffic_report(call: Call) -> Any:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        query: TrafficQuery = call.query
        zone = await _tenant_zone(call, tenant_id)
        async with call.app[DB].connect() as conn:
            first = query.start or Period.today(zone)
            last = query.end or first
            try:
                period = Period.of(first, last, zone, None if query.interval == "none" else int(query.interval))
            except PeriodError as err:
                raise ApiError(422, "invalid_range", str(err)) from None
            works = await traffic.load(conn, tenant_id, period)
            labels = await _labels(conn, tenant_id, query.by, works)
        rows, totals = await asyncio.to_thread(traffic.rows, works, period, query.by, labels)  # 93 days of tallies: not on the loop
        names = list(traffic.AGENT_FIGURES if query.by == "agent" else traffic.QUEUE_FIGURES)
        if query.format == "csv":
            return _csv(f"traffic-{first}-{last}-{query.by}.csv", rows, names)
        return TrafficReport(tenant_id=tenant_id, timezone=period.zone.key, start=first, end=last,
                             interval=query.interval, by=query.by, figures=names, rows=rows, totals=totals)

    @api.route("GET", "/tenants/{tenant_id}/wallboard", summary="The live wallboard: queues, today's figures, agents and their work",
               tag="reports", response=WallboardOut, errors=(404,))
    async def tenant_wallboard(call: Call) -> WallboardOut:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        board = await boards.run(tenant_id, lambda: wallboard(call.app, tenant_id))
        if board is None:
            raise not_found("tenant")
        return WallboardOut(**board)

    @api.route("GET", "/tenants/{tenant_id}/reports/seats", summary="The business's seat usage: agents' logged-in and work time",
               tag="reports", query=SeatsQuery, response=SeatsReport, errors=(404, 422))
    async def tenant_seats(call: Call) -> Any:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        return await _seats(call, await _tenant_zone(call, tenant_id), call.query, tenant_id)

    @api.route("GET", "/reports/seats", summary="Seat usage of every business, for billing (operator)",
               tag="reports", query=SeatsQuery, response=SeatsReport, errors=(403, 422))
    async def all_seats(call: Call) -> Any:
        call.user.require_operator()
        query: SeatsQuery = call.query
        if query.timezone not in _zones():
            raise ApiError(422, "invalid_timezone", f"no time zone {query.timezone!r}")
        return await _seats(call, query.timezone, query, None)


async def _seats(call: Call, zone: str, query: SeatsQuery, tenant_id: str | None) -> Any:
    first = query.start or Period.today(zone)
    last = query.end or first
    try:
        period = Period.of(first, last, zone, None)
    except PeriodError as err:
        raise ApiError(422, "invalid_range", str(err)) from None
    async with call.app[DB].connect() as conn:
        found = await seats.load(conn, period, tenant_id)
        tenants = dict((await conn.execute(sa.select(t.tenants.c.id, t.tenants.c.name))).all())
        agents = dict((await conn.execute(sa.select(t.users.c.id, t.users.c.name).where(
            t.users.c.id.in_({s.agent_id for s in found})))).all())
    rows = seats.rows(found, tenants, agents)
    if query.format == "csv":
        return _table_csv(f"seats-{first}-{last}.csv", SEAT_COLUMNS, [[row[c] for c in SEAT_COLUMNS] for row in rows])
    return SeatsReport(timezone=period.zone.key, start=first, end=last, rows=[SeatRow(**row) for row in rows])


@cache
def _zones() -> frozenset[str]:
    """The tz database's zone names (read from disk once)."""
    return frozenset(available_timezones())


async def _tenant_zone(call: Call, tenant_id: str) -> str:
    async with call.app[DB].connect() as conn:
        zone = (await conn.execute(sa.select(t.tenants.c.timezone).where(t.tenants.c.id == tenant_id))).scalar_one_or_none()
    if zone is None:
        raise not_found("tenant")
    return zone


async def _labels(conn: Any, tenant_id: str, by: str, works: list[traffic.Work]) -> dict[str, str]:
    """What the groups are called: queue and agent names (a removed agent keeps theirs)."""
    if by == "queue":
        names = dict((await conn.execute(sa.select(t.queues.c.id, t.queues.c.name).where(t.queues.c.tenant_id == tenant_id))).all())
        return {"": NO_QUEUE, **names}
    if by == "agent":
        agents = traffic.agents_in(works)
        return dict((await conn.execute(sa.select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(agents)))).all()) if agents else {}
    return {"": "All"} if by == "tenant" else {}


def _csv(filename: str, rows: list[dict[str, Any]], names: list[str]) -> web.Response:
    """One line per interval and group; empty cells where a figure has no value."""
    return _table_csv(filename, ["start", "end", "group", *names],
                      [[row["start"], row["end"], row["label"], *(row[n] for n in names)] for row in rows])


def _table_csv(filename: str, header: list[str], lines: list[list[Any]]) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for line in lines:
        writer.writerow(["" if cell is None else _safe(cell) if isinstance(cell, str) else cell for cell in line])
    return web.Response(body=out.getvalue().encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _safe(text: str) -> str:
    """A spreadsheet must not run a name as a formula (CSV injection): such cells start with a quote."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

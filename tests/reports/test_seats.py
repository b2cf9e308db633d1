"""Seat usage, what the center bills its client businesses for, over a scripted day (the clock held
by time-machine, the steps through the real gateway). Ann serves two businesses, Demo and Acme:
  09:00 available; 09:10 takes a Demo chat, done 09:40 (30 min of Demo's work)
  10:00 takes an Acme e-mail, transfers it to Acme's queue at 10:20 (20 min of Acme's work)
  12:00 away (still signed in); 13:00 offline; 14:00 available; 16:00 Acme lets her go; 17:00 offline
So she was signed in 4 h + 3 h = 7 h for Demo, and 4 h + 2 h = 6 h for Acme. Her time is hers in each
business she serves (both could have given her work): how to bill a shared seat is the center's call,
and the work time per business is there to split it by."""

from __future__ import annotations

from datetime import datetime, timezone

import time_machine
from aiohttp.test_utils import TestClient

from gateway.keys import ROUTING
from tests.helpers import Api
from tests.realtime.support import PASSWORD, add_member
from tests.reports.test_traffic import Day

DAY = "2026-11-23"


def utc(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00").astimezone(timezone.utc)


async def test_seat_usage_per_business_and_agent(client: TestClient, operator: Api, agent: Api) -> None:
    demo = agent.tenant_id()
    acme = (await operator.post("/api/v1/tenants", 201, json={"slug": "acme", "name": "Acme", "allowed_origins": []}))["id"]
    ann_api = await add_member(client, operator, demo, "ann@seats.example", "agent")
    ann = ann_api.me["user"]["id"]
    await operator.post(f"/api/v1/tenants/{acme}/members", 201, json={"email": "ann@seats.example", "password": PASSWORD, "role": "agent"})
    acme_admin = await add_member(client, operator, acme, "admin@acme.example", "tenant_admin")
    acme_queue = (await operator.post(f"/api/v1/tenants/{acme}/queues", 201, json={"name": "Acme support"}))["id"]
    demo_name = next(m["tenant_name"] for m in agent.me["memberships"] if m["tenant_id"] == demo)

    with time_machine.travel(utc("08:00"), tick=False) as traveller:
        at_demo, at_acme = Day(client, demo, traveller), Day(client, acme, traveller)
        await at_demo.presence(utc("09:00"), ann, "available")
        _, chat = await at_demo.arrives(utc("09:10"), "chat", None, "seat-visitor")
        await at_demo.taken(utc("09:10"), chat, ann)
        await at_demo.done(utc("09:40"), chat, ann)
        _, mail = await at_acme.arrives(utc("10:00"), "email", None, "seat-mailer")
        await at_acme.taken(utc("10:00"), mail, ann)
        at_acme.at(utc("10:20"))
        await client.app[ROUTING].transfer(mail, ann, queue_id=acme_queue)  # back to Acme's queue, for someone else
        await at_acme.presence(utc("12:00"), ann, "away")
        await at_acme.presence(utc("13:00"), ann, "offline")
        await at_acme.presence(utc("14:00"), ann, "available")
        at_acme.at(utc("16:00"))
        await operator.delete(f"/api/v1/tenants/{acme}/members/{ann}")  # Acme no longer rents her seat
        await at_acme.presence(utc("17:00"), ann, "offline")
        traveller.move_to(utc("23:00"))

        everyone = await operator.get("/api/v1/reports/seats", params={"from": DAY, "to": DAY})
        mine = {row["tenant"]: row for row in everyone["rows"] if row["agent_id"] == ann}
        assert (mine[demo_name]["logged_in_seconds"], mine[demo_name]["work_seconds"], mine[demo_name]["handled"]) == (7 * 3600, 1800, 1)
        assert (mine["Acme"]["logged_in_seconds"], mine["Acme"]["work_seconds"], mine["Acme"]["handled"]) == (6 * 3600, 1200, 1)

        # Acme's admin sees Acme's seats only; an agent none; the all-business report is the operator's.
        theirs = await acme_admin.get(f"/api/v1/tenants/{acme}/reports/seats", params={"from": DAY})
        assert {row["tenant_id"] for row in theirs["rows"]} == {acme}
        await acme_admin.get(f"/api/v1/tenants/{demo}/reports/seats", expect=404, params={"from": DAY})
        await acme_admin.get("/api/v1/reports/seats", expect=403)
        await ann_api.get(f"/api/v1/tenants/{demo}/reports/seats", expect=403)
        assert (await operator.get("/api/v1/reports/seats", expect=422, params={"timezone": "Mars/Olympus"}))["code"] == "invalid_timezone"

        response = await operator.request("GET", "/api/v1/reports/seats", params={"from": DAY, "format": "csv"})
        lines = (await response.text()).splitlines()
        assert lines[0] == "tenant,agent,logged_in_seconds,work_seconds,handled"
        assert f"{demo_name},ann@seats.example,25200,1800,1" in lines

"""The traffic report over a scripted day, with known answers. The day is played through the real
gateway (routing's engine in Redis, its history in SQL, the messages and ratings as the channels
keep them) with the clock held and moved by time-machine, so every step happens at a known time.
Then each figure of the report, by queue, channel, agent and interval, is checked against the
answer worked out by hand below.

The day, 2026-11-23 in Berlin (UTC+1). Sales's target is 20 s, Support's 60 s (a queue's default),
for every channel in it: e-mail answered in 2 minutes is late there.
  00:30 chat C0, Sales: Ann takes it after 5 s, done 5 min later.          (before 01:00 UTC+1:
        the day starts at 23:00 UTC the evening before)
  09:05 chat C1, Sales: Ann after 10 s, done after 6 min; rated 5.
  09:20 chat C2, Sales: Ann after 30 s (late), done after 5 min; rated 3.
  09:40 call V1, Support: nobody there; the caller hangs up after 90 s.     (abandoned, late)
  09:50 call V2, Support: the caller hangs up after 30 s.                    (abandoned, in time)
  10:05 call V3, Support: offered to Ann, who declines; Bob takes it after 40 s, done after 10 min.
  10:30 e-mail E1, Support: Bob after 120 s; replies 10 min after it came; done after 9 min.
  11:00 fax F1, Support: Bob after 30 s; replies after 20 min; done after 20.5 min.
  11:30 callback CB1, Support: Bob after 15 min, done after 5 min.          (not timed)
  00:30 the next day: a chat that belongs to the next day's report.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.core.contacts import identify_contact
from gateway.core.conversations import append_message, enqueue_task, open_conversation
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import DB, EVENTS, ROUTING
from tests.conftest import make_config
from tests.helpers import Api
from tests.realtime.support import add_member

UTC = timezone.utc
DAY = "2026-11-23"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Offers ring and wrap-ups last longer than the script takes for any: only the script moves work on.
    return make_config(tmp_path / "data", routing={"ring_seconds": 600.0, "wrapup_seconds": 86400.0, "sticky_seconds": 0.0})


def berlin(hhmm: str, day: str = DAY, seconds: float = 0) -> datetime:
    """That wall-clock time in Berlin (UTC+1 in November), as UTC."""
    local = datetime.fromisoformat(f"{day}T{hhmm}:00+01:00") + timedelta(seconds=seconds)
    return local.astimezone(UTC)


class Day:
    """Plays the script: the clock is held at each step's time."""

    def __init__(self, client: TestClient, tenant_id: str, traveller: Any) -> None:
        self.app = client.app
        self.tenant_id = tenant_id
        self.clock = traveller

    def at(self, moment: datetime) -> None:
        self.clock.move_to(moment)

    async def arrives(self, moment: datetime, channel: str, queue_id: str, who: str) -> tuple[str, str]:
        self.at(moment)
        async with self.app[DB].begin() as conn:
            contact = await identify_contact(conn, self.tenant_id, "visitor", who)
            conversation_id, opened = await open_conversation(conn, self.tenant_id, contact.contact_id, channel)
            task_id, queued = await enqueue_task(conn, self.tenant_id, conversation_id, channel, queue_id=queue_id)
        await self.app[EVENTS].publish(*contact.events, opened, *queued)
        return conversation_id, task_id

    async def state(self, task_id: str) -> tuple[str, str | None]:
        async with self.app[DB].connect() as conn:
            row = (await conn.execute(sa.select(t.tasks.c.state, t.tasks.c.assigned_agent_id).where(t.tasks.c.id == task_id))).one()
        return row.state, row.assigned_agent_id

    async def until(self, task_id: str, state: str, agent_id: str | None = None) -> None:
        """Routing works on its own (the offer follows the queued event): wait, in real time, for it."""
        for _ in range(500):
            now = await self.state(task_id)
            if now[0] == state and (agent_id is None or now[1] == agent_id):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"task {task_id} is {now}, not {state} for {agent_id}")

    async def presence(self, moment: datetime, user_id: str, status: str) -> None:
        self.at(moment)
        await self.app[ROUTING].set_presence(user_id, status)

    async def taken(self, moment: datetime, task_id: str, user_id: str) -> None:
        await self.until(task_id, "offered", user_id)
        self.at(moment)
        await self.app[ROUTING].accept(task_id, user_id)
        await self.until(task_id, "assigned", user_id)

    async def done(self, moment: datetime, task_id: str, user_id: str) -> None:
        self.at(moment)
        await self.app[ROUTING].complete(task_id, user_id)
        await self.until(task_id, "done")

    async def declined(self, moment: datetime, task_id: str, user_id: str) -> None:
        await self.until(task_id, "offered", user_id)
        self.at(moment)
        await self.app[ROUTING].reject(task_id, user_id)

    async def hangs_up(self, moment: datetime, task_id: str) -> None:
        self.at(moment)
        await self.app[ROUTING].cancel(task_id, "abandoned")
        await self.until(task_id, "abandoned")

    async def replies(self, moment: datetime, conversation_id: str, user_id: str) -> None:
        self.at(moment)
        async with self.app[DB].begin() as conn:
            appended = await append_message(conn, self.tenant_id, conversation_id, kind="message", author_type="agent",
                                            author_id=user_id, body_text="Thank you, done.")
        await self.app[EVENTS].publish(*appended.events)

    async def rated(self, moment: datetime, conversation_id: str, score: int) -> None:
        """As the chat channel keeps a rating (ChannelContext.annotate)."""
        self.at(moment)
        async with self.app[DB].begin() as conn:
            await record_event(conn, "conversation.rated", self.tenant_id,
                               {"conversation_id": conversation_id, "csat": {"score": score, "comment": ""}},
                               conversation_id=conversation_id, actor="channel:chat")


async def play_the_day(client: TestClient, operator: Api, tenant_id: str) -> dict[str, str]:
    await operator.patch(f"/api/v1/tenants/{tenant_id}", json={"timezone": "Europe/Berlin"})
    sales = (await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201,
                                 json={"name": "Sales", "settings": {"sla_seconds": 20}}))["id"]
    support = (await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201, json={"name": "Support"}))["id"]
    ann = (await add_member(client, operator, tenant_id, "ann@day.example", "agent")).me["user"]["id"]
    bob = (await add_member(client, operator, tenant_id, "bob@day.example", "agent")).me["user"]["id"]
    with time_machine.travel(berlin("00:00", "2026-11-23", -60), tick=False) as traveller:
        day = Day(client, tenant_id, traveller)
        await day.presence(berlin("00:00"), ann, "available")
        _, c0 = await day.arrives(berlin("00:30"), "chat", sales, "visitor-c0")
        await day.taken(berlin("00:30", seconds=5), c0, ann)
        await day.done(berlin("00:35", seconds=5), c0, ann)

        conv_c1, c1 = await day.arrives(berlin("09:05"), "chat", sales, "visitor-c1")
        await day.taken(berlin("09:05", seconds=10), c1, ann)
        await day.done(berlin("09:11", seconds=10), c1, ann)
        await day.rated(berlin("09:12"), conv_c1, 5)
        conv_c2, c2 = await day.arrives(berlin("09:20"), "chat", sales, "visitor-c2")
        await day.taken(berlin("09:20", seconds=30), c2, ann)
        await day.done(berlin("09:25", seconds=30), c2, ann)
        await day.rated(berlin("09:26"), conv_c2, 3)

        await day.presence(berlin("09:30"), ann, "away")
        _, v1 = await day.arrives(berlin("09:40"), "voice", support, "caller-v1")
        await day.hangs_up(berlin("09:41", seconds=30), v1)
        _, v2 = await day.arrives(berlin("09:50"), "voice", support, "caller-v2")
        await day.hangs_up(berlin("09:50", seconds=30), v2)

        await day.presence(berlin("10:00"), ann, "available")
        _, v3 = await day.arrives(berlin("10:05"), "voice", support, "caller-v3")
        await day.declined(berlin("10:05", seconds=5), v3, ann)
        await day.presence(berlin("10:05", seconds=6), ann, "away")
        await day.presence(berlin("10:05", seconds=20), bob, "available")
        await day.taken(berlin("10:05", seconds=40), v3, bob)
        await day.done(berlin("10:15", seconds=40), v3, bob)

        conv_e1, e1 = await day.arrives(berlin("10:30"), "email", support, "mailer-e1")
        await day.taken(berlin("10:32"), e1, bob)
        await day.replies(berlin("10:40"), conv_e1, bob)
        await day.done(berlin("10:41"), e1, bob)
        conv_f1, f1 = await day.arrives(berlin("11:00"), "fax", support, "faxer-f1")
        await day.taken(berlin("11:00", seconds=30), f1, bob)
        await day.replies(berlin("11:20"), conv_f1, bob)
        await day.done(berlin("11:21"), f1, bob)
        await day.presence(berlin("11:29"), bob, "away")
        _, cb1 = await day.arrives(berlin("11:30"), "callback", support, "caller-cb1")
        await day.presence(berlin("11:44", seconds=50), bob, "available")
        await day.taken(berlin("11:45"), cb1, bob)
        await day.done(berlin("11:50"), cb1, bob)

        await day.presence(berlin("23:59"), bob, "away")
        await day.presence(berlin("23:59"), ann, "available")
        _, tomorrow = await day.arrives(berlin("00:30", "2026-11-24"), "chat", sales, "visitor-next")
        await day.taken(berlin("00:30", "2026-11-24", 5), tomorrow, ann)
    return {"sales": sales, "support": support, "ann": ann, "bob": bob}


def figures(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[name] for name in names)


QUEUE = ("offered", "handled", "abandoned", "answered_in_target", "service_level", "asa_seconds", "aht_seconds",
         "first_response_seconds", "csat_average", "csat_responses", "csat_satisfied")


async def test_a_scripted_day_gives_the_known_figures(client: TestClient, operator: Api, agent: Api) -> None:
    tenant_id = agent.tenant_id()
    ids = await play_the_day(client, operator, tenant_id)
    url = f"/api/v1/tenants/{tenant_id}/reports/traffic"

    by_queue = await agent.get(url, params={"from": DAY, "to": DAY, "interval": "none", "by": "queue"})
    assert by_queue["timezone"] == "Europe/Berlin"
    totals = {row["label"]: row for row in by_queue["totals"]}
    assert figures(totals["Sales"], *QUEUE) == (3, 3, 0, 2, 0.6667, 15.0, 320.0, None, 4.0, 2, 0.5)
    assert figures(totals["Support"], *QUEUE) == (6, 4, 2, 2, 0.5, 63.3, 667.5, 900.0, None, 0, None)

    whole = (await agent.get(url, params={"from": DAY, "to": DAY, "interval": "none", "by": "tenant"}))["totals"]
    assert figures(whole[0], *QUEUE) == (9, 7, 2, 4, 0.5714, 39.2, 518.6, 900.0, 4.0, 2, 0.5)

    by_channel = {row["key"]: row for row in (await agent.get(url, params={"from": DAY, "to": DAY, "interval": "none",
                                                                              "by": "channel"}))["totals"]}
    assert figures(by_channel["voice"], "offered", "handled", "abandoned", "service_level", "asa_seconds", "aht_seconds") == (
        3, 1, 2, 0.5, 40.0, 600.0)
    assert figures(by_channel["email"], "service_level", "asa_seconds", "first_response_seconds") == (0.0, 120.0, 600.0)
    assert figures(by_channel["fax"], "service_level", "first_response_seconds", "aht_seconds") == (1.0, 1200.0, 1230.0)
    # A callback waits for the customer's window by design: handled, but not timed.
    assert figures(by_channel["callback"], "offered", "handled", "service_level", "asa_seconds", "aht_seconds") == (
        1, 1, None, None, 300.0)

    by_agent = {row["key"]: row for row in (await agent.get(url, params={"from": DAY, "to": DAY, "interval": "none",
                                                                            "by": "agent"}))["totals"]}
    assert figures(by_agent[ids["ann"]], "offers", "handled", "missed", "asa_seconds", "aht_seconds", "csat_average") == (
        4, 3, 1, 15.0, 320.0, 4.0)
    assert figures(by_agent[ids["bob"]], "offers", "handled", "missed", "asa_seconds", "aht_seconds",
                   "first_response_seconds") == (4, 4, 0, 63.3, 667.5, 900.0)
    assert by_agent[ids["ann"]]["label"] == "ann@day.example"  # the name the operator gave her

    # Hourly, in Berlin's time: the first interval starts at the day's midnight there.
    hourly = await agent.get(url, params={"from": DAY, "to": DAY, "interval": "60", "by": "queue"})
    sales = [row for row in hourly["rows"] if row["key"] == ids["sales"]]
    assert len(sales) == 24 and sales[0]["start"] == "2026-11-23T00:00+01:00"
    assert {row["start"][11:16]: row["offered"] for row in sales if row["offered"]} == {"00:00": 1, "09:00": 2}
    support = {row["start"][11:16]: row for row in hourly["rows"] if row["key"] == ids["support"] and row["offered"]}
    assert {hour: row["offered"] for hour, row in support.items()} == {"09:00": 2, "10:00": 2, "11:00": 2}
    assert figures(support["09:00"], "abandoned", "service_level") == (2, 0.0)

    # The next day's report has the next day's chat only.
    tomorrow = (await agent.get(url, params={"from": "2026-11-24", "to": "2026-11-24", "interval": "none", "by": "tenant"}))
    assert figures(tomorrow["totals"][0], "offered", "handled") == (1, 1)


async def test_the_report_as_csv_for_a_spreadsheet(client: TestClient, operator: Api, agent: Api) -> None:
    tenant_id = agent.tenant_id()
    await play_the_day(client, operator, tenant_id)
    response = await agent.request("GET", f"/api/v1/tenants/{tenant_id}/reports/traffic",
                               params={"from": DAY, "to": DAY, "interval": "30", "by": "channel", "format": "csv"})
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = (await response.text()).splitlines()
    assert lines[0] == "start,end,group," + ",".join(QUEUE)
    assert "2026-11-23T10:30+01:00,2026-11-23T11:00+01:00,email,1,1,0,0,0.0,120.0,540.0,600.0,,0," in lines
    assert len(lines) == 1 + 48 * 5  # every half hour, for each of the five channels seen


async def test_reports_are_for_supervisors_of_the_tenant_and_ranges_are_checked(client: TestClient, operator: Api, agent: Api) -> None:
    tenant_id = agent.tenant_id()
    plain = await add_member(client, operator, tenant_id, "plain@day.example", "agent")
    url = f"/api/v1/tenants/{tenant_id}/reports/traffic"
    await plain.get(url, expect=403, params={"from": DAY, "to": DAY})
    refused = await agent.get(url, expect=422, params={"from": DAY, "to": "2026-11-01"})
    assert refused["code"] == "invalid_range"
    assert (await agent.get(url, expect=422, params={"from": "2026-01-01", "to": "2026-12-31"}))["code"] == "invalid_range"
    await agent.get(url, expect=422, params={"from": DAY, "to": DAY, "interval": "45"})


async def test_work_that_changes_hands_counts_once_for_the_queue_and_each_stretch_for_its_agent(
        client: TestClient, operator: Api, agent: Api) -> None:
    tenant_id = agent.tenant_id()
    sales = (await operator.post(f"/api/v1/tenants/{tenant_id}/queues", 201, json={"name": "Sales"}))["id"]
    ann = (await add_member(client, operator, tenant_id, "ann@hands.example", "agent")).me["user"]["id"]
    bob = (await add_member(client, operator, tenant_id, "bob@hands.example", "agent")).me["user"]["id"]
    with time_machine.travel(datetime(2026, 11, 23, 8, 59, tzinfo=UTC), tick=False) as traveller:
        day = Day(client, tenant_id, traveller)
        at = lambda hhmmss: datetime.fromisoformat(f"{DAY}T{hhmmss}+00:00")  # noqa: E731
        await day.presence(at("08:59:00"), ann, "available")
        _, task = await day.arrives(at("09:00:00"), "chat", sales, "hands-visitor")
        await day.taken(at("09:00:10"), task, ann)
        day.at(at("09:05:10"))
        await client.app[ROUTING].transfer(task, ann, queue_id=sales)  # Ann hands it back to the queue
        await day.presence(at("09:05:10"), bob, "available")
        await day.taken(at("09:06:10"), task, bob)
        await day.done(at("09:10:10"), task, bob)
    url = f"/api/v1/tenants/{tenant_id}/reports/traffic"
    queue = (await agent.get(url, params={"from": DAY, "interval": "none", "by": "queue"}))["totals"]
    assert figures(next(r for r in queue if r["key"] == sales), "offered", "handled", "asa_seconds", "aht_seconds") == (1, 1, 10.0, 540.0)
    by_agent = {row["key"]: row for row in (await agent.get(url, params={"from": DAY, "interval": "none", "by": "agent"}))["totals"]}
    assert figures(by_agent[ann], "offers", "handled", "asa_seconds", "aht_seconds") == (1, 1, 10.0, 300.0)
    assert figures(by_agent[bob], "offers", "handled", "missed", "asa_seconds", "aht_seconds") == (1, 1, 0, 60.0, 240.0)

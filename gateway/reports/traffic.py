"""The traffic report: what work a tenant was offered and what became of it, per interval, by
tenant, queue, channel or agent. Computed from the persisted history of each piece of work (its
`task_events`, written by routing as each step happens), the agents' replies (`messages`) and the
customers' ratings (`conversation.rated` events); nothing here is counted live.

Which work: every task that entered a queue (its "queued" step) within the range, counted in the
interval it entered. Everything that task went through later counts there too, even past the
range's end (a chat offered at 16:55 and answered at 17:05 is offered and answered in 16:45-17:00).
Work an agent takes up themselves (a number they dial) never queued, so it is not in this report.

Definitions, for the tasks in an interval and group:
- offered: tasks that entered the queue.
- handled: those an agent accepted (whatever happened next).
- abandoned: those the customer gave up on before any agent accepted them (a caller who hung up
  while waiting; a chat visitor who left the queue). A caller who asked to be called back instead
  is not abandoned: that task is cancelled, and the callback is work of its own (channel "callback").
- answered_in_target: handled tasks accepted within the queue's target after entering the queue:
  the task's sla_seconds, set as it was queued from its queue's target for its channel
  (sla_by_channel), else the queue's own target; where there is none, 60 s, or 4 hours for e-mail
  and fax, which nobody answers in a minute.
- service_level: answered_in_target ÷ (handled + abandoned after the target + timed out, i.e. given
  up by the queue's own maximum wait), as a fraction. A customer who gave up within the target is not
  held against the queue. Empty (null) with no such work.
- asa_seconds (average speed of answer): mean time from entering the queue to the agent's accept,
  over handled tasks.
- aht_seconds (average handle time): mean time from the accept to the end of the agent's wrap-up
  (the task done), over handled tasks that are done: talking, holding, writing and wrapping up.
- first_response_seconds (e-mail and fax): mean time from entering the queue to the first agent
  reply in the conversation after it, over those tasks with a reply.
- csat_average, csat_responses, csat_satisfied: the customers' ratings (1-5) of conversations, each
  rating counted once, with the last handled task of its conversation: how many, their mean, and the
  share that were 4 or 5.
Callbacks (channel "callback") wait for the customer's window by design: they count in offered and
handled, not in service level or speed of answer.

Work that changes hands (a transfer, a supervisor's move) is handled once for its queue, its speed
of answer runs to the first accept, and its handle time is the sum of each agent's stretch (accept to
hand-on or end), not the time it waited in between.

By agent: `offers` (offers made to the agent), `handled` (stretches they took: each accept),
`missed` (offers they declined or let ring out), and of their stretches the speed of answer (from
when the work last entered a queue) and handle time; first response and CSAT of the work they
finished. Offered, abandoned and service level belong to queues, not agents (null there).
"""

from __future__ import annotations

import asyncio

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db import schema as t
from gateway.reports.periods import Period
from gateway.routing.model import TERMINAL_STATES

GroupBy = Literal["tenant", "queue", "channel", "agent"]
DEFAULT_TARGET_SECONDS = 60
DEFAULT_TARGETS = {"email": 4 * 3600, "fax": 4 * 3600}  # per channel, where the queue set no target
REPLY_CHANNELS = ("email", "fax")
UNTIMED_CHANNELS = ("callback",)  # not in service level or speed of answer (see above)
QUEUE_FIGURES = ("offered", "handled", "abandoned", "answered_in_target", "service_level", "asa_seconds", "aht_seconds",
                 "first_response_seconds", "csat_average", "csat_responses", "csat_satisfied")
AGENT_FIGURES = ("offers", "handled", "missed", "asa_seconds", "aht_seconds", "first_response_seconds", "csat_average",
                 "csat_responses", "csat_satisfied")


@dataclass
class Work:
    """One task's story, as its persisted steps tell it."""

    task_id: str
    conversation_id: str
    channel: str
    queue_id: str
    target_seconds: int
    queued_at: datetime
    accepted_at: datetime | None = None
    agent_id: str | None = None
    done_at: datetime | None = None
    ended: str | None = None  # the terminal step's type
    ended_at: datetime | None = None
    offers: list[tuple[str, str]] = field(default_factory=list)  # (agent, "accepted" | "missed" | "open")
    stretches: list["Stretch"] = field(default_factory=list)  # each agent's hold of it, in order
    first_reply_at: datetime | None = None
    rating: int | None = None

    def waited(self) -> float | None:
        return (self.accepted_at - self.queued_at).total_seconds() if self.accepted_at else None

    @property
    def abandoned(self) -> bool:
        return self.ended == "abandoned" and self.accepted_at is None


@dataclass
class Stretch:
    """One agent's hold of a piece of work: from their accept to handing it on or its end."""

    agent_id: str
    waited_from: datetime  # when the work last entered a queue (first, or handed back)
    accepted_at: datetime
    until: datetime | None = None  # None: still theirs (or ended without a record)


def stories(tasks: list[Any], steps: list[Any]) -> list[Work]:
    """Each task's Work from its row (with queued_at) and its steps (task_events rows, in order)."""
    works = {row.id: Work(row.id, row.conversation_id, row.channel, row.queue_id or "",
                          row.sla_seconds or DEFAULT_TARGETS.get(row.channel, DEFAULT_TARGET_SECONDS), row.queued_at)
             for row in tasks}
    entered: dict[str, datetime] = {work.task_id: work.queued_at for work in works.values()}
    for step in steps:
        work = works.get(step.task_id)
        if work is None:
            continue
        holding = work.stretches[-1] if work.stretches and work.stretches[-1].until is None else None
        if step.type == "offered" and step.agent_id:
            work.offers.append((step.agent_id, "open"))
        elif step.type in ("rejected", "offer_timed_out") and step.agent_id:
            _settle(work, step.agent_id, "missed")
        elif step.type == "accepted" and step.agent_id and holding is None:
            if work.accepted_at is None:
                work.accepted_at = step.created_at
            work.agent_id = step.agent_id  # who has it last: finishing, replies and the rating are theirs
            work.stretches.append(Stretch(step.agent_id, entered[work.task_id], step.created_at))
            _settle(work, step.agent_id, "accepted")
        elif step.type == "requeued":
            entered[work.task_id] = step.created_at
            if holding is not None:
                holding.until = step.created_at
        elif step.type in TERMINAL_STATES and work.ended is None:
            work.ended, work.ended_at = step.type, step.created_at
            if holding is not None:
                holding.until = step.created_at
            if step.type == "done":
                work.done_at = step.created_at
    return list(works.values())


def _settle(work: Work, agent_id: str, outcome: str) -> None:
    for index in range(len(work.offers) - 1, -1, -1):
        if work.offers[index] == (agent_id, "open"):
            work.offers[index] = (agent_id, outcome)
            return


class Tally:
    """Sums for one interval and group; figures() turns them into the report's numbers."""

    def __init__(self) -> None:
        self.n: dict[str, int] = defaultdict(int)
        self.total: dict[str, float] = defaultdict(float)
        self.ratings: list[int] = []

    def count(self, name: str, by: int = 1) -> None:
        self.n[name] += by

    def measure(self, name: str, seconds: float) -> None:
        self.n[name] += 1
        self.total[name] += seconds

    def mean(self, name: str) -> float | None:
        return round(self.total[name] / self.n[name], 1) if self.n[name] else None

    def figures(self, names: tuple[str, ...]) -> dict[str, Any]:
        settled = self.n["handled_timed"] + self.n["abandoned_late"]  # the service level's denominator
        values: dict[str, Any] = {
            "offered": self.n["offered"], "handled": self.n["handled"], "abandoned": self.n["abandoned"],
            "answered_in_target": self.n["answered_in_target"], "offers": self.n["offers"], "missed": self.n["missed"],
            "service_level": round(self.n["answered_in_target"] / settled, 4) if settled else None,
            "asa_seconds": self.mean("asa"), "aht_seconds": self.mean("aht"), "first_response_seconds": self.mean("frt"),
            "csat_responses": len(self.ratings),
            "csat_average": round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None,
            "csat_satisfied": round(sum(1 for r in self.ratings if r >= 4) / len(self.ratings), 4) if self.ratings else None,
        }
        return {name: values[name] for name in names}


def tally(works: list[Work], period: Period, by: GroupBy) -> dict[tuple[int, str], Tally]:
    """(interval index, group key) -> its Tally."""
    tallies: dict[tuple[int, str], Tally] = defaultdict(Tally)
    for work in works:
        index = period.index(work.queued_at)
        if index is None:
            continue
        if by == "agent":
            for agent_id, outcome in work.offers:
                tallies[index, agent_id].count("offers")
                if outcome == "missed":
                    tallies[index, agent_id].count("missed")
            for stretch in work.stretches:
                _took(tallies[index, stretch.agent_id], work, stretch)
            continue
        key = {"tenant": "", "queue": work.queue_id, "channel": work.channel}[by]
        here = tallies[index, key]
        here.count("offered")
        if work.accepted_at is not None:
            _handled(here, work)
        elif work.abandoned:
            here.count("abandoned")
            assert work.ended_at is not None
            if work.channel not in UNTIMED_CHANNELS and (work.ended_at - work.queued_at).total_seconds() > work.target_seconds:
                here.count("abandoned_late")
        elif work.ended == "timed_out" and work.channel not in UNTIMED_CHANNELS:
            here.count("abandoned_late")  # the queue gave up on it: a failure of service, like a late abandon
    return tallies


def _handled(here: Tally, work: Work) -> None:
    here.count("handled")
    waited = work.waited()
    assert waited is not None
    if work.channel not in UNTIMED_CHANNELS:
        here.count("handled_timed")
        here.measure("asa", waited)
        if waited <= work.target_seconds:
            here.count("answered_in_target")
    if work.done_at is not None and all(s.until is not None for s in work.stretches):
        here.measure("aht", sum((s.until - s.accepted_at).total_seconds() for s in work.stretches))  # type: ignore[operator]
    _outcome(here, work)


def _took(here: Tally, work: Work, stretch: Stretch) -> None:
    """One agent's stretch of the work, for the by-agent figures."""
    here.count("handled")
    if work.channel not in UNTIMED_CHANNELS:
        here.measure("asa", (stretch.accepted_at - stretch.waited_from).total_seconds())
    if stretch.until is not None:
        here.measure("aht", (stretch.until - stretch.accepted_at).total_seconds())
    if stretch is work.stretches[-1] and stretch.agent_id == work.agent_id:
        _outcome(here, work)


def _outcome(here: Tally, work: Work) -> None:
    """What the customer got in the end: the first reply (e-mail, fax) and their rating."""
    if work.first_reply_at is not None:
        here.measure("frt", (work.first_reply_at - work.queued_at).total_seconds())
    if work.rating is not None:
        here.ratings.append(work.rating)


async def load(conn: AsyncConnection, tenant_id: str, period: Period) -> list[Work]:
    """The tenant's work that entered a queue in the period, with its steps, replies and ratings."""
    queued = t.task_events.alias("queued")
    entered = (sa.select(queued.c.task_id, queued.c.created_at.label("queued_at"))
               .where(queued.c.tenant_id == tenant_id, queued.c.type == "queued",
                      queued.c.created_at >= period.start, queued.c.created_at < period.end).subquery("entered"))
    tasks = (await conn.execute(
        sa.select(t.tasks.c.id, t.tasks.c.conversation_id, t.tasks.c.channel, t.tasks.c.queue_id, t.tasks.c.sla_seconds,
                  entered.c.queued_at)
        .join(entered, entered.c.task_id == t.tasks.c.id).where(t.tasks.c.tenant_id == tenant_id))).all()
    steps = (await conn.execute(
        sa.select(t.task_events.c.task_id, t.task_events.c.type, t.task_events.c.agent_id, t.task_events.c.created_at)
        .join(entered, entered.c.task_id == t.task_events.c.task_id)
        .where(t.task_events.c.tenant_id == tenant_id).order_by(t.task_events.c.id))).all()
    works = await asyncio.to_thread(stories, tasks, steps)  # a long range's steps: not on the event loop
    conversations = sa.select(t.tasks.c.conversation_id).join(entered, entered.c.task_id == t.tasks.c.id)
    mailed = conversations.where(t.tasks.c.channel.in_(REPLY_CHANNELS)).scalar_subquery()  # first response: e-mail, fax
    conversations = conversations.scalar_subquery()
    replies = (await conn.execute(
        sa.select(t.messages.c.conversation_id, t.messages.c.created_at)
        .where(t.messages.c.tenant_id == tenant_id, t.messages.c.conversation_id.in_(mailed),
               t.messages.c.author_type == "agent", t.messages.c.kind == "message",
               t.messages.c.created_at >= period.start)
        .order_by(t.messages.c.created_at))).all()
    ratings = (await conn.execute(
        sa.select(t.events.c.conversation_id, t.events.c.data)
        .where(t.events.c.tenant_id == tenant_id, t.events.c.type == "conversation.rated",
               t.events.c.conversation_id.in_(conversations))
        .order_by(t.events.c.id))).all()
    _add_replies(works, replies)
    _add_ratings(works, ratings)
    return works


def _add_replies(works: list[Work], replies: list[Any]) -> None:
    """Each e-mail or fax task's first agent reply after it entered the queue."""
    by_conversation: dict[str, list[datetime]] = defaultdict(list)
    for reply in replies:
        by_conversation[reply.conversation_id].append(reply.created_at)
    for work in works:
        if work.channel in REPLY_CHANNELS:
            work.first_reply_at = next((at for at in by_conversation.get(work.conversation_id, ()) if at >= work.queued_at), None)


def _add_ratings(works: list[Work], ratings: list[Any]) -> None:
    """A conversation's latest rating, on its last handled task."""
    latest: dict[str, int] = {}
    for row in ratings:
        score = (row.data or {}).get("csat", {}).get("score")
        if isinstance(score, int) and 1 <= score <= 5:
            latest[row.conversation_id] = score
    last_handled: dict[str, Work] = {}
    for work in sorted(works, key=lambda w: w.queued_at):
        if work.accepted_at is not None:
            last_handled[work.conversation_id] = work
    for conversation_id, score in latest.items():
        if conversation_id in last_handled:
            last_handled[conversation_id].rating = score


def agents_in(works: list[Work]) -> set[str]:
    """Every agent the work was offered to or held by (whose names the by-agent report needs)."""
    return {agent for work in works for agent, _ in work.offers} | {s.agent_id for work in works for s in work.stretches}


def rows(works: list[Work], period: Period, by: GroupBy, labels: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(a row per interval and group, a row per group for the whole range), ordered by time then
    label. Every interval is there for every group seen, empty ones too, so charts have no holes."""
    names = AGENT_FIGURES if by == "agent" else QUEUE_FIGURES
    per_interval = tally(works, period, by)
    whole = tally(works, Period(period.start, period.end, period.zone, None), by)
    keys = sorted({key for _, key in whole} | ({""} if by == "tenant" else set()), key=lambda k: (labels.get(k, k).lower(), k))
    intervals = period.intervals()
    table = [{"start": period.local(start), "end": period.local(end), "key": key, "label": labels.get(key, key),
              **per_interval.get((index, key), Tally()).figures(names)}
             for index, (start, end) in enumerate(intervals) for key in keys]
    totals = [{"start": period.local(period.start), "end": period.local(period.end), "key": key, "label": labels.get(key, key),
               **whole.get((0, key), Tally()).figures(names)} for key in keys]
    return table, totals

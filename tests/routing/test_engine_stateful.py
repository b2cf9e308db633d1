"""Random routing histories against the real Redis (db 9), with the routing rules checked after
every step: a model rebuilt from the engine's own transitions must match what Redis holds, and

* never two agents on one task; an agent's load is exactly its offered/assigned/wrap-up tasks;
* no offer ever takes an agent past its capacity on a channel;
* no available agent with room, unblocked and qualified idles while a task it may take waits
  (a task it may take: not excluded for it by a reject or a miss, not reserved for someone else by a
  sticky window or a transfer);
* the task an agent is offered is the best-ranked (priority, then enqueued time) task it could
  have taken instead: no better-ranked task it may take still waits;
* every task that reaches a terminal state reaches exactly one and never leaves it; after the run
  every task is driven to an end.

The engine is async; the state machine drives it on one event loop per example.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import Counter
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
import redis as sync_redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from redis.asyncio import Redis

from gateway.routing.engine import RoutingConflict, RoutingEngine
from gateway.routing.model import DEFAULT_BLOCKING, TERMINAL_STATES, AgentSpec, TaskSpec, Transition

pytestmark = pytest.mark.external_redis

REDIS_URL = os.environ.get("WECC_TEST_REDIS", "redis://127.0.0.1:6379/9")
TENANTS = ("t1", "t2")
CHANNELS = ("chat", "voice", "email", "callback")
SKILLS = ("x", "y", "z")
AGENTS = tuple(f"ag{n}" for n in range(6))
PRESENCES = ("offline", "available", "available", "available", "away", "busy")
RULES: dict[str, dict[str, tuple[str, ...]]] = {"t2": {"voice": (), "callback": ("chat",)}}
RING = 20_000
MAX_MISSED = 3
T0 = 1_700_000_000_000
LIVE = ("queued", "offered", "assigned", "wrapup")
HOLDING = ("offered", "assigned", "wrapup")

R = TypeVar("R")

levels = st.fixed_dictionaries({s: st.integers(0, 3) for s in SKILLS}).map(
    lambda d: {skill: level for skill, level in d.items() if level}
)
agent_specs = st.builds(
    lambda tenants, capacity: (tenants, capacity),
    st.dictionaries(st.sampled_from(TENANTS), levels, min_size=1),
    st.fixed_dictionaries(
        {"chat": st.integers(1, 3), "voice": st.integers(0, 1), "email": st.integers(0, 2), "callback": st.integers(0, 1)}
    ),
)
task_skills = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 2), max_size=2)


async def gather(*awaitables: Awaitable[R]) -> list[R]:
    return list(await asyncio.gather(*awaitables))


def rank(spec: TaskSpec) -> tuple[int, int]:
    return (-spec.priority, spec.enqueued_ms)


def blocked(tenant: str, channel: str, load: Counter[str]) -> bool:
    rules = RULES.get(tenant, DEFAULT_BLOCKING)
    return any(load[active] > 0 and channel in blocks for active, blocks in rules.items())


def qualified(agent: AgentSpec, task: TaskSpec) -> bool:
    skills = agent.tenants.get(task.tenant_id)
    if skills is None:
        return False
    return all(name in skills and skills[name] >= level for name, level in task.skills.items())


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        client = sync_redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        client.close()
        self.loop = asyncio.new_event_loop()
        self.redis = Redis.from_url(REDIS_URL, decode_responses=True)
        self.engine = RoutingEngine(self.redis, ring_ms=RING, max_missed=MAX_MISSED)
        self.now = T0
        self.count = 0
        self.tasks: dict[str, TaskSpec] = {}  # current spec (queue follows transfers)
        self.state: dict[str, str] = {}
        self.agent_of: dict[str, str | None] = {}
        self.excluded: dict[str, set[str]] = {}
        self.target: dict[str, str] = {}  # transfer target still waiting to be offered the task
        self.wrap_deadline: dict[str, int] = {}
        self.offer_expires: dict[str, int] = {}
        self.sticky: dict[str, str] = {}  # task -> the preferred agent it is held for (sticky window)
        self.terminal_seen: Counter[str] = Counter()
        self.forgotten: set[str] = set()  # ended before Redis was lost: the rebuilt engine never knew them
        self.agents: dict[str, AgentSpec] = {}
        self.presence: dict[str, str] = {}
        self.misses: Counter[str] = Counter()
        self.step_made: list[Transition] = []
        self.to_target: set[str] = set()  # offers made to a transfer target in this step
        self.loads_before: dict[str, Counter[str]] = {}
        self.run(self.engine.rebuild(tasks=[], agents=[], rules=RULES, now_ms=self.now))

    def run(self, coro: Awaitable[R]) -> R:
        return self.loop.run_until_complete(coro)

    # ------------------------------------------------------------------ model

    def load(self, agent_id: str) -> Counter[str]:
        return Counter(
            self.tasks[t].channel for t, a in self.agent_of.items() if a == agent_id and self.state[t] in HOLDING
        )

    def apply(self, made: list[Transition]) -> None:
        """Follow the engine's transitions; each must be legal from the model's state."""
        for tr in made:
            self.step_made.append(tr)
            if tr.kind == "agent_away":
                assert self.misses[tr.agent_id] == MAX_MISSED, tr
                assert self.presence[tr.agent_id] == "available"
                self.presence[tr.agent_id] = "away"
                self.misses[tr.agent_id] = 0
                continue
            tid = tr.task_id
            st_ = self.state[tid]
            assert st_ not in TERMINAL_STATES, f"{tr} after terminal {st_}"
            if tr.kind == "offered":
                assert st_ == "queued", tr
                assert tr.agent_id not in self.excluded[tid], f"{tr}: excluded"
                if tid in self.target:
                    assert tr.agent_id == self.target.pop(tid), tr
                    self.to_target.add(tid)
                if tid in self.sticky:
                    assert tr.agent_id == self.sticky.pop(tid), f"{tr}: held for {self.sticky.get(tid)}"
                self.offer_expires[tid] = int(tr.data["expires_ms"])  # type: ignore[call-overload]
                assert tr.data["expires_ms"] == self.now + RING
                self.state[tid], self.agent_of[tid] = "offered", tr.agent_id
            elif tr.kind == "accepted":
                assert st_ == "offered" and self.agent_of[tid] == tr.agent_id, tr
                self.state[tid] = "assigned"
                self.misses[tr.agent_id] = 0
            elif tr.kind in ("rejected", "offer_timed_out"):
                assert st_ == "offered" and self.agent_of[tid] == tr.agent_id, tr
                self.state[tid], self.agent_of[tid] = "queued", None
                self.excluded[tid].add(tr.agent_id)
                if tr.kind == "offer_timed_out":
                    self.misses[tr.agent_id] += 1
                    assert tr.data["misses"] == self.misses[tr.agent_id]
            elif tr.kind == "wrapup":
                assert st_ == "assigned" and self.agent_of[tid] == tr.agent_id, tr
                self.state[tid] = "wrapup"
                self.wrap_deadline.pop(tid, None)
                if "auto_done_at_ms" in tr.data:
                    self.wrap_deadline[tid] = int(tr.data["auto_done_at_ms"])  # type: ignore[call-overload]
            elif tr.kind == "requeued":
                reason = tr.data["reason"]
                if reason == "transfer":
                    assert st_ in LIVE, tr
                    self.excluded[tid] = set()
                    target = tr.data["to_agent_id"]
                    if st_ != "queued" and tr.agent_id != target:
                        self.excluded[tid].add(tr.agent_id)  # type: ignore[arg-type]
                    self.target.pop(tid, None)
                    self.sticky.pop(tid, None)
                    if target:
                        self.target[tid] = target  # type: ignore[assignment]
                    self.tasks[tid] = dataclasses.replace(self.tasks[tid], queue_id=tr.data["queue_id"])
                elif reason == "target_released":
                    assert st_ == "queued" and self.target.pop(tid) == tr.data["from_agent_id"], tr
                else:  # agent_unavailable/_away/_removed/_changed: the agent let go, not excluded
                    assert st_ in HOLDING and self.agent_of[tid] == tr.agent_id, tr
                self.state[tid], self.agent_of[tid] = "queued", None
                self.wrap_deadline.pop(tid, None)
            elif tr.kind in TERMINAL_STATES:
                if tr.kind == "done":
                    assert st_ in ("assigned", "wrapup") and self.agent_of[tid] == tr.agent_id, tr
                else:
                    assert st_ in ("queued", "offered", "assigned"), tr
                    assert st_ != "assigned" or tr.kind == "cancelled", tr
                self.state[tid] = tr.kind
                self.terminal_seen[tid] += 1
                self.target.pop(tid, None)
                self.sticky.pop(tid, None)
            else:
                raise AssertionError(f"unknown transition {tr}")

    def call(self, coro: Awaitable[list[Transition]]) -> None:
        self.apply(self.run(coro))

    def conflict(self, coro: Awaitable[Any], code: str) -> None:
        with pytest.raises(RoutingConflict) as err:
            self.run(coro)
        assert err.value.code == code

    def pick(self, data: st.DataObject, states: tuple[str, ...]) -> str | None:
        ids = sorted(t for t, s in self.state.items() if s in states)
        return data.draw(st.sampled_from(ids)) if ids else None

    # ------------------------------------------------------------------ rules

    @initialize(specs=st.lists(agent_specs, min_size=len(AGENTS), max_size=len(AGENTS)),
                presences=st.lists(st.sampled_from(PRESENCES), min_size=len(AGENTS), max_size=len(AGENTS)))
    def agents_arrive(self, specs: list[Any], presences: list[str]) -> None:
        for agent_id, (tenants, capacity), presence in zip(AGENTS, specs, presences, strict=True):
            self.upsert(agent_id, tenants, capacity)
            self.set_presence(agent_id, presence)

    @rule(tenant=st.sampled_from(TENANTS), channel=st.sampled_from(CHANNELS), priority=st.integers(0, 9),
          skills=task_skills, waited=st.sampled_from([0, 0, 700, 4_000]),
          preferred=st.none() | st.sampled_from(AGENTS), sticky=st.sampled_from([0, 15_000]))
    def enqueue(self, tenant: str, channel: str, priority: int, skills: dict[str, int], waited: int,
                preferred: str | None, sticky: int) -> None:
        self.add_task(tenant, channel, priority, skills, waited, preferred, sticky)

    @rule(tenant=st.sampled_from(TENANTS), channel=st.sampled_from(CHANNELS), priority=st.integers(3, 6),
          skills=task_skills, preferred=st.sampled_from(AGENTS), sticky=st.sampled_from([0, 15_000]))
    def enqueue_returning_customer(self, tenant: str, channel: str, priority: int, skills: dict[str, int],
                                   preferred: str, sticky: int) -> None:
        self.add_task(tenant, channel, priority, skills, 0, preferred, sticky)

    @rule(tenant=st.sampled_from(TENANTS), channel=st.sampled_from(["chat", "chat", "voice", "email"]),
          priorities=st.lists(st.integers(3, 6), min_size=1, max_size=3), skills=task_skills)
    def enqueue_several(self, tenant: str, channel: str, priorities: list[int], skills: dict[str, int]) -> None:
        for n, priority in enumerate(priorities):
            if n:
                self.routing_rules_hold()  # every call is a step of its own
            self.add_task(tenant, channel, priority, skills, 100 * n, None, 0)

    def add_task(self, tenant: str, channel: str, priority: int, skills: dict[str, int], waited: int,
                 preferred: str | None, sticky: int) -> None:
        self.count += 1
        spec = TaskSpec(id=f"task{self.count}", tenant_id=tenant, channel=channel, queue_id=f"{tenant}-q{priority % 2}",
                        priority=priority, enqueued_ms=self.now - waited, skills=skills,
                        preferred_agent_id=preferred, sticky_ms=sticky if preferred else 0)
        self.tasks[spec.id], self.state[spec.id], self.agent_of[spec.id] = spec, "queued", None
        self.excluded[spec.id] = set()
        if self.sticky_holds(spec.id):
            self.sticky[spec.id] = preferred  # type: ignore[assignment]
        made = self.run(self.engine.enqueue(spec, self.now))
        self.apply(made)
        # the preferred agent gets a new task whenever it may take it
        if preferred in self.agents and self.state[spec.id] == "offered" and self.agent_of[spec.id] != preferred:
            assert not self.may_take(preferred, spec.id, {}, self.load(preferred), transfer_target=False), (
                f"{spec.id} went to {self.agent_of[spec.id]}, not to its free preferred agent {preferred}")

    def sticky_holds(self, tid: str) -> bool:
        """Is a waiting task held for its preferred agent (the engine's documented rule)?"""
        spec = self.tasks[tid]
        pref = spec.preferred_agent_id
        return bool(
            pref in self.agents and self.presence[pref] != "offline" and self.now < spec.enqueued_ms + spec.sticky_ms
            and qualified(self.agents[pref], spec) and pref not in self.excluded[tid]  # type: ignore[index]
        )

    def end_sticky(self, agent_id: str | None = None) -> None:
        """Windows held for this agent (or, with None, that are over) that no longer hold."""
        for tid, pref in list(self.sticky.items()):
            if (agent_id is None or pref == agent_id) and not self.sticky_holds(tid):
                del self.sticky[tid]

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def enqueue_again(self, data: st.DataObject) -> None:
        ids = sorted(t for t in self.tasks if t not in self.forgotten)
        if ids:
            tid = data.draw(st.sampled_from(ids))
            assert self.run(self.engine.enqueue(self.tasks[tid], self.now)) == []

    @rule(agent_id=st.sampled_from(AGENTS), spec=agent_specs)
    def upsert_agent(self, agent_id: str, spec: Any) -> None:
        self.upsert(agent_id, *spec)

    def upsert(self, agent_id: str, tenants: dict[str, dict[str, int]], capacity: dict[str, int]) -> None:
        self.agents[agent_id] = AgentSpec(id=agent_id, tenants=tenants, capacity=capacity)
        self.presence.setdefault(agent_id, "offline")
        self.end_sticky(agent_id)
        self.call(self.engine.upsert_agent(self.agents[agent_id], self.now))

    @rule(agent_id=st.sampled_from(AGENTS), presence=st.sampled_from(PRESENCES))
    def set_presence(self, agent_id: str, presence: str) -> None:
        if agent_id not in self.agents:
            self.conflict(self.engine.set_presence(agent_id, presence, self.now), "unknown_agent")
            return
        if presence == "available" and self.presence[agent_id] != "available":
            self.misses[agent_id] = 0
        self.presence[agent_id] = presence
        self.end_sticky(agent_id)
        self.call(self.engine.set_presence(agent_id, presence, self.now))

    @rule(agent_id=st.sampled_from(AGENTS))
    def remove_agent(self, agent_id: str) -> None:
        known = self.agents.pop(agent_id, None)
        self.end_sticky(agent_id)
        if known:
            self.agents[agent_id] = known  # still there while the engine lets go of its work
        self.call(self.engine.remove_agent(agent_id, self.now))
        self.agents.pop(agent_id, None)
        self.presence.pop(agent_id, None)
        self.misses.pop(agent_id, None)
        for excluded in self.excluded.values():
            excluded.discard(agent_id)

    @precondition(lambda self: any(s in ("offered",) for s in self.state.values()))
    @rule(data=st.data(), wrong=st.sampled_from([False, False, False, True]))
    def accept(self, data: st.DataObject, wrong: bool) -> None:
        tid = self.pick(data, ("offered", "queued") if wrong else ("offered",))
        if tid is None:
            return
        if wrong:
            other = data.draw(st.sampled_from([a for a in AGENTS if a != self.agent_of[tid]]))
            self.conflict(self.engine.accept(tid, other, self.now), "not_offered")
        else:
            self.call(self.engine.accept(tid, self.agent_of[tid], self.now))  # type: ignore[arg-type]

    @precondition(lambda self: any(s in ("offered",) for s in self.state.values()))
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        tid = self.pick(data, ("offered",))
        if tid is not None:
            self.call(self.engine.reject(tid, self.agent_of[tid], self.now))  # type: ignore[arg-type]

    @rule(advance=st.sampled_from([0, 1_000, 5_000, 15_000, RING, 30_000]))
    def tick(self, advance: int) -> None:
        self.now += advance
        self.end_sticky()
        self.call(self.engine.tick(self.now))

    @precondition(lambda self: any(s in ("offered",) for s in self.state.values()))
    @rule(data=st.data(), auto=st.sampled_from([0, 10_000, 10_000]))
    def accept_then_wrapup(self, data: st.DataObject, auto: int) -> None:
        tid = self.pick(data, ("offered",))
        if tid is not None:
            agent_id = self.agent_of[tid]
            self.call(self.engine.accept(tid, agent_id, self.now))  # type: ignore[arg-type]
            self.routing_rules_hold()
            self.call(self.engine.wrapup(tid, agent_id, self.now, auto))  # type: ignore[arg-type]

    @precondition(lambda self: any(s in ("assigned",) for s in self.state.values()))
    @rule(data=st.data(), auto=st.sampled_from([0, 10_000]))
    def wrapup(self, data: st.DataObject, auto: int) -> None:
        tid = self.pick(data, ("assigned",))
        if tid is not None:
            self.call(self.engine.wrapup(tid, self.agent_of[tid], self.now, auto))  # type: ignore[arg-type]

    @precondition(lambda self: any(s in ("offered",) for s in self.state.values()))
    @rule(data=st.data())
    def accept_then_complete(self, data: st.DataObject) -> None:
        tid = self.pick(data, ("offered",))
        if tid is not None:
            agent_id = self.agent_of[tid]
            self.call(self.engine.accept(tid, agent_id, self.now))  # type: ignore[arg-type]
            self.routing_rules_hold()
            self.call(self.engine.complete(tid, agent_id, self.now))  # type: ignore[arg-type]

    @precondition(lambda self: any(s in ("assigned", "wrapup") for s in self.state.values()))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        tid = self.pick(data, ("assigned", "wrapup"))
        if tid is not None:
            self.call(self.engine.complete(tid, self.agent_of[tid], self.now))  # type: ignore[arg-type]

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data(), reason=st.sampled_from(["abandoned", "cancelled", "timed_out"]))
    def cancel(self, data: st.DataObject, reason: str) -> None:
        tid = self.pick(data, LIVE + TERMINAL_STATES)
        if tid is None:
            return
        st_ = self.state[tid]
        if tid in self.forgotten:
            self.conflict(self.engine.cancel(tid, reason, self.now), "unknown_task")
        elif st_ in TERMINAL_STATES:
            self.conflict(self.engine.cancel(tid, reason, self.now), "finished")
        elif st_ == "wrapup" or (st_ == "assigned" and reason != "cancelled"):
            self.conflict(self.engine.cancel(tid, reason, self.now), "bad_state")
        else:
            self.call(self.engine.cancel(tid, reason, self.now))

    @precondition(lambda self: any(s in LIVE for s in self.state.values()))
    @rule(data=st.data(), to_queue=st.booleans(), to_agent=st.sampled_from((None,) * 6 + AGENTS))
    def transfer(self, data: st.DataObject, to_queue: bool, to_agent: str | None) -> None:
        tid = self.pick(data, LIVE)
        if tid is None:
            return
        spec = self.tasks[tid]
        queue = f"{spec.tenant_id}-transfer" if to_queue else None
        if to_agent is not None and to_agent not in self.agents:
            self.conflict(self.engine.transfer(tid, self.now, queue_id=queue, agent_id=to_agent), "unknown_agent")
        elif to_agent is not None and spec.tenant_id not in self.agents[to_agent].tenants:
            self.conflict(self.engine.transfer(tid, self.now, queue_id=queue, agent_id=to_agent), "not_serving")
        else:
            self.call(self.engine.transfer(tid, self.now, queue_id=queue, agent_id=to_agent))

    @rule()
    def lose_redis_and_rebuild(self) -> None:
        """Redis comes back empty: rebuilt from what the model (the service's SQL) says."""
        self.run(self.redis.flushdb())
        rows = []
        for tid, st_ in sorted(self.state.items()):
            if st_ in LIVE:
                agent = self.target.get(tid) if st_ == "queued" else self.agent_of[tid]
                rows.append((self.tasks[tid], st_, agent))
                if st_ == "offered":  # offers are transient
                    self.state[tid], self.agent_of[tid] = "queued", None
            else:
                self.forgotten.add(tid)
            self.excluded[tid] = set()  # exclusions are not restored
        agents = [(spec, self.presence[a], self.now) for a, spec in sorted(self.agents.items())]
        self.misses.clear()
        self.sticky = {
            t: self.tasks[t].preferred_agent_id  # type: ignore[misc]
            for t, st_ in self.state.items() if st_ == "queued" and t not in self.target and self.sticky_holds(t)
        }
        self.call(self.engine.rebuild(tasks=rows, agents=agents, rules=RULES, now_ms=self.now,
                                      wrapup_deadlines=self.wrap_deadline))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def routing_rules_hold(self) -> None:
        infos, views = self.run(self.read_state())
        made, self.step_made = self.step_made, []
        # what Redis holds is what the transitions said
        for tid, st_ in self.state.items():
            info = infos[tid]
            if tid in self.forgotten:
                assert info is None, (tid, info)
                continue
            assert info is not None and info["state"] == st_, (tid, st_, info)
            if st_ in LIVE:
                assert info["agent_id"] == (self.agent_of[tid] if st_ in HOLDING else None), (tid, info)
                assert info["excluded"] == sorted(self.excluded[tid]), (tid, info, self.excluded[tid])
        # never two agents on one task; loads are exactly the held tasks
        holders = Counter(t for v in views.values() for t in v["tasks"])
        assert all(n == 1 for n in holders.values()), holders
        assert set(holders) == {t for t, s in self.state.items() if s in HOLDING}
        assert set(views) == set(self.agents)
        for agent_id, view in views.items():
            assert sorted(view["tasks"]) == sorted(t for t, a in self.agent_of.items() if a == agent_id and self.state[t] in HOLDING)
            load = self.load(agent_id)
            assert view["load"] == {ch: n for ch, n in load.items() if n}, (agent_id, view, load)
            assert view["presence"] == self.presence[agent_id]
            assert view["missed"] == self.misses[agent_id]
            # never past capacity because of an offer (a lowered capacity may leave old work above it)
            capacity = self.agents[agent_id].capacity
            before = self.loads_before.get(agent_id, Counter())
            offered_on = {tr.data["channel"] for tr in made if tr.kind == "offered" and tr.agent_id == agent_id}
            for ch, n in load.items():
                if n > capacity.get(ch, 0):
                    assert ch not in offered_on and n <= before[ch], (agent_id, ch, n, capacity)
        self.check_reservations(infos)
        self.check_nobody_idles(infos)
        self.check_best_task_offered(infos, made)
        self.check_positions(infos)
        assert all(n == 1 for n in self.terminal_seen.values())
        self.loads_before = {a: self.load(a) for a in self.agents}

    async def read_state(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        ids = sorted(self.state)
        infos = dict(zip(ids, await asyncio.gather(*(self.engine.task_info(t) for t in ids)), strict=True))
        views: dict[str, dict[str, Any]] = {}
        for tenant in TENANTS:
            for agent_id, view in (await self.engine.agent_states(tenant)).items():
                assert set(view["tasks"]) <= {t for t in self.state if self.tasks[t].tenant_id == tenant}
                views[agent_id] = await self.engine.agent_info(agent_id)  # type: ignore[assignment]
        return infos, views

    def check_reservations(self, infos: dict[str, Any]) -> None:
        for tid, st_ in self.state.items():
            info = infos[tid]
            if st_ != "queued":
                assert info is None or info["reserved_for"] is None
                continue
            if tid in self.target:
                assert (info["reservation"], info["reserved_for"]) == ("transfer", self.target[tid]), (tid, info)
            elif tid in self.sticky:
                assert (info["reservation"], info["reserved_for"]) == ("sticky", self.sticky[tid]), (tid, info)
            else:
                assert info["reserved_for"] is None, (tid, info)
        # timers: nothing is overdue after a tick
        for tid, st_ in self.state.items():
            if st_ == "offered":
                assert self.offer_expires[tid] > self.now, (tid, self.offer_expires[tid], self.now)
            if st_ == "wrapup" and tid in self.wrap_deadline:
                assert self.wrap_deadline[tid] > self.now, (tid, self.wrap_deadline[tid], self.now)

    def may_take(self, agent_id: str, tid: str, infos: dict[str, Any], load: Counter[str],
                 transfer_target: bool | None = None) -> bool:
        """Could the agent be given this waiting task now, with this load?"""
        spec, agent = self.tasks[tid], self.agents[agent_id]
        if self.presence[agent_id] != "available" or agent_id in self.excluded[tid]:
            return False
        if transfer_target is None:
            info = infos[tid]
            if info["reserved_for"] not in (None, agent_id):
                return False
            transfer_target = info["reservation"] == "transfer"
        if spec.tenant_id not in agent.tenants:
            return False
        if not transfer_target and not qualified(agent, spec):
            return False
        if load[spec.channel] >= agent.capacity.get(spec.channel, 0):
            return False
        return not blocked(spec.tenant_id, spec.channel, load)

    def check_nobody_idles(self, infos: dict[str, Any]) -> None:
        waiting = [t for t, s in self.state.items() if s == "queued"]
        for agent_id in self.agents:
            load = self.load(agent_id)
            for tid in waiting:
                assert not self.may_take(agent_id, tid, infos, load), f"{agent_id} idles while {tid} waits: {infos[tid]}"

    def check_best_task_offered(self, infos: dict[str, Any], made: list[Transition]) -> None:
        """Each offer of this step was legal when made (qualified, room, not blocked) and went to
        the best-ranked task the agent could take then."""
        targeted, self.to_target = self.to_target, set()
        waiting = [t for t, s in self.state.items() if s == "queued"]
        by_agent: dict[str, list[str]] = {}
        for tr in made:
            if tr.kind == "offered" and self.state[tr.task_id] == "offered" and self.agent_of[tr.task_id] == tr.agent_id:
                by_agent.setdefault(tr.agent_id or "", []).append(tr.task_id)
        for agent_id, offered in by_agent.items():
            if agent_id not in self.agents:
                continue
            final = self.load(agent_id)
            for k, tid in enumerate(offered):
                then = Counter(final)  # the load when this offer was made (offers come after releases)
                for later in offered[k:]:
                    then[self.tasks[later].channel] -= 1
                assert self.may_take(agent_id, tid, infos, then, transfer_target=tid in targeted), (
                    f"{agent_id} could not take {tid} with load {dict(then)}")
                for other in waiting:
                    if rank(self.tasks[other]) < rank(self.tasks[tid]):
                        assert not self.may_take(agent_id, other, infos, then), (
                            f"{agent_id} was offered {tid} while better {other} waited")

    def check_positions(self, infos: dict[str, Any]) -> None:
        queues: dict[tuple[str, str], list[str]] = {}
        for tid, st_ in self.state.items():
            if st_ in ("queued", "offered"):
                spec = self.tasks[tid]
                queues.setdefault((spec.tenant_id, spec.queue_id), []).append(tid)
        for ids in queues.values():
            ids.sort(key=lambda t: (rank(self.tasks[t]), t))
        sample = [ids[len(ids) // 2] for ids in queues.values()]
        got = self.run(gather(*(self.engine.position(t) for t in sample)))
        for tid, position in zip(sample, got, strict=True):
            ids = queues[(self.tasks[tid].tenant_id, self.tasks[tid].queue_id)]
            assert position == (ids.index(tid) + 1, len(ids)), (tid, position, ids)

    # ------------------------------------------------------------------ the end

    def teardown(self) -> None:
        try:
            if self.state:
                self.drive_every_task_to_an_end()
        finally:
            self.run(self.redis.flushdb())
            self.run(self.redis.aclose())
            self.loop.close()

    def drive_every_task_to_an_end(self) -> None:
        # A few steps a task at most (cancel a waiting one; complete an assigned one, then its
        # wrap-up): bounded by the tasks there are, not a fixed 100, which a run of 50 steps
        # enqueuing up to 3 tasks each can exceed.
        for _ in range(3 * len(self.state) + 10):
            live = sorted(t for t, s in self.state.items() if s in LIVE)
            if not live:
                break
            tid = live[0]
            if self.state[tid] in ("queued", "offered"):
                self.call(self.engine.cancel(tid, "abandoned", self.now))
            else:
                self.call(self.engine.complete(tid, self.agent_of[tid], self.now))  # type: ignore[arg-type]
            self.routing_rules_hold()
        assert all(s in TERMINAL_STATES for s in self.state.values())
        assert all(self.terminal_seen[t] == 1 for t in self.state)
        infos, _ = self.run(self.read_state())
        assert all(infos[t]["state"] == s for t, s in self.state.items() if t not in self.forgotten)


RoutingMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("WECC_ROUTING_EXAMPLES", "60")),
    stateful_step_count=50,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestRoutingEngineStateful = RoutingMachine.TestCase

"""The routing engine on the real Redis at :6379 (db 9): scenarios a supervisor would recognise.

Time is always passed in (now_ms); nothing here sleeps or measures time.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.routing.engine import RoutingConflict, RoutingEngine, RoutingNotReady
from gateway.routing.model import AgentSpec, TaskSpec, Transition

pytestmark = pytest.mark.external_redis

RING = 20_000
T0 = 1_700_000_000_000  # realistic epoch milliseconds: precision matters


@pytest.fixture
async def redis(external_redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(external_redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def engine(redis: Redis) -> RoutingEngine:
    engine = RoutingEngine(redis, ring_ms=RING, max_missed=3)
    await engine.rebuild(tasks=[], agents=[], rules={}, now_ms=T0)
    return engine


def task(
    task_id: str,
    *,
    priority: int = 5,
    at: int = 0,
    skills: dict[str, int] | None = None,
    channel: str = "voice",
    tenant: str = "acme",
    queue: str = "sales",
    preferred: str | None = None,
    sticky_ms: int = 0,
) -> TaskSpec:
    return TaskSpec(
        id=task_id, tenant_id=tenant, channel=channel, queue_id=queue, priority=priority,
        enqueued_ms=T0 + at, skills=skills or {}, preferred_agent_id=preferred, sticky_ms=sticky_ms,
    )


async def add_agent(
    engine: RoutingEngine,
    agent_id: str,
    *,
    skills: dict[str, int] | None = None,
    tenants: dict[str, dict[str, int]] | None = None,
    capacity: dict[str, int] | None = None,
    available_at: int | None = 0,
) -> list[Transition]:
    spec = AgentSpec(id=agent_id, tenants=tenants or {"acme": skills or {}})
    if capacity is not None:
        spec = AgentSpec(id=agent_id, tenants=spec.tenants, capacity=capacity)
    made = await engine.upsert_agent(spec, T0)
    if available_at is not None:
        made += await engine.set_presence(agent_id, "available", T0 + available_at)
    return made


def offers(made: list[Transition]) -> list[tuple[str, str | None]]:
    return [(t.task_id, t.agent_id) for t in made if t.kind == "offered"]


def kinds(made: list[Transition]) -> list[str]:
    return [t.kind for t in made]


# ---------------------------------------------------------------------------- order


async def test_priority_beats_age(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=None)
    await engine.enqueue(task("old-normal", priority=3, at=0), T0 + 10)
    await engine.enqueue(task("new-vip", priority=8, at=5_000), T0 + 5_000)
    made = await engine.set_presence("ann", "available", T0 + 6_000)
    assert offers(made) == [("new-vip", "ann")]


async def test_age_breaks_ties(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=None)
    await engine.enqueue(task("second", at=2_000), T0 + 2_000)
    await engine.enqueue(task("first", at=1_000), T0 + 2_001)  # arrived late, but waited longer
    made = await engine.set_presence("ann", "available", T0 + 3_000)
    assert offers(made) == [("first", "ann")]
    await engine.accept("first", "ann", T0 + 3_001)
    made = await engine.complete("first", "ann", T0 + 9_000)
    assert offers(made) == [("second", "ann")]


async def test_skills_with_levels_per_tenant(engine: RoutingEngine) -> None:
    await add_agent(engine, "junior", skills={"billing": 2, "french": 5}, available_at=0)
    # strong billing, but only for another tenant
    await add_agent(engine, "other", tenants={"acme": {}, "globex": {"billing": 5}}, available_at=1)
    await add_agent(engine, "senior", skills={"billing": 4}, available_at=2)  # idle the shortest
    made = await engine.enqueue(task("t1", skills={"billing": 3}), T0 + 10)
    assert offers(made) == [("t1", "senior")]
    made = await engine.enqueue(task("t2", skills={"billing": 1, "french": 3}), T0 + 11)
    assert offers(made) == [("t2", "junior")]
    made = await engine.enqueue(task("t3", skills={"german": 1}), T0 + 12)
    assert offers(made) == []
    # a new skill, granted: the waiting task goes to that agent at once
    made = await engine.upsert_agent(AgentSpec("other", {"acme": {"german": 2}, "globex": {"billing": 5}}), T0 + 13)
    assert offers(made) == [("t3", "other")]


async def test_longest_idle_agent_is_chosen(engine: RoutingEngine) -> None:
    await add_agent(engine, "bea", available_at=300)
    await add_agent(engine, "ann", available_at=100)
    await add_agent(engine, "cid", available_at=200)
    made = await engine.enqueue(task("call-1"), T0 + 1_000)
    assert offers(made) == [("call-1", "ann")]
    made = await engine.enqueue(task("call-2"), T0 + 1_001)
    assert offers(made) == [("call-2", "cid")]
    # ann finishes: her idle time starts again, so bea (idle since 300) is next, then ann
    await engine.accept("call-1", "ann", T0 + 1_100)
    await engine.complete("call-1", "ann", T0 + 2_000)
    made = await engine.enqueue(task("call-3"), T0 + 2_001)
    assert offers(made) == [("call-3", "bea")]
    made = await engine.enqueue(task("call-4"), T0 + 2_002)
    assert offers(made) == [("call-4", "ann")]


async def test_chats_spread_over_free_agents_before_stacking(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await add_agent(engine, "bob", available_at=10)
    made = []
    for n in range(4):
        made += await engine.enqueue(task(f"chat-{n}", channel="chat", at=n), T0 + 100 + n)
    assert offers(made) == [("chat-0", "ann"), ("chat-1", "bob"), ("chat-2", "ann"), ("chat-3", "bob")]


# ---------------------------------------------------------------------------- preferred agent


async def test_preferred_agent_wins_when_free(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)  # idle longest
    await add_agent(engine, "pat", available_at=500)
    made = await engine.enqueue(task("again", preferred="pat"), T0 + 1_000)
    assert offers(made) == [("again", "pat")]


async def test_sticky_window_waits_for_the_preferred_agent(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)  # idle the longest
    await add_agent(engine, "pat", available_at=1)
    made = await engine.enqueue(task("busy", preferred="pat"), T0 + 1)
    assert offers(made) == [("busy", "pat")]
    await engine.accept("busy", "pat", T0 + 2)
    # a returning customer of pat's: reserved for pat for 30 s although ann is free
    made = await engine.enqueue(task("returning", at=1_000, preferred="pat", sticky_ms=30_000), T0 + 1_000)
    assert offers(made) == []
    assert (await engine.task_info("returning"))["reserved_for"] == "pat"
    assert await engine.tick(T0 + 10_000) == []
    # pat frees up within the window: it goes to pat
    made = await engine.complete("busy", "pat", T0 + 20_000)
    assert offers(made) == [("returning", "pat")]


async def test_sticky_window_ends_then_anyone(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await add_agent(engine, "pat", available_at=0, capacity={"voice": 1})
    await engine.enqueue(task("busy", preferred="pat"), T0 + 1)
    await engine.accept("busy", "pat", T0 + 2)
    made = await engine.enqueue(task("returning", at=1_000, preferred="pat", sticky_ms=30_000), T0 + 1_000)
    assert offers(made) == []
    assert await engine.tick(T0 + 30_999) == []
    made = await engine.tick(T0 + 31_000)
    assert offers(made) == [("returning", "ann")]


# ---------------------------------------------------------------------------- capacity and blending


async def test_three_chats_at_once_then_no_more(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    made = []
    for n in range(4):
        made += await engine.enqueue(task(f"chat-{n}", channel="chat", at=n), T0 + 10 + n)
    assert offers(made) == [("chat-0", "ann"), ("chat-1", "ann"), ("chat-2", "ann")]
    states = await engine.agent_states("acme")
    assert states["ann"]["load"] == {"chat": 3}
    assert sorted(states["ann"]["tasks"]) == ["chat-0", "chat-1", "chat-2"]
    await engine.accept("chat-0", "ann", T0 + 20)
    made = await engine.complete("chat-0", "ann", T0 + 30)
    assert offers(made) == [("chat-3", "ann")]


async def test_a_call_blocks_new_chats_unless_the_tenant_allows_it(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await engine.enqueue(task("call"), T0 + 1)
    await engine.accept("call", "ann", T0 + 2)
    made = await engine.enqueue(task("chat", channel="chat"), T0 + 3)
    assert offers(made) == []
    # email is not blocked by a call
    made = await engine.enqueue(task("mail", channel="email"), T0 + 4)
    assert offers(made) == [("mail", "ann")]
    # acme allows chats during calls: the waiting chat is offered by the next tick
    await engine.set_tenant_rules("acme", {"voice": (), "callback": ("chat", "voice")})
    made = await engine.tick(T0 + 5)
    assert offers(made) == [("chat", "ann")]


async def test_blending_rule_is_the_tasks_tenant(engine: RoutingEngine) -> None:
    await engine.set_tenant_rules("globex", {"voice": ()})
    await add_agent(engine, "ann", tenants={"acme": {}, "globex": {}}, available_at=0)
    await engine.enqueue(task("call"), T0 + 1)
    assert offers(await engine.enqueue(task("acme-chat", channel="chat"), T0 + 2)) == []
    made = await engine.enqueue(task("globex-chat", channel="chat", tenant="globex"), T0 + 3)
    assert offers(made) == [("globex-chat", "ann")]


# ---------------------------------------------------------------------------- offers


async def test_ring_timeout_offers_the_next_agent_and_keeps_the_place(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await engine.enqueue(task("first", at=0), T0 + 10)
    await engine.enqueue(task("second", at=100), T0 + 100)
    assert (await engine.task_info("first"))["agent_id"] == "ann"
    assert await engine.tick(T0 + 10 + RING - 1) == []
    made = await engine.tick(T0 + 10 + RING)
    assert [(t.kind, t.task_id, t.agent_id) for t in made] == [
        ("offer_timed_out", "first", "ann"),
        ("offered", "second", "ann"),  # ann missed "first": she is not offered it again
    ]
    assert made[0].data["misses"] == 1
    assert await engine.position("first") == (1, 2)
    made = await add_agent(engine, "bob", available_at=RING + 50)
    assert offers(made) == [("first", "bob")]


async def test_reject_offers_the_next_agent_and_never_the_rejecter_again(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await add_agent(engine, "bob", available_at=1)
    await engine.enqueue(task("call", at=0), T0 + 10)
    made = await engine.reject("call", "ann", T0 + 20)
    assert [(t.kind, t.agent_id) for t in made] == [("rejected", "ann"), ("offered", "bob")]
    made = await engine.reject("call", "bob", T0 + 30)
    assert kinds(made) == ["rejected"]
    assert (await engine.task_info("call"))["excluded"] == ["ann", "bob"]
    # both are free, the call waits: neither is offered it again
    assert offers(await engine.enqueue(task("other", at=40), T0 + 40)) == [("other", "ann")]
    assert await engine.position("call") == (1, 2)
    # a transfer to the queue clears the exclusions
    made = await engine.transfer("call", T0 + 50, queue_id="sales")
    assert offers(made) == [("call", "bob")]


async def test_three_missed_offers_in_a_row_set_the_agent_away(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    now = T0
    for n in range(4):
        await engine.enqueue(task(f"call-{n}", at=n), T0 + n)
    # misses 1 and 2, then an accept resets the count
    for _ in range(2):
        now += RING
        await engine.tick(now)
    accepted = (await engine.agent_states("acme"))["ann"]
    assert accepted["missed"] == 2
    current = next(iter(accepted["tasks"]))
    await engine.accept(current, "ann", now + 1)
    made = await engine.complete(current, "ann", now + 2)
    assert (await engine.agent_states("acme"))["ann"]["missed"] == 0
    # three misses in a row: away
    assert len(offers(made)) == 1
    await add_agent(engine, "bob", available_at=None)
    for n in range(3):
        now += RING + 2
        made = await engine.tick(now)
        await engine.enqueue(task(f"more-{n}", at=10_000 + n), now)
    assert [t.kind for t in made][:2] == ["offer_timed_out", "agent_away"]
    assert made[1].agent_id == "ann" and made[1].task_id == ""
    assert (await engine.agent_states("acme"))["ann"]["presence"] == "away"
    assert (await engine.agent_states("acme"))["ann"]["load"] == {}


async def test_rejecting_is_not_a_miss(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    for n in range(5):
        await engine.enqueue(task(f"call-{n}", at=n), T0 + n)
        await engine.reject(f"call-{n}", "ann", T0 + n)
    states = await engine.agent_states("acme")
    assert states["ann"]["presence"] == "available" and states["ann"]["missed"] == 0


async def test_work_an_agent_takes_up_themselves_counts_against_their_room(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=None)  # offline: placing a call needs no offers
    made = await engine.assign(task("out-1"), "ann", T0 + 1)
    assert [(t.kind, t.task_id, t.agent_id) for t in made] == [("accepted", "out-1", "ann")]
    assert (await engine.task_info("out-1"))["state"] == "assigned"
    assert (await engine.agent_states("acme"))["ann"]["load"] == {"voice": 1}
    for second, code in ((task("out-2"), "no_room"), (task("chat", channel="chat"), "no_room"),
                         (task("out-1"), "exists"), (task("far", tenant="other"), "not_member")):
        with pytest.raises(RoutingConflict) as err:  # one call at a time, and a live call blocks chats
            await engine.assign(second, "ann", T0 + 2)
        assert err.value.code == code
    await engine.set_presence("ann", "available", T0 + 3)
    assert offers(await engine.enqueue(task("incoming", at=3), T0 + 4)) == []  # busy on the call placed
    await engine.wrapup("out-1", "ann", T0 + 5, 0)
    made = await engine.complete("out-1", "ann", T0 + 6)
    assert offers(made) == [("incoming", "ann")]


async def test_wrapup_ends_by_itself(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await engine.enqueue(task("call", at=0), T0 + 1)
    await engine.enqueue(task("next", at=1), T0 + 2)
    await engine.accept("call", "ann", T0 + 3)
    made = await engine.wrapup("call", "ann", T0 + 60_000, 30_000)
    assert kinds(made) == ["wrapup"] and made[0].data["auto_done_at_ms"] == T0 + 90_000
    assert (await engine.agent_states("acme"))["ann"]["load"] == {"voice": 1}
    assert offers(await engine.tick(T0 + 89_999)) == []
    made = await engine.tick(T0 + 90_000)
    assert [(t.kind, t.task_id) for t in made] == [("done", "call"), ("offered", "next")]
    assert made[0].data == {"reason": "auto"}
    with pytest.raises(RoutingConflict) as err:
        await engine.complete("call", "ann", T0 + 90_001)
    assert err.value.code == "not_assigned"


# ---------------------------------------------------------------------------- cancel and transfer


async def test_cancel_and_abandon_from_queued_and_offered(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await engine.enqueue(task("offered", at=0), T0 + 1)
    await engine.enqueue(task("waiting", at=1), T0 + 2)
    await engine.enqueue(task("later", at=2), T0 + 3)
    made = await engine.cancel("waiting", "abandoned", T0 + 10)
    assert [(t.kind, t.task_id, t.agent_id) for t in made] == [("abandoned", "waiting", None)]
    assert (await engine.queue_snapshot("acme", T0 + 10))["sales"]["waiting"] == 2
    made = await engine.cancel("offered", "cancelled", T0 + 11)
    assert [(t.kind, t.task_id, t.agent_id) for t in made] == [("cancelled", "offered", "ann"), ("offered", "later", "ann")]
    await engine.accept("later", "ann", T0 + 12)
    with pytest.raises(RoutingConflict) as err:
        await engine.cancel("later", "abandoned", T0 + 13)
    assert err.value.code == "bad_state"
    assert kinds(await engine.cancel("later", "cancelled", T0 + 14)) == ["cancelled"]
    # terminal is terminal
    with pytest.raises(RoutingConflict) as err:
        await engine.cancel("waiting", "cancelled", T0 + 15)
    assert err.value.code == "finished"
    assert await engine.enqueue(task("waiting", at=1), T0 + 16) == []
    assert (await engine.task_info("waiting"))["state"] == "abandoned"
    assert await engine.position("waiting") is None


async def test_transfer_to_a_queue_keeps_priority_and_place(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await engine.enqueue(task("vip", priority=7, at=0), T0 + 1)
    await engine.accept("vip", "ann", T0 + 2)
    await engine.enqueue(task("billing-new", priority=7, at=5_000, queue="billing"), T0 + 5_000)
    made = await engine.transfer("vip", T0 + 60_000, queue_id="billing")
    assert made[0].kind == "requeued" and made[0].agent_id == "ann"
    assert made[0].data["queue_id"] == "billing" and made[0].data["from_queue_id"] == "sales"
    # ann is not handed her own transfer back: she takes the other billing call
    assert offers(made) == [("billing-new", "ann")]
    info = await engine.task_info("vip")
    assert (info["priority"], info["enqueued_ms"], info["queue_id"]) == (7, T0, "billing")
    assert await engine.position("vip") == (1, 2)
    made = await add_agent(engine, "bob", available_at=60_001)
    assert offers(made) == [("vip", "bob")]


async def test_transfer_to_an_agent_waits_for_that_agent(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await add_agent(engine, "bob", available_at=1)
    await add_agent(engine, "cy", available_at=None)
    await engine.enqueue(task("call", at=0), T0 + 1)
    await engine.accept("call", "ann", T0 + 2)
    made = await engine.transfer("call", T0 + 10, agent_id="cy")
    assert offers(made) == []  # bob is free, but the call is for cy
    assert (await engine.task_info("call"))["reserved_for"] == "cy"
    made = await engine.set_presence("cy", "available", T0 + 20)
    assert offers(made) == [("call", "cy")]
    made = await engine.reject("call", "cy", T0 + 30)
    assert offers(made) == [("call", "bob")]
    with pytest.raises(RoutingConflict) as err:
        await engine.transfer("call", T0 + 40, agent_id="nobody")
    assert err.value.code == "unknown_agent"


async def test_an_agent_given_capacity_on_a_channel_takes_its_waiting_work(engine: RoutingEngine) -> None:
    # Found by the stateful test: a capacity raised from 0 left the agent out of that channel.
    # (Busy to capacity on chat, so eligible nowhere when the change arrived.)
    await add_agent(engine, "ann", capacity={"chat": 1, "voice": 0}, available_at=0)
    await engine.enqueue(task("chat", channel="chat"), T0 + 5)
    await engine.accept("chat", "ann", T0 + 6)
    assert offers(await engine.enqueue(task("call", channel="voice"), T0 + 10)) == []
    made = await engine.upsert_agent(AgentSpec(id="ann", tenants={"acme": {}}, capacity={"chat": 1, "voice": 1}), T0 + 20)
    assert offers(made) == [("call", "ann")]


async def test_relaxed_skills_let_more_agents_take_a_waiting_task_in_its_place(engine: RoutingEngine) -> None:
    await add_agent(engine, "junior", skills={"billing": 1}, available_at=0)
    await engine.enqueue(task("older", skills={"billing": 3}, at=0), T0 + 1)
    await engine.enqueue(task("newer", skills={"billing": 3}, at=1_000), T0 + 1_000)
    assert (await engine.task_info("newer"))["state"] == "queued"  # nobody qualifies yet
    made = await engine.relax("newer", {"billing": 1}, T0 + 30_000)
    assert kinds(made) == ["skills_changed", "offered"] and offers(made) == [("newer", "junior")]
    assert (made[0].data["from_skills"], made[0].data["skills"]) == ("billing=3", "billing=1")
    assert await engine.relax("newer", {"billing": 1}, T0 + 30_001) == []  # the same again: nothing
    made = await engine.relax("older", {}, T0 + 30_002)
    assert kinds(made) == ["skills_changed"]  # junior's one call slot is taken
    assert await engine.position("older") == (1, 2)  # still first in line
    made = await engine.reject("newer", "junior", T0 + 30_003)
    assert offers(made) == [("older", "junior")]
    with pytest.raises(RoutingConflict):
        await engine.relax("nothing", {}, T0 + 30_004)


async def test_a_task_rings_as_long_as_its_tenant_says(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    made = await engine.enqueue(dataclasses.replace(task("quick"), ring_ms=5_000), T0 + 10)
    assert made[0].data["expires_ms"] == T0 + 10 + 5_000
    assert kinds(await engine.tick(T0 + 5_011))[0] == "offer_timed_out"
    await add_agent(engine, "bob", available_at=6_000)
    made = await engine.enqueue(task("default"), T0 + 7_000)
    assert made[0].data["expires_ms"] == T0 + 7_000 + RING


# ---------------------------------------------------------------------------- tenants and views


async def test_an_agent_serving_two_tenants_takes_work_from_both_in_priority_order(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", tenants={"acme": {"billing": 1}, "globex": {}}, available_at=None)
    await engine.enqueue(task("acme-3", priority=3, at=0, skills={"billing": 1}), T0)
    await engine.enqueue(task("globex-7", priority=7, at=10, tenant="globex"), T0 + 10)
    await engine.enqueue(task("acme-5", priority=5, at=20), T0 + 20)
    await engine.enqueue(task("globex-3", priority=3, at=30, tenant="globex"), T0 + 30)
    order = []
    made = await engine.set_presence("ann", "available", T0 + 100)
    for n in range(4):
        (task_id, _), = offers(made)
        order.append(task_id)
        await engine.accept(task_id, "ann", T0 + 200 + n)
        made = await engine.complete(task_id, "ann", T0 + 300 + n)
    assert order == ["globex-7", "acme-5", "acme-3", "globex-3"]
    assert offers(made) == []


async def test_position_and_queue_snapshot(engine: RoutingEngine) -> None:
    await engine.enqueue(task("low-old", priority=2, at=0), T0)
    await engine.enqueue(task("high", priority=8, at=10_000), T0 + 10_000)
    await engine.enqueue(task("mid", priority=5, at=20_000), T0 + 20_000)
    await engine.enqueue(task("mail", channel="email", queue="support", at=30_000), T0 + 30_000)
    assert await engine.position("high") == (1, 3)
    assert await engine.position("mid") == (2, 3)
    assert await engine.position("low-old") == (3, 3)
    assert await engine.position("nope") is None
    snap = await engine.queue_snapshot("acme", T0 + 60_000)
    assert snap == {
        "sales": {"waiting": 3, "longest_wait_ms": 60_000},
        "support": {"waiting": 1, "longest_wait_ms": 30_000},
    }
    await add_agent(engine, "ann", skills={}, available_at=60_000)
    assert await engine.position("mid") == (2, 3)  # "high" is offered: still waiting, still counted
    await engine.accept("high", "ann", T0 + 60_001)
    assert await engine.position("mid") == (1, 2)
    assert (await engine.queue_snapshot("globex", T0)) == {}


async def test_conflicts(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0)
    await add_agent(engine, "bob", available_at=1)
    await engine.enqueue(task("call"), T0 + 1)
    with pytest.raises(RoutingConflict) as err:
        await engine.accept("call", "bob", T0 + 2)
    assert err.value.code == "not_offered"
    with pytest.raises(RoutingConflict) as err:
        await engine.accept("ghost", "ann", T0 + 2)
    assert err.value.code == "unknown_task"
    with pytest.raises(RoutingConflict) as err:
        await engine.set_presence("nobody", "available", T0 + 2)
    assert err.value.code == "unknown_agent"
    with pytest.raises(RoutingConflict) as err:
        await engine.wrapup("call", "ann", T0 + 2, 1_000)
    assert err.value.code == "not_assigned"
    assert await engine.enqueue(task("call"), T0 + 3) == []  # idempotent


async def test_removing_an_agent_puts_its_work_back(engine: RoutingEngine) -> None:
    await add_agent(engine, "ann", available_at=0, capacity={"chat": 3})
    for n in range(2):
        await engine.enqueue(task(f"chat-{n}", channel="chat", at=n), T0 + n)
    await engine.accept("chat-0", "ann", T0 + 10)
    made = await engine.remove_agent("ann", T0 + 20)
    assert sorted((t.kind, t.task_id) for t in made) == [("requeued", "chat-0"), ("requeued", "chat-1")]
    assert await engine.agent_states("acme") == {}
    made = await add_agent(engine, "bob", available_at=30)
    assert offers(made) == [("chat-0", "bob"), ("chat-1", "bob")]


# ---------------------------------------------------------------------------- lost Redis


async def test_flushed_redis_is_not_ready_and_rebuild_restores_order(engine: RoutingEngine, redis: Redis) -> None:
    await add_agent(engine, "ann", available_at=0)
    await add_agent(engine, "bob", available_at=None)
    for n, prio in enumerate([3, 9, 5, 5]):
        await engine.enqueue(task(f"call-{n}", priority=prio, at=n * 1_000), T0 + n * 1_000)
    await engine.accept("call-0", "ann", T0 + 5_000)
    await redis.flushdb()
    assert not await engine.is_ready()
    for attempt in (
        engine.enqueue(task("new"), T0 + 6_000),
        engine.tick(T0 + 6_000),
        engine.set_presence("bob", "available", T0 + 6_000),
        engine.complete("call-0", "ann", T0 + 6_000),
        engine.position("call-1"),
    ):
        with pytest.raises(RoutingNotReady):
            await attempt
    assert await redis.dbsize() == 0  # nothing was written into the empty Redis

    sql_tasks = [
        (task("call-0", priority=3, at=0), "assigned", "ann"),
        (task("call-1", priority=9, at=1_000), "queued", None),
        (task("call-2", priority=5, at=2_000), "queued", None),
        (task("call-3", priority=5, at=3_000), "queued", None),
    ]
    sql_agents = [
        (AgentSpec("ann", {"acme": {}}), "available", T0),
        (AgentSpec("bob", {"acme": {}}), "available", T0 + 100),
        (AgentSpec("cy", {"acme": {}}), "available", T0 + 200),
    ]
    made = await engine.rebuild(tasks=sql_tasks, agents=sql_agents, rules={}, now_ms=T0 + 7_000)
    assert await engine.is_ready()
    # ann is on call-0; the two free agents get the two best waiting calls, longest idle first
    assert offers(made) == [("call-1", "bob"), ("call-2", "cy")]
    assert await engine.position("call-3") == (3, 3)
    states = await engine.agent_states("acme")
    assert {a: s["tasks"] for a, s in states.items()} == {"ann": ["call-0"], "bob": ["call-1"], "cy": ["call-2"]}
    # rebuilding again from the same SQL gives the same state: nothing duplicated
    made = await engine.rebuild(tasks=sql_tasks, agents=sql_agents, rules={}, now_ms=T0 + 8_000)
    assert offers(made) == [("call-1", "bob"), ("call-2", "cy")]
    assert await engine.queue_snapshot("acme", T0 + 8_000) == {"sales": {"waiting": 3, "longest_wait_ms": 7_000}}
    # and only_if_missing leaves a present state alone
    assert await engine.rebuild(tasks=[], agents=[], rules={}, now_ms=T0 + 9_000, only_if_missing=True) == []
    assert (await engine.agent_states("acme"))["ann"]["tasks"] == ["call-0"]


async def test_rebuild_restores_reservations_load_and_rules(engine: RoutingEngine, redis: Redis) -> None:
    await redis.flushdb()
    made = await engine.rebuild(
        tasks=[
            (task("call", at=0), "assigned", "ann"),
            (task("chat", channel="chat", at=10), "queued", None),  # blocked by ann's call
            (task("sticky", at=20, preferred="bob", sticky_ms=60_000), "queued", None),
            (task("for-cy", at=30), "queued", "cy"),  # a transfer target
            (task("wrap", channel="email", at=40), "wrapup", "ann"),
        ],
        agents=[
            (AgentSpec("ann", {"acme": {}}), "available", T0),
            (AgentSpec("bob", {"acme": {}}, capacity={"voice": 1}), "busy", T0),
            (AgentSpec("cy", {"acme": {}}), "away", T0),
            (AgentSpec("dee", {"globex": {}}), "available", T0),
        ],
        rules={"globex": {"voice": ()}},
        wrapup_deadlines={"wrap": T0 + 50_000},
        now_ms=T0 + 1_000,
    )
    assert offers(made) == []
    assert (await engine.task_info("sticky"))["reserved_for"] == "bob"
    assert (await engine.task_info("for-cy"))["reserved_for"] == "cy"
    made = await engine.tick(T0 + 50_000)
    assert [(t.kind, t.task_id) for t in made] == [("done", "wrap")]
    made = await engine.tick(T0 + 60_020)  # the sticky window ended: ann is on a call, nobody free
    assert offers(made) == []
    made = await engine.set_presence("bob", "available", T0 + 60_030)
    assert offers(made) == [("sticky", "bob")]


async def test_two_concurrent_rebuilds_do_not_corrupt_state(engine: RoutingEngine, external_redis_url: str) -> None:
    sql_tasks = [(task(f"call-{n}", priority=n % 10, at=n), "queued", None) for n in range(300)]
    sql_agents = [(AgentSpec(f"agent-{n}", {"acme": {}}), "available", T0 + n) for n in range(50)]
    clients = [Redis.from_url(external_redis_url) for _ in range(2)]
    try:
        engines = [RoutingEngine(c, ring_ms=RING) for c in clients]
        results = await asyncio.gather(
            *(e.rebuild(tasks=sql_tasks, agents=sql_agents, rules={}, now_ms=T0 + 10_000) for e in engines)
        )
    finally:
        for c in clients:
            await c.aclose()
    made = [t for r in results for t in r]
    assert sorted(len(r) for r in results) == [0, 50]  # one rebuilt and offered, the other waited
    assert len({t.task_id for t in made}) == 50 and len({t.agent_id for t in made}) == 50
    # the 50 best calls: priority 9 down to 5, each the oldest first
    best = sorted(sql_tasks, key=lambda r: (-r[0].priority, r[0].enqueued_ms))[:50]
    assert {t.task_id for t in made} == {r[0].id for r in best}
    states = await engine.agent_states("acme")
    assert all(len(s["tasks"]) == 1 and s["load"] == {"voice": 1} for s in states.values())
    assert (await engine.queue_snapshot("acme", T0 + 10_000))["sales"]["waiting"] == 300


async def test_the_best_qualified_agent_is_found_among_many(engine: RoutingEngine) -> None:
    """However many free agents lack the skill, the longest idle one who has it gets the task."""
    unskilled = [AgentSpec(f"gen-{n:03d}", {"acme": {}}) for n in range(150)]
    skilled_free = [AgentSpec(f"pro-{n:02d}", {"acme": {"tax": 2}}) for n in range(10)]
    skilled_off = [AgentSpec(f"off-{n:02d}", {"acme": {"tax": 3}}) for n in range(40)]
    agents = [(spec, "available", T0 + n) for n, spec in enumerate(unskilled)]
    agents += [(spec, "available", T0 + 1_000 - n) for n, spec in enumerate(skilled_free)]  # pro-09 idle longest
    agents += [(spec, "offline", T0) for spec in skilled_off]
    await engine.rebuild(tasks=[], agents=agents, rules={}, now_ms=T0 + 2_000)
    # 50 qualify, 160 are free: walking the free ones best first finds no fit in 128 -> scoring
    made = await engine.enqueue(task("tax-1", skills={"tax": 2}), T0 + 2_001)
    assert offers(made) == [("tax-1", "pro-09")]
    # only the 40 level-3 agents qualify (all offline): scored directly, nobody
    assert offers(await engine.enqueue(task("tax-3", skills={"tax": 3}), T0 + 2_002)) == []
    made = await engine.set_presence("off-07", "available", T0 + 2_003)
    assert offers(made) == [("tax-3", "off-07")]
    # pro-09 is busy now: the next longest idle qualified agent
    made = await engine.enqueue(task("tax-1b", skills={"tax": 1}), T0 + 2_004)
    assert offers(made) == [("tax-1b", "pro-08")]
    # no skills: the longest idle of all
    assert offers(await engine.enqueue(task("any"), T0 + 2_005)) == [("any", "gen-000")]


async def test_concurrent_calls_share_round_trips_and_survive_a_script_flush(engine: RoutingEngine, redis: Redis) -> None:
    """Calls made together go out as one pipeline; each is still its own atomic decision, and a
    Redis that lost its scripts (restart, SCRIPT FLUSH) gets them again."""
    await add_agent(engine, "ann", available_at=0, capacity={"chat": 3})
    await redis.script_flush()
    made = await asyncio.gather(*(engine.enqueue(task(f"chat-{n}", channel="chat", at=n), T0 + 10) for n in range(5)))
    assert sorted(t.task_id for r in made for t in r if t.kind == "offered") == ["chat-0", "chat-1", "chat-2"]
    results = await asyncio.gather(
        engine.accept("chat-0", "ann", T0 + 20), engine.accept("chat-3", "ann", T0 + 20), return_exceptions=True
    )
    assert kinds(results[0]) == ["accepted"]  # type: ignore[arg-type]
    assert isinstance(results[1], RoutingConflict) and results[1].code == "not_offered"
    assert await engine.position("chat-3") == (3, 4)  # behind the two still ringing

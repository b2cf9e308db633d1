"""The wallboard's coalescing: readers who ask together share one computation, and nobody gets an
answer computed before they asked."""

from __future__ import annotations

import asyncio

import pytest

from gateway.reports.coalesce import Coalescer


async def test_readers_share_runs_and_none_gets_an_answer_older_than_their_question() -> None:
    coalescer: Coalescer[int] = Coalescer()
    started: list[int] = []
    release = asyncio.Event()

    async def compute() -> int:
        started.append(len(started) + 1)
        run = started[-1]
        if run == 1:
            await release.wait()
        return run

    first = asyncio.ensure_future(coalescer.run("demo", compute))
    await asyncio.sleep(0)
    late = [asyncio.ensure_future(coalescer.run("demo", compute)) for _ in range(5)]  # asked while run 1 ran
    other = await coalescer.run("other", compute)  # another key is not held up
    release.set()
    assert await first == 1
    assert await asyncio.gather(*late) == [3, 3, 3, 3, 3]  # one run for all five, begun after run 1 ended
    assert other == 2 and started == [1, 2, 3]
    assert await coalescer.run("demo", compute) == 4  # nothing runs now: a run of its own


async def test_an_error_reaches_every_reader_and_the_next_question_runs_again() -> None:
    coalescer: Coalescer[int] = Coalescer()
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise RuntimeError("database gone")

    results = await asyncio.gather(*(coalescer.run("demo", broken) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and calls == 2
    with pytest.raises(RuntimeError):
        await coalescer.run("demo", broken)
    assert calls == 3


async def test_a_reader_who_gives_up_waiting_leaves_the_next_run_to_the_others() -> None:
    coalescer: Coalescer[int] = Coalescer()
    release = asyncio.Event()
    runs = 0

    async def compute() -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            await release.wait()
        return runs

    first = asyncio.ensure_future(coalescer.run("demo", compute))
    await asyncio.sleep(0)
    impatient = asyncio.ensure_future(coalescer.run("demo", compute))  # promised the next run...
    await asyncio.sleep(0)
    impatient.cancel()  # ...and gone (a closed request)
    patient = asyncio.ensure_future(coalescer.run("demo", compute))
    release.set()
    assert await first == 1
    assert await asyncio.wait_for(patient, 5) == 2

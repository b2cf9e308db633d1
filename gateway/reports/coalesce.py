"""Many readers of one costly answer (every supervisor's wallboard refetching on the same event):
at most one computation runs per key, and everyone who asks while it runs shares the next one,
which starts after it ends, so no reader gets an answer older than their question. Written by hand:
the usual single-flight helpers share the running computation, which may predate the question."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    def __init__(self) -> None:
        self._running: dict[Any, asyncio.Future[T]] = {}
        self._next: dict[Any, asyncio.Future[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # kept, so a running computation isn't collected

    async def run(self, key: Any, compute: Callable[[], Awaitable[T]]) -> T:
        if key in self._next:  # a later run is already promised: share it
            return await asyncio.shield(self._next[key])
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if key in self._running:  # one runs that may predate this question: the next one is ours
            self._next[key] = future
            # Started by the running one's end, not by this caller, who may be cancelled meanwhile.
            self._running[key].add_done_callback(lambda _: self._start(key, compute, self._next.pop(key)))
        else:
            self._start(key, compute, future)
        return await asyncio.shield(future)

    def _start(self, key: Any, compute: Callable[[], Awaitable[T]], future: asyncio.Future[T]) -> None:
        self._running[key] = future

        async def work() -> None:
            try:
                future.set_result(await compute())
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception as exc:  # the readers get the error; nothing waits for ever
                future.set_exception(exc)
            finally:
                if self._running.get(key) is future:
                    del self._running[key]

        future.add_done_callback(lambda done: done.cancelled() or done.exception())  # no "never retrieved" noise
        self._tasks.add(task := asyncio.ensure_future(work()))
        task.add_done_callback(self._tasks.discard)

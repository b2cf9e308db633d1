"""Received mail is parsed (gateway/mail/parse.py) in worker processes: parsing a big mail does
not hold the GIL against the event loop, and a crafted mail that would parse for minutes or eat
the machine's memory is stopped — its worker killed and replaced — while the mail is still
stored, as raw text with a warning (its original can be downloaded as ever).

Each worker is a ProcessPoolExecutor of one process, so a mail's time limit starts when a worker
takes it, not while it waits behind others, and killing the worker of one mail takes no other
mail down with it."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from types import ModuleType
from typing import Any

from gateway.mail.parse import ParsedEmail, parse_email, unparsed_email

log = logging.getLogger(__name__)

TIMED_OUT = ("The message took too long to read (over {seconds:g} s) and is shown as raw text; "
             "download the original to open it in a mail program.")
FAILED = ("The message could not be read ({why}) and is shown as raw text; "
          "download the original to open it in a mail program.")
_WHY = {BrokenProcessPool: "the process reading it crashed, perhaps out of memory", MemoryError: "out of memory"}
# Starting a worker: forking it takes ~30 ms; the fork server's own start imports the gateway once.
_START_TIMEOUT = 120.0


def _init_worker(memory_bytes: int) -> None:
    # Ctrl-C reaches the whole process group; the gateway stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _preload() -> list[str]:
    """What the fork server imports once for all its workers: the parser, and what the start
    script (__main__, e.g. run.py) imports. Each worker runs that script again, and CPython (3.11)
    does not preload __main__ itself though asked: without this a worker would take ~1.5 s and
    ~110 MB of its own to import the whole gateway, instead of ~30 ms with it shared."""
    names = [value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
             for key, value in vars(sys.modules["__main__"]).items() if not key.startswith("__")]
    return list(dict.fromkeys(["__main__", __name__, *(n for n in names if isinstance(n, str) and n != "__main__")]))


class _Worker:
    """One worker process, behind an executor of its own."""

    def __init__(self, executor: ProcessPoolExecutor, process: Any) -> None:
        self.executor = executor
        self._process = process  # multiprocessing.Process

    @classmethod
    async def start(cls, context: BaseContext, memory_bytes: int) -> _Worker:
        executor = ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker, initargs=(memory_bytes,))
        try:
            # The first submit starts the process (the first time, the fork server too): not on the loop.
            started = await asyncio.to_thread(executor.submit, os.getpid)
            await asyncio.wait_for(asyncio.wrap_future(started), _START_TIMEOUT)
            # The executor's only handle on its process; needed to kill a hung one.
            [process] = executor._processes.values()  # type: ignore[attr-defined]
        except BaseException:
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.kill()
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return cls(executor, process)

    def alive(self) -> bool:
        return self._process.is_alive()

    def kill(self) -> None:
        self._process.kill()  # SIGKILL: a parse stuck in C code heeds nothing gentler
        self.executor.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class ParserPool:
    """`parse(raw)` as parse_email, in one of `workers` processes (0: one per core), started as
    needed; a parse that takes over `timeout` seconds, or that kills its worker (e.g. out of the
    `memory_mb` each worker may use; 0: no limit), gives the raw-text fallback instead."""

    def __init__(self, workers: int = 0, *, timeout: float = 30.0, memory_mb: int = 0,
                 parse: Callable[[bytes], ParsedEmail] = parse_email) -> None:
        self._size = max(1, workers or os.cpu_count() or 1)
        self._timeout = timeout
        self._memory_bytes = memory_mb * 2**20
        self._parse = parse  # run in the worker, so a module-level function (tests give their own)
        # Not fork: the gateway has threads. A fork server that has imported the parser and the
        # gateway once forks each worker in ~30 ms; spawn would import it all in each, ~1.5 s.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_preload())  # heeded when the fork server starts
        self._slots = asyncio.Semaphore(self._size)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    async def parse(self, raw: bytes) -> ParsedEmail:
        """The parsed mail; never raises for what is in the mail (only when no worker can start)."""
        async with self._slots:
            worker = await self._worker()
            self._busy.add(worker)
            try:
                parsed = await asyncio.wait_for(asyncio.wrap_future(worker.executor.submit(self._parse, raw)), self._timeout)
            except asyncio.TimeoutError:
                problem = TIMED_OUT.format(seconds=self._timeout)
                log.warning("a mail took too long to parse; its worker was replaced", extra={"bytes": len(raw)})
            except Exception as exc:  # parse_email itself never raises: the worker died or ran out of memory
                why = _WHY.get(type(exc), type(exc).__name__)
                problem = FAILED.format(why=why)
                log.warning("a mail could not be parsed (%s); its worker was replaced", why, extra={"bytes": len(raw)})
            except BaseException:  # cancelled (the reader stops) or unexpected: the worker may still be busy
                worker.kill()
                raise
            else:
                if self._closed:
                    worker.stop()
                else:
                    self._idle.append(worker)
                return parsed
            finally:
                self._busy.discard(worker)
            worker.kill()
            return unparsed_email(raw, problem)

    async def _worker(self) -> _Worker:
        if self._closed:
            raise RuntimeError("the mail parser pool is closed")
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.kill()  # died while idle (e.g. the OOM killer): not this mail's fault
        return await _Worker.start(self._context, self._memory_bytes)

    def close(self) -> None:
        """Stops the workers at once; one still parsing is killed, not waited for."""
        self._closed = True
        for worker in self._idle:
            worker.stop()
        for worker in self._busy:
            worker.kill()
        self._idle.clear()
        self._busy.clear()

"""Runs the gateway (`python bench/gc_watch.py OUT.json run.py --config ...`) and times every
garbage collection it makes, by generation: [when it started, how long it took] in seconds of
time.perf_counter (the machine-wide monotonic clock, so other processes can pick a window), written
to OUT.json when the gateway has stopped. Used by bench/chat_probe.py: a collection stops the whole
process, so its pauses are latency."""

from __future__ import annotations

import gc
import json
import runpy
import sys
import time
from pathlib import Path

pauses: dict[int, list[tuple[float, float]]] = {0: [], 1: [], 2: []}
_started: list[float] = [0.0]


def _watch(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        pauses[info["generation"]].append((_started[0], time.perf_counter() - _started[0]))


def main() -> None:
    out, script, *args = sys.argv[1:]
    gc.callbacks.append(_watch)
    sys.argv = [script, *args]
    sys.path.insert(0, str(Path(script).resolve().parent))  # as `python run.py` would have it
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        pass
    finally:
        with open(out, "w") as f:
            json.dump({str(g): v for g, v in pauses.items()}, f)


if __name__ == "__main__":
    main()

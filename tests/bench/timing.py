"""Timing a call: wall-clock samples."""

from __future__ import annotations

import time
from collections.abc import Callable


def samples(call: Callable[[], object], repeats: int, *, warm_up: bool = True) -> tuple[float, ...]:
    """`repeats` wall-clock times (seconds) of `call`, after one untimed run (imports, caches: it
    would skew a median of few samples) unless the caller ran it already (`warm_up=False`)."""
    if warm_up:
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return tuple(times)

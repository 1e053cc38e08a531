"""Small helpers shared by the benchmark scripts: timing medians and peak memory."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    """Return (median seconds, every run's seconds, last return value) of ``runs`` calls."""
    times, value = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, value


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

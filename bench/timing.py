"""Wall-clock timing of repeated calls, summarised as median and spread.

Every system is timed the same way: ``warmup`` calls that are not counted (first-call costs:
lazy initialisation, allocator growth, kernel selection, the file entering the page cache),
then ``repeats`` timed calls with ``time.perf_counter``.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np


def summarize(runs_s: list[float]) -> dict:
    """Median, quartiles, min and max of a list of durations in seconds (plus the raw runs)."""
    a = np.asarray(runs_s, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"n": int(a.size), "median_s": float(med), "min_s": float(a.min()), "max_s": float(a.max()),
            "q1_s": float(q1), "q3_s": float(q3), "runs_s": [round(float(x), 6) for x in a]}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def repeat(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[dict, list[Any]]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed.

    Returns the summary of the timed calls and their return values (for stage timings that the
    callee reports itself).
    """
    for _ in range(warmup):
        fn()
    runs, outs = [], []
    for _ in range(repeats):
        dt, out = timed(fn)
        runs.append(dt)
        outs.append(out)
    return summarize(runs), outs


def median(stats: dict | None) -> float | None:
    return None if not stats or not stats.get("n") else stats["median_s"]

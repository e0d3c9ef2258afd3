"""Repeat runs summarised per lane: median, p90 and spread of TTFT and tokens/s.

Warm-up runs and runs that did not finish ok are left out of the figures (and counted apart).
Used by the terminal and the page after ``--repeat N``; works on output records only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from storage.document import Output, Turn

FIGURES = ("ttft_ms", "tokens_per_s", "total_ms")


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarise(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None, "min": None, "max": None, "stdev": None}
    return {
        "median": round(statistics.median(values), 2),
        "p90": round(percentile(values, 90), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "stdev": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
    }


def aggregate(outputs: Sequence[Output | dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per lane: model, runs counted, failed runs, and a summary of each figure."""
    rows = []
    for runs in Turn.model_construct(outputs=[Output.model_validate(o) for o in outputs]).lanes():
        counted = [o for o in runs if o.counted]
        ok = [o for o in counted if o.status == "ok"]
        row: dict[str, Any] = {"model": runs[0].model, "runs": len(ok),
                               "failed": len(counted) - len(ok),
                               "warmups": len(runs) - len(counted)}
        for name in FIGURES:
            row[name] = summarise([v for o in ok if (v := getattr(o.metrics, name)) is not None])
        rows.append(row)
    return rows

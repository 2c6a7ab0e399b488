"""Small helpers shared by the bench scripts: timing and table printing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_calls(fn: Callable[[int], object], n: int, warmup: int = 10) -> list[float]:
    """Milliseconds for `n` calls of fn(i), after `warmup` untimed calls."""
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(samples: list[float]) -> tuple[float, float, float]:
    return percentile(samples, 50), percentile(samples, 95), statistics.fmean(samples) if samples else float("nan")


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [headers] + [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)
    print("+" + line + "+")
    for j, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if j == 0:
            print("+" + line + "+")
    print("+" + line + "+")

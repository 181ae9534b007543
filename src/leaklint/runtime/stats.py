"""Small numeric helpers: running per-endpoint statistics and a least-squares slope.

Per-request memory deltas are noisy, so we keep counts and spread (Welford)
instead of single numbers, and we judge leaks by the slope of retained memory
over many requests, with r² telling how much to trust it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


class RunningStats:
    """Count / mean / spread / min / max in O(1) memory.

    Updated from the request path without a lock: a torn read by the sampler
    only skews one sample of a statistic, it cannot corrupt the app.
    """

    __slots__ = ("count", "mean", "_m2", "min", "max", "total")

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.total = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    @property
    def stdev(self) -> float:
        return math.sqrt(self._m2 / (self.count - 1)) if self.count > 1 else 0.0

    def as_dict(self) -> dict[str, float]:
        if not self.count:
            return {"count": 0, "mean": 0.0, "stdev": 0.0, "min": 0.0, "max": 0.0, "total": 0.0}
        return {
            "count": self.count,
            "mean": self.mean,
            "stdev": self.stdev,
            "min": self.min,
            "max": self.max,
            "total": self.total,
        }


@dataclass(frozen=True)
class Fit:
    slope: float
    intercept: float
    r2: float


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """Ordinary least squares y = slope*x + intercept, with r² in [0, 1]."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return Fit(0.0, float(ys[0]) if ys else 0.0, 0.0)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0:
        return Fit(0.0, my, 0.0)
    slope = sxy / sxx
    intercept = my - slope * mx
    if syy == 0:
        # A perfectly flat line is perfectly explained, but there is nothing to explain.
        return Fit(slope, intercept, 1.0 if slope == 0 else 0.0)
    r2 = max(0.0, min(1.0, (sxy * sxy) / (sxx * syy)))
    return Fit(slope, intercept, r2)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB'; signed, binary units, short enough for a table cell."""
    sign = "-" if n < 0 else ""
    n = abs(float(n))
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return f"{sign}{n:.1f} GB"

"""Per-endpoint resource series for ``probe``: tasks, descriptors, threads, pool checkouts, RSS.

Each counter is read at the same checkpoints as traced memory, and judged the
same way: a least-squares slope per request with its r². A counter the platform
cannot read is *unavailable* (None in the record), never zero.
"""

from __future__ import annotations

import array
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import counters
from .stats import linear_fit

RESOURCE_NAMES = ("tasks", "fds", "threads", "pool_checkouts", "rss_bytes")
# Growth per request that counts as a leak. Counts leak whole units: 0.05 is one
# unit every 20 requests. RSS is the whole process's (other threads, arenas, page
# granularity): only four pages per request and 1 MiB over the run count.
DEFAULT_RESOURCE_THRESHOLDS = {"tasks": 0.05, "fds": 0.05, "threads": 0.05, "pool_checkouts": 0.05, "rss_bytes": 16384.0}
# Below this net growth over the whole run a count is noise (one lazily started thread is not a leak).
_MIN_NET_UNITS = 2
_MIN_NET_RSS = 1024 * 1024


@dataclass
class ResourceVerdict:
    per_request: dict[str, Optional[float]] = field(default_factory=dict)
    confidence: dict[str, Optional[float]] = field(default_factory=dict)
    samples: dict[str, list[int]] = field(default_factory=dict)
    leaking: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


class ResourceMeter:
    """Reads every counter into preallocated arrays (appending would itself be growth)."""

    def __init__(self, readers: dict[str, Callable[[], Optional[int]]], slots: int) -> None:
        self.readers = readers
        self.values = {name: array.array("q", [0] * slots) for name in readers}
        self.missing: set[str] = set()
        self.filled = 0

    def read(self, slot: int) -> None:
        for name, reader in self.readers.items():
            try:
                value = reader()
            except Exception:
                value = None
            if value is None:
                self.missing.add(name)
            else:
                self.values[name][slot] = int(value)
        self.filled = max(self.filled, slot + 1)

    def verdict(
        self,
        xs: list[int],
        min_confidence: float,
        thresholds: dict[str, float],
        forced: tuple[str, ...] = (),
    ) -> ResourceVerdict:
        """Slope and r² per counter; ``forced`` names leak whatever the fit says (an exhausted pool)."""
        out = ResourceVerdict()
        n = min(len(xs), self.filled)
        for name in RESOURCE_NAMES:
            if name not in self.readers or name in self.missing:
                out.per_request[name] = None
                out.confidence[name] = None
                out.unavailable.append(name)
                continue
            ys = list(self.values[name][:n])
            fit = linear_fit(xs[:n], ys)
            net = ys[-1] - ys[0] if ys else 0
            out.per_request[name] = round(fit.slope, 1 if name == "rss_bytes" else 4)
            out.confidence[name] = round(fit.r2, 3)
            out.samples[name] = ys
            floor = _MIN_NET_RSS if name == "rss_bytes" else _MIN_NET_UNITS
            steady = fit.slope >= thresholds.get(name, DEFAULT_RESOURCE_THRESHOLDS[name]) and fit.r2 >= min_confidence
            if name in forced or (steady and net >= floor):
                out.leaking.append(name)
        return out


def readers_for(loop: Any, pool_outstanding: Callable[[], Optional[int]], names: Optional[set[str]] = None) -> dict[str, Callable[[], Optional[int]]]:
    """The counters to read, by resource name; ``names`` limits them (None: all)."""
    every: dict[str, Callable[[], Optional[int]]] = {
        "tasks": lambda: counters.live_tasks(loop),
        "fds": counters.open_fds,
        "threads": counters.thread_count,
        "pool_checkouts": pool_outstanding,
        "rss_bytes": counters.rss_bytes,
    }
    return {k: v for k, v in every.items() if names is None or k in names}

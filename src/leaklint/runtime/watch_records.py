"""The watcher's records that are not on the request path: endpoint rows, the summary, the exit hook.

Kept apart from ``watcher`` so that the middleware module stays about the
request path and the sampling thread.
"""

from __future__ import annotations

import atexit
import time
import weakref
from typing import Any

from .codemap import code_map
from .stats import RunningStats


class EndpointStats:
    """One endpoint's counters, updated from the request path without a lock."""

    __slots__ = ("delta", "ms", "errors", "endpoint", "dependant")

    def __init__(self) -> None:
        self.delta = RunningStats()
        self.ms = RunningStats()
        self.errors = 0
        self.endpoint: Any = None
        self.dependant: Any = None


def endpoint_rows(endpoints: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per endpoint key, the endpoint that grew most first."""
    rows = []
    for key, st in list(endpoints.items()):
        method, _, route = key.partition(" ")
        rows.append(
            {
                "key": key,
                "method": method if route else None,
                "route": route or None,
                "calls": st.delta.count,
                "errors": st.errors,
                "delta": st.delta.as_dict(),
                "ms": st.ms.as_dict(),
            }
        )
    rows.sort(key=lambda r: -r["delta"]["total"])
    return rows


def rss_alert(watcher: Any, rss: int, growth: int, now: float) -> dict[str, Any]:
    """The `alert` record written when RSS passes another multiple of the growth threshold."""
    mb = 1024 * 1024
    return {
        "type": "alert",
        "ts": now,
        "rss": rss,
        "rss_growth": growth,
        "threshold_mb": watcher.growth_threshold_mb,
        "message": f"RSS grew {growth / mb:.1f} MB since start (threshold {watcher.growth_threshold_mb} MB)",
        "top_endpoints": [e["key"] for e in watcher._endpoint_rows()[:5]],
    }


def build_summary(watcher: Any) -> dict[str, Any]:
    """The `summary` record of a watcher: totals, RSS, per-endpoint rows with their code spans."""
    rows = watcher._endpoint_rows()
    for row in rows:
        st = watcher._endpoints.get(row["key"])
        if st is not None and st.endpoint is not None:
            try:
                row["code"] = code_map(st.endpoint, st.dependant)
            except Exception:
                row["code"] = []
    baseline, final = watcher._rss["baseline"], watcher._rss["final"]
    sites = []
    if hasattr(watcher._sampler, "growth_since_start"):
        try:
            sites = watcher._sampler.growth_since_start()
        except Exception as exc:
            watcher._fail("summary-sites", exc)
    return {
        "type": "summary",
        "ts": time.time(),
        "level": watcher.level,
        "duration_s": round(time.time() - watcher._t0, 3),
        "samples": watcher._samples,
        "requests": watcher._requests,
        "alerts": watcher._alerts,
        "growth_threshold_mb": watcher.growth_threshold_mb,
        "delta_kind": watcher.delta_kind,
        "rss": {
            "baseline": baseline,
            "peak": watcher._rss["peak"],
            "final": final,
            "net_growth": (final - baseline) if baseline is not None and final is not None else None,
        },
        "endpoints": rows,
        "growing_sites": sites,
        "watcher_errors": list(watcher._failure_msgs),
    }


_live: "weakref.WeakSet[Any]" = weakref.WeakSet()
_atexit_registered = False


def register_atexit(watcher: Any) -> None:
    """Servers without lifespan never tell us they stop; write the summary at exit instead."""
    global _atexit_registered
    _live.add(watcher)
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_shutdown_all)


def _shutdown_all() -> None:
    for watcher in list(_live):
        watcher._safe("shutdown", watcher.shutdown)

"""Runtime side of leaklint: measure leaks instead of inferring them.

``watch`` observes a running app (production-safe), ``probe`` is a
deterministic per-endpoint leak test for CI and pytest. Importing this package
pulls in neither psutil nor any web framework; they load when used.
"""

from __future__ import annotations

from .metrics import metrics_app
from .prober import ProbeReport, ProbeResult, probe
from .watcher import WatchMiddleware, watch

__all__ = ["watch", "WatchMiddleware", "metrics_app", "probe", "ProbeReport", "ProbeResult"]

"""Prometheus metrics for ``watch(app, metrics=True)`` and the ``metrics_app()`` to scrape them.

Why Prometheus: a service that leaks runs as many workers on many machines, and
a log per process is read by nobody. Teams already alert on Prometheus, so the
watcher feeds it: per endpoint (``method``, ``route`` template) a request counter
and a histogram of the per-request memory delta, per process a few gauges.

Cardinality is bounded by the watcher's keys: route templates (never raw
paths), one ``UNMATCHED`` route for unmatched paths, one ``OTHER`` route past
``max_endpoints``, and unknown methods folded into ``OTHER``.

Under gunicorn, prometheus_client's multiprocess mode applies when
``PROMETHEUS_MULTIPROC_DIR`` is set before the workers start: each worker writes
its values to files there and one scrape of ``metrics_app()`` sums them. The
process gauges use the ``liveall`` mode (one series per live worker, labelled
``pid``; the gunicorn ``child_exit`` hook removes a dead worker's series).
prometheus_client is imported lazily: the ``metrics`` extra is optional.
"""

from __future__ import annotations

import os
import threading
import tracemalloc
from typing import Any, Callable, Optional

from . import counters
from .routes import UNMATCHED, normalize_method

KB = 1024
MB = 1024 * 1024
# Bytes. Negative deltas (memory freed while the request ran) land in the first
# buckets; a clean endpoint sits at or just above 0, a leaking one to the right.
DELTA_BUCKETS = (
    -MB, -64 * KB, -4 * KB, -1, 0, KB, 4 * KB, 16 * KB, 64 * KB, 256 * KB, MB, 4 * MB, 16 * MB, 64 * MB, 256 * MB,
)

REQUESTS_TOTAL = "leaklint_requests_total"
REQUEST_DELTA = "leaklint_request_memory_delta_bytes"
PROCESS_GAUGES = {
    "leaklint_process_rss_bytes": "Resident set size of the worker process.",
    "leaklint_traced_memory_bytes": "Memory traced by tracemalloc (levels allocations and traces only).",
    "leaklint_asyncio_tasks": "Unfinished asyncio tasks of the worker's event loop.",
    "leaklint_open_fds": "Open file descriptors of the worker process.",
    "leaklint_gc_objects": "Objects tracked by the garbage collector.",
    "leaklint_threads": "Live Python threads of the worker process.",
}
METRIC_NAMES = (REQUESTS_TOTAL, REQUEST_DELTA, *PROCESS_GAUGES)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OVERFLOW_ROUTE = "OTHER"

_MISSING = (
    "watch(app, metrics=True) needs prometheus_client: pip install 'leaklint[metrics]'"
)


def _prometheus() -> Any:
    try:
        import prometheus_client  # noqa: PLC0415 - optional dependency, imported lazily
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return prometheus_client


def multiprocess_dir() -> Optional[str]:
    """The multiprocess directory when multiprocess mode is on, else None."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def route_labels(key: str, stored: bool, method: str) -> tuple[str, str]:
    """(method, route) labels for a watcher key; ``stored`` is False once the key folded into OTHER."""
    if key == UNMATCHED:
        return normalize_method(method), UNMATCHED
    if not stored:
        return normalize_method(method), OVERFLOW_ROUTE
    method_label, _, route = key.partition(" ")
    return method_label, route


class WatchMetrics:
    """The metric objects of one registry; ``observe`` is called on the request path.

    The children for a (method, route) pair are looked up once and kept in a
    plain dict, so a request costs one dict lookup, one ``inc`` and one
    ``observe`` (prometheus_client's own lock, no I/O: multiprocess values are
    mmap writes).
    """

    def __init__(self, registry: Any = None):
        prom = _prometheus()
        self.registry = registry if registry is not None else prom.REGISTRY
        self.multiprocess = multiprocess_dir() is not None
        self.requests = prom.Counter(
            REQUESTS_TOTAL,
            "HTTP requests seen by the leaklint watcher, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.delta = prom.Histogram(
            REQUEST_DELTA,
            "Memory delta of one request in bytes (RSS at level basic, tracemalloc otherwise).",
            ["method", "route"],
            buckets=DELTA_BUCKETS,
            registry=self.registry,
        )
        self.gauges: dict[str, Any] = {}
        self._gauge_lock = threading.Lock()
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, delta: float) -> None:
        children = self._children.get((method, route))
        if children is None:
            children = (self.requests.labels(method, route), self.delta.labels(method, route))
            self._children[(method, route)] = children
        children[0].inc()
        children[1].observe(delta)

    def update_process(self, loop: Any = None) -> None:
        """Set the process gauges from the shared counters (runs in the sampler thread)."""
        values: dict[str, Optional[float]] = {
            "leaklint_process_rss_bytes": counters.rss_bytes(),
            "leaklint_open_fds": counters.open_fds(),
            "leaklint_gc_objects": counters.gc_objects(),
            "leaklint_threads": counters.thread_count(),
            "leaklint_asyncio_tasks": counters.live_tasks(loop) if loop is not None else None,
            "leaklint_traced_memory_bytes": tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None,
        }
        for name, value in values.items():
            if value is not None:
                self._gauge(name).set(value)

    def _gauge(self, name: str) -> Any:
        """Made on first use: a gauge that never had a value (traced memory at level basic) is not exported."""
        gauge = self.gauges.get(name)
        if gauge is None:
            with self._gauge_lock:
                gauge = self.gauges.get(name)
                if gauge is None:
                    # liveall: one series per live worker (label pid); a sum of two workers' RSS means nothing
                    gauge = _prometheus().Gauge(
                        name, PROCESS_GAUGES[name], registry=self.registry, multiprocess_mode="liveall"
                    )
                    self.gauges[name] = gauge
        return gauge


_by_registry: dict[int, WatchMetrics] = {}
_by_registry_lock = threading.Lock()


def metrics_for(registry: Any = None) -> WatchMetrics:
    """One ``WatchMetrics`` per registry and process: a second ``watch`` reuses the first's
    metrics instead of failing on duplicated names."""
    prom = _prometheus()
    key = id(registry if registry is not None else prom.REGISTRY)
    with _by_registry_lock:
        found = _by_registry.get(key)
        if found is None:
            found = _by_registry[key] = WatchMetrics(registry)
        return found


def scrape_registry(registry: Any = None) -> Any:
    """What a scrape reads: every worker's files in multiprocess mode, else ``registry``."""
    prom = _prometheus()
    path = multiprocess_dir()
    if path is None:
        return registry if registry is not None else prom.REGISTRY
    from prometheus_client import multiprocess  # noqa: PLC0415

    if not os.path.isdir(path):
        raise ValueError(f"{MULTIPROC_ENV}={path} is not a directory: create it before the workers start")
    merged = prom.CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=path)
    return merged


def metrics_app(registry: Any = None) -> Callable[..., Any]:
    """An ASGI app answering every HTTP request with the metrics text (mount it where you like).

    In multiprocess mode it merges all workers' files, so whichever worker
    answers the scrape reports the whole server. Lifespan events are accepted and
    ignored, so it also runs as a top-level app.
    """
    prom = _prometheus()
    scraped = scrape_registry(registry)
    serve = prom.make_asgi_app(scraped)

    async def leaklint_metrics(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "lifespan":
            while True:
                message = await receive()
                if message.get("type") == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message.get("type") == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope.get("type") != "http":
            return
        await serve(scope, receive, send)

    return leaklint_metrics


def mark_worker_dead(pid: int) -> None:
    """For gunicorn's ``child_exit`` hook: drop a dead worker's live gauges (no-op outside multiprocess mode)."""
    if multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess  # noqa: PLC0415

    multiprocess.mark_process_dead(pid)

"""``watch(app)``: a production-safe memory watcher as pure ASGI middleware.

Why pure ASGI: ``BaseHTTPMiddleware`` re-wraps the response body and has a
history of breaking streaming and background tasks. Here the request's
``receive``/``send`` are passed through untouched; per request we only read two
numbers and update a per-endpoint counter (no lock, no I/O). Everything else -
sampling, tracemalloc snapshots, writing the log - happens in one background
thread. Any failure of the watcher is logged once and the app keeps serving.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import sys
import threading
import time
import tracemalloc
from typing import Any, Callable, TextIO

from .log import JsonlLog
from .metrics import metrics_app, metrics_for, route_labels
from .routes import UNMATCHED, endpoint_key, find_routes, template_from_scope
from .sampler import LEVELS, Sampler, SamplerThread, rss_reader
from .summary import format_summary
from .watch_resources import ResourceSampler
from .watch_records import EndpointStats, build_summary, endpoint_rows, register_atexit, rss_alert

logger = logging.getLogger("leaklint.runtime")

MB = 1024 * 1024
OVERFLOW = "OTHER"


class WatchMiddleware:
    """Pure ASGI middleware; also works with ``app.add_middleware(WatchMiddleware, ...)``."""

    def __init__(
        self,
        app: Any,
        log_path: str | os.PathLike[str] = "leaklint-watch.jsonl",
        level: str = "basic",
        interval_seconds: float = 5.0,
        growth_threshold_mb: float = 50.0,
        enabled: bool = True,
        *,
        max_log_bytes: int = 10 * MB,
        log_backups: int = 3,
        slow_request_ms: float = 2000.0,
        heavy_request_mb: float = 16.0,
        top_n: int = 10,
        trace_frames: int | None = None,
        max_endpoints: int = 500,
        print_summary: bool = True,
        summary_stream: TextIO | None = None,
        sampler: Any = None,
        metrics: bool = False,
        metrics_registry: Any = None,
        metrics_path: str | None = None,
        dashboard_token: str | None = None,
        dashboard_path: str = "/_leaklint",
        dashboard_refresh_seconds: float = 5.0,
        static: Any = None,
        resources: bool = False,
    ):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.app = app
        self.enabled = enabled
        self.level = level
        self.interval_seconds = float(interval_seconds)
        self.growth_threshold_mb = float(growth_threshold_mb)
        self.slow_request_ms = slow_request_ms
        self.heavy_request_bytes = heavy_request_mb * MB
        self.max_endpoints = max_endpoints
        self.print_summary = print_summary
        self.summary_stream = summary_stream
        self.log = JsonlLog(log_path, max_bytes=max_log_bytes, backups=log_backups)
        self._sampler = sampler if sampler is not None else Sampler(level, top_n=top_n, trace_frames=trace_frames)
        self._endpoints: dict[str, EndpointStats] = {}
        # deque.append/popleft are atomic: the request path hands records to the thread lock-free.
        self._pending: collections.deque[dict[str, Any]] = collections.deque(maxlen=2000)
        self._failures: dict[str, int] = {}
        self._failure_msgs: list[dict[str, str]] = []
        self._routes: list[Any] | None = None
        self._routes_loaded = False
        self._mem: Callable[[], int] | None = None
        self._started = False
        self._stopped = False
        self._start_lock = threading.Lock()
        self._thread: SamplerThread | None = None
        self._t0 = time.time()
        self._samples = 0
        self._alerts = 0
        self._requests = 0
        self._rss: dict[str, int | None] = {"baseline": None, "peak": None, "final": None}
        self._last_rss: int | None = None
        self.summary: dict[str, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.resources = bool(resources)  # process counters per sample (watch_resources); off by default
        self._resources: Any = None
        # Prometheus metrics (prometheus_client, the `metrics` extra) and the token-only live page.
        self._metrics = metrics_for(metrics_registry) if metrics else None
        # served by the watcher itself, so that scrapes are not counted as requests of the app
        self._metrics_path = metrics_path if metrics else None
        self._metrics_app = metrics_app(metrics_registry) if self._metrics_path else None
        self._dashboard: Any = None
        if dashboard_token is not None:
            from .dashboard import Dashboard  # noqa: PLC0415 - only when asked for

            self._dashboard = Dashboard(self, dashboard_token, dashboard_path, dashboard_refresh_seconds, static)

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind == "http" and self.enabled and not self._stopped:
            if self._dashboard is not None and self._dashboard.wants(scope):
                await self._dashboard.serve(scope, receive, send)
                return
            if self._metrics_app is not None and scope.get("path") == self._metrics_path:
                await self._metrics_app(scope, receive, send)
                return
            await self._http(scope, receive, send)
        elif kind == "lifespan" and self.enabled:
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            if not self._started:
                self.start()
            root_path = scope.get("root_path", "")
            mem_before = self._mem() if self._mem is not None else 0
            t0 = time.perf_counter()
        except Exception as exc:
            self._fail("request-start", exc)
            await self.app(scope, receive, send)
            return
        ok = False
        try:
            await self.app(scope, receive, send)
            ok = True
        finally:
            try:
                self._record(scope, root_path, mem_before, t0, ok)
            except Exception as exc:
                self._fail("request-end", exc)

    async def _lifespan(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        shutdown_seen = False

        async def observe_receive() -> Any:
            nonlocal shutdown_seen
            message = await receive()
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "lifespan.startup":
                self._safe("start", self.start)
            elif kind == "lifespan.shutdown":
                shutdown_seen = True
            return message

        async def observe_send(message: Any) -> None:
            if isinstance(message, dict) and message.get("type") in (
                "lifespan.shutdown.complete",
                "lifespan.shutdown.failed",
            ):
                self._safe("shutdown", self.shutdown)
            await send(message)

        try:
            await self.app(scope, observe_receive, observe_send)
        finally:
            if shutdown_seen:
                self._safe("shutdown", self.shutdown)

    # ------------------------------------------------------- request bookkeeping
    def _record(self, scope: dict[str, Any], root_path: str, mem_before: int, t0: float, ok: bool) -> None:
        ms = (time.perf_counter() - t0) * 1000.0
        delta = (self._mem() - mem_before) if self._mem is not None else 0
        if not self._routes_loaded:
            self._routes = find_routes(self.app)
            self._routes_loaded = True
        key = endpoint_key(scope.get("method", ""), template_from_scope(scope, self._routes, root_path))
        stats = self._endpoints.get(key)
        if stats is None:
            stats = self._new_endpoint(key, scope)
        stats.delta.add(delta)
        stats.ms.add(ms)
        if self._metrics is not None:
            method, route = route_labels(key, key in self._endpoints, scope.get("method", ""))
            self._metrics.observe(method, route, delta)
        self._requests += 1
        if not ok:
            stats.errors += 1
        if ms >= self.slow_request_ms or delta >= self.heavy_request_bytes:
            self._pending.append(
                {
                    "type": "request",
                    "ts": time.time(),
                    "endpoint": key,
                    "ms": round(ms, 3),
                    "delta": delta,
                    "delta_kind": self.delta_kind,
                    "slow": ms >= self.slow_request_ms,
                    "heavy": delta >= self.heavy_request_bytes,
                }
            )

    def _new_endpoint(self, key: str, scope: dict[str, Any]) -> EndpointStats:
        if len(self._endpoints) >= self.max_endpoints and key not in self._endpoints:
            key = OVERFLOW
        stats = self._endpoints.setdefault(key, EndpointStats())
        if stats.endpoint is None and key not in (UNMATCHED, OVERFLOW):
            ctx = (scope.get("fastapi") or {}).get("effective_route_context") if isinstance(scope.get("fastapi"), dict) else None
            stats.endpoint = getattr(ctx, "endpoint", None) or scope.get("endpoint")
            stats.dependant = getattr(ctx, "dependant", None) or getattr(scope.get("route"), "dependant", None)
        return stats

    @property
    def delta_kind(self) -> str:
        return "traced" if self.level != "basic" else "rss"

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start sampling (idempotent; called on lifespan startup or the first request)."""
        if self._started:
            return
        with self._start_lock:  # taken once, before the first request is counted
            if self._started:
                return
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                pass  # started outside the event loop: the task gauge stays unset
            try:
                self._sampler.start()
                if self._dashboard is not None:
                    self._dashboard.start()
                if self.level != "basic" and tracemalloc.is_tracing():
                    self._mem = lambda: tracemalloc.get_traced_memory()[0]
                else:
                    self._mem = rss_reader()
            except Exception as exc:
                self._fail("start", exc)
            if self.resources:
                self._resources = ResourceSampler(self._loop, wait_seconds=min(1.0, max(0.25, self.interval_seconds)))
                self._safe("resources", self._resources.start)
            self._t0 = time.time()
            self._pending.append(
                {
                    "type": "start",
                    "ts": self._t0,
                    "level": self.level,
                    "interval_seconds": self.interval_seconds,
                    "growth_threshold_mb": self.growth_threshold_mb,
                    "pid": os.getpid(),
                    "python": sys.version.split()[0],
                    "resources": self.resources,
                }
            )
            # The thread's first tick runs at once and records the baseline.
            self._thread = SamplerThread(self.interval_seconds, self._tick, lambda e: self._fail("sample", e))
            self._started = True
            self._thread.start()
            register_atexit(self)

    def shutdown(self) -> dict[str, Any] | None:
        """Stop the thread, take a final sample, write and print the summary. Idempotent."""
        if self._stopped or not self._started:
            self._stopped = True
            return self.summary
        self._stopped = True
        if self._thread is not None:
            self._thread.stop()
        self._safe("sample", lambda: self._tick(final=True))
        try:
            self.summary = self._build_summary()
            self._drain([self.summary])
            if self.print_summary:
                stream = self.summary_stream or sys.stderr
                print(format_summary(self.summary), file=stream, flush=True)
        except Exception as exc:
            self._fail("summary", exc)
        finally:
            self._safe("sample", self._sampler.stop)
            if self._resources is not None:
                self._safe("resources", self._resources.stop)
            self.log.close()
        return self.summary

    # --------------------------------------------------------------- sampling
    def _tick(self, final: bool = False) -> None:
        try:
            rec = self._sampler.sample()
        except Exception as exc:
            self._fail("sample", exc)
            self._drain([])
            return
        now = time.time()
        rss = rec.get("rss")
        rec = {"type": "sample", "ts": now, "uptime_s": round(now - self._t0, 3), **rec, "requests": self._requests}
        if final:
            rec["final"] = True
        if self._resources is not None:
            try:
                rec["resources"] = self._resources.sample()
            except Exception as exc:
                self._fail("resources", exc)
        extra: list[dict[str, Any]] = []
        if isinstance(rss, int):
            if self._rss["baseline"] is None:
                self._rss["baseline"] = rss
            self._rss["peak"] = max(self._rss["peak"] or 0, rss)
            self._rss["final"] = rss
            growth = rss - (self._rss["baseline"] or rss)
            rec["rss_growth"] = growth
            if self._last_rss is not None:
                rec["rss_delta"] = rss - self._last_rss
            self._last_rss = rss
            threshold = self.growth_threshold_mb * MB
            if threshold > 0 and growth >= threshold * (self._alerts + 1):
                self._alerts += 1
                alert = rss_alert(self, rss, growth, now)
                logger.warning("leaklint watch: %s", alert["message"])
                extra.append(alert)
        self._samples += 1
        if self._metrics is not None:
            self._safe("metrics", lambda: self._metrics.update_process(self._loop))
        if self._dashboard is not None:
            self._safe("dashboard", lambda: self._dashboard.add_sample(rec))
        self._drain([rec, *extra])

    def _drain(self, records: list[dict[str, Any]]) -> None:
        pending = []
        while self._pending:
            try:
                pending.append(self._pending.popleft())
            except IndexError:
                break
        self.log.write(pending + records)

    # ---------------------------------------------------------------- summary
    def _endpoint_rows(self) -> list[dict[str, Any]]:
        return endpoint_rows(self._endpoints)

    def _build_summary(self) -> dict[str, Any]:
        return build_summary(self)

    # --------------------------------------------------------------- failures
    def _safe(self, where: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:
            self._fail(where, exc)

    def _fail(self, where: str, exc: BaseException) -> None:
        """Log each kind of watcher failure once; count the rest. Never raises."""
        try:
            n = self._failures.get(where, 0)
            self._failures[where] = n + 1
            if n == 0:
                msg = f"{type(exc).__name__}: {exc}"
                self._failure_msgs.append({"where": where, "error": msg})
                logger.warning("leaklint watch: %s failed (%s); the app keeps serving", where, msg)
                self._pending.append({"type": "error", "ts": time.time(), "where": where, "error": msg})
        except Exception:
            pass


def watch(
    app: Any,
    log_path: str | os.PathLike[str] = "leaklint-watch.jsonl",
    level: str = "basic",
    interval_seconds: float = 5.0,
    growth_threshold_mb: float = 50.0,
    enabled: bool = True,
    **options: Any,
) -> Any:
    """Wrap any ASGI app: ``app = watch(app, log_path="mem.jsonl", level="allocations")``.

    With ``enabled=False`` the app is returned unchanged, so the call can stay in
    production code behind a setting. ``metrics=True`` feeds Prometheus (see
    ``leaklint.runtime.metrics``); ``dashboard_token=`` serves the live page
    (``leaklint.runtime.dashboard``), ``static=`` joins it with static findings; ``resources=True`` adds task,
    descriptor, thread and pool-checkout counts to each sample (``leaklint.runtime.watch_resources``). For FastAPI/Starlette the equivalent
    one-liner is ``app.add_middleware(WatchMiddleware, log_path=...)``.
    """
    if not enabled:
        return app
    return WatchMiddleware(
        app,
        log_path=log_path,
        level=level,
        interval_seconds=interval_seconds,
        growth_threshold_mb=growth_threshold_mb,
        enabled=enabled,
        **options,
    )

"""One endpoint, one mode: warm up, then measured requests with checkpoints.

At each checkpoint, after ``gc.collect()``: traced memory and every resource
counter. Pool checkouts are counted by events as requests finish, before any
collection (see ``pool_tracker``); a request that left a connection out is
followed by a collection so that the pool does not run dry meanwhile, and a
pool that runs dry all the same ends the endpoint with a message.
"""

from __future__ import annotations

import array
import gc
import os
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Optional

from .codemap import code_map
from .contextvar_probe import ContextVarWatch
from .error_paths import is_injected
from .pool_tracker import PoolTracker, is_pool_exhausted
from .resources import DEFAULT_RESOURCE_THRESHOLDS, ResourceMeter, readers_for
from .results import ProbeResult
from .routes import template_from_scope
from .stats import linear_fit

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_MARKERS = ("site-packages", "dist-packages", os.path.dirname(os.__file__))


@dataclass
class Settings:
    requests: int
    warmup: int
    threshold_bytes: float
    min_confidence: float
    checkpoints: int
    top: int
    frames: int
    tracker: Optional[PoolTracker] = None
    # None: every counter; an empty set: bytes only
    resource_names: Optional[set[str]] = None
    resource_thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RESOURCE_THRESHOLDS))
    context_vars: dict[Any, str] = field(default_factory=dict)


class _PoolExhausted(Exception):
    pass


def measure(driver: Any, target: Any, cfg: Settings) -> ProbeResult:
    started = time.perf_counter()
    n, warmup = cfg.requests, cfg.warmup
    encoded = [(s, s.encode()) for s in target.specs]
    statuses: dict[str, int] = {}
    errors: list[str] = []
    tracker = cfg.tracker if cfg.tracker is not None and cfg.tracker.available else None
    watch = ContextVarWatch(cfg.context_vars) if cfg.context_vars else None
    driver.context_watch = watch

    def one(i: int) -> None:
        spec, enc = encoded[i % len(encoded)]
        held = tracker.outstanding if tracker is not None else None
        resp = driver.request(spec, enc)
        statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1
        if resp.error and not is_injected(resp.error) and len(errors) < 3 and resp.error not in errors:
            errors.append(resp.error)
        if target.route is None:
            target.route = template_from_scope(resp.scope) or target.specs[0].path
            if target.endpoint is None:
                target.endpoint = resp.scope.get("endpoint")
        if held is not None and (tracker.outstanding or 0) > held:
            gc.collect()  # already counted; give the connection back before the pool runs dry
        if is_pool_exhausted(resp.error):
            raise _PoolExhausted(resp.error)

    marks = sorted({round(n * (k + 1) / cfg.checkpoints) for k in range(cfg.checkpoints)})
    # Preallocated: appending sample objects would itself be a steady growth.
    xs = array.array("q", [0] * (len(marks) + 1))
    ys = array.array("q", [0] * (len(marks) + 1))
    readers = readers_for(driver.loop, lambda: tracker.outstanding if tracker else None, cfg.resource_names)
    meter = ResourceMeter(readers, len(marks) + 1)
    filled, done, stopped = 0, 0, None
    before: dict[Any, list[int]] = {}
    after: dict[Any, list[int]] = {}
    # Warm-up memory is not the endpoint's leak. The first half runs untraced
    # and at full speed: it fills caches, pools and lazy imports.
    traced_warmup = max(2, warmup // 2)
    own_tracing = not tracemalloc.is_tracing()
    try:
        try:
            for i in range(max(1, warmup - traced_warmup)):
                one(i)
            statuses.clear()
            collect()
            if own_tracing:
                tracemalloc.start(cfg.frames)
            before = site_table()
            # The second half runs traced but unmeasured: objects a bounded cache
            # churns through are replaced by traced ones here, not during the
            # measurement, where the swap would look like growth. It also absorbs
            # the one-off perturbation of starting tracemalloc and snapshotting.
            for i in range(traced_warmup):
                one(warmup + n + i)
            statuses.clear()
            collect()
            ys[0] = tracemalloc.get_traced_memory()[0]
            meter.read(0)
            filled = 1
            for k, mark in enumerate(marks, start=1):
                while done < mark:
                    one(warmup + done)
                    done += 1
                collect()
                xs[k] = done
                ys[k] = tracemalloc.get_traced_memory()[0]
                meter.read(k)
                filled = k + 1
        except _PoolExhausted as exc:
            stopped = str(exc)
            collect()
            xs[filled] = done
            ys[filled] = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
            meter.read(filled)
            filled += 1
        after = site_table() if tracemalloc.is_tracing() else {}
    finally:
        if own_tracing and tracemalloc.is_tracing():
            tracemalloc.stop()
        driver.context_watch = None
    px, py = list(xs[:filled]), list(ys[:filled])
    fit = linear_fit(px, py)
    leaking_bytes = fit.slope >= cfg.threshold_bytes and fit.r2 >= cfg.min_confidence
    forced = ("pool_checkouts",) if stopped and tracker is not None else ()
    res = meter.verdict(px, cfg.min_confidence, cfg.resource_thresholds, forced)
    # RSS follows the traced heap; only RSS growth with a flat heap is news (native memory).
    native = "rss_bytes" in res.leaking and not leaking_bytes
    if "rss_bytes" in res.leaking and not native:
        res.leaking.remove("rss_bytes")
    if stopped:
        when = f"after {done} measured requests" if filled > 1 else "during the warm-up"
        errors.insert(0, f"pool exhausted {when}, endpoint stopped: {stopped}")
    context_vars = watch.names() if watch is not None else []
    sites = growth(before, after, cfg.top)
    del before, after
    try:
        code = code_map(target.endpoint, target.dependant)
    except Exception:
        code = []
    return ProbeResult(
        method=target.method,
        route=target.route or target.specs[0].path,
        requests=done if stopped else n,
        retained_bytes_per_request=round(fit.slope, 1),
        leaking=leaking_bytes or bool(res.leaking) or bool(context_vars),
        confidence=round(fit.r2, 3),
        total_retained_bytes=py[-1] - py[0] if py else 0,
        warmup=warmup,
        threshold_bytes=cfg.threshold_bytes,
        statuses=statuses,
        errors=errors,
        top_sites=sites,
        samples=[[x, y] for x, y in zip(px, py)],
        seconds=round(time.perf_counter() - started, 3),
        code=code,
        mode=target.mode,
        resources=res.per_request,
        resource_confidence=res.confidence,
        resource_samples=res.samples,
        leaking_resources=res.leaking,
        leaking_bytes=leaking_bytes,
        native_growth=native,
        context_vars=context_vars,
        unavailable=res.unavailable,
    )


def collect() -> None:
    # Twice: objects freed by finalizers in the first pass are collected in the second.
    gc.collect()
    gc.collect()


def _is_app_frame(filename: str) -> bool:
    return not (filename.startswith("<") or filename.startswith(_HERE) or any(m in filename for m in _LIB_MARKERS))


def site_table() -> dict[tuple[str, int], list[int]]:
    """Traced memory per allocation site, attributed to the innermost *app* frame.

    With a multi-frame traceback, a leak through ``list.append`` in a helper of
    a library still points at the line in the user's code that caused it.
    Filtering by hand: ``Snapshot.filter_traces`` runs fnmatch per frame and
    costs seconds on a warmed-up app.
    """
    snap = tracemalloc.take_snapshot()
    table: dict[tuple[str, int], list[int]] = {}
    own = (tracemalloc.__file__, _HERE)
    for stat in snap.statistics("traceback"):
        frames = stat.traceback  # oldest first
        innermost = frames[-1].filename
        if innermost.startswith(own) or innermost.startswith("<frozen importlib"):
            continue  # the probe's and tracemalloc's own bookkeeping
        chosen = frames[-1]
        for f in reversed(frames):
            if _is_app_frame(f.filename):
                chosen = f
                break
        entry = table.setdefault((chosen.filename, chosen.lineno), [0, 0])
        entry[0] += stat.size
        entry[1] += stat.count
    del snap
    return table


def growth(before: dict[Any, list[int]], after: dict[Any, list[int]], top: int) -> list[dict[str, Any]]:
    rows = []
    for (file, line), (size, count) in after.items():
        b = before.get((file, line), (0, 0))
        if size - b[0] > 0:
            rows.append({"file": file, "line": line, "size_diff": size - b[0], "count_diff": count - b[1]})
    rows.sort(key=lambda r: -r["size_diff"])
    return rows[:top]

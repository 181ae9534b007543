"""``probe(app)``: a deterministic per-endpoint leak test.

A profiler in production cannot tell which of many concurrent requests kept
the memory. Here each endpoint runs alone, in one process, with the app's
lifespan: warm up (fill caches, pools, lazy imports), ``gc.collect()``, then N
requests with the traced heap measured at checkpoints. The least-squares slope
of traced memory over the request count is what one request *retains*; r² of
the fit says how steady that growth is. Peaks are ignored on purpose.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .contextvar_probe import app_context_vars
from .driver import AsgiDriver, LifespanError, RequestSpec
from .error_paths import CannotInject, failing_handler
from .measure import Settings, collect, measure
from .pool_tracker import DEFAULT_POOL_TIMEOUT, PoolTracker
from .requests_file import RequestsFileError, load_requests_file, parse_requests
from .resources import DEFAULT_RESOURCE_THRESHOLDS, RESOURCE_NAMES
from .results import DEFAULT_THRESHOLD_BYTES, ProbeReport, ProbeResult, format_table
from .routes import Endpoint, find_routes, iter_endpoints, match_template

DEFAULT_REQUESTS = 200
DEFAULT_WARMUP = 30
DEFAULT_MIN_CONFIDENCE = 0.8


class ProbeError(Exception):
    """The probe cannot run as asked (unknown endpoint, bad requests file, app fails to start)."""


@dataclass
class _Target:
    method: str
    route: str | None
    specs: list[RequestSpec]
    endpoint: Any = None
    dependant: Any = None
    route_obj: Any = None
    mode: str = "normal"


def probe(
    app: Any,
    endpoint: str | Sequence[str] | None = None,
    requests: int = DEFAULT_REQUESTS,
    warmup: int = DEFAULT_WARMUP,
    requests_file: str | os.PathLike[str] | list[dict[str, Any]] | None = None,
    threshold_bytes: float = DEFAULT_THRESHOLD_BYTES,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    checkpoints: int = 10,
    top: int = 5,
    frames: int = 5,
    error_paths: bool = False,
    resources: bool | Iterable[str] = True,
    resource_thresholds: dict[str, float] | None = None,
    pool_timeout: float | None = DEFAULT_POOL_TIMEOUT,
) -> ProbeReport:
    """Drive each endpoint alone and report the bytes and resources it retains per request.

    ``leaking`` means the bytes slope is at least ``threshold_bytes`` per request,
    or a resource counter's slope passes its threshold (``resource_thresholds``),
    each with steady growth (r² >= ``min_confidence``), or a ContextVar of the app
    stays set after requests. ``error_paths`` also drives every endpoint with its
    handler raising after it ran. ``resources``: True (every counter), False (bytes
    only) or the names to read. Raises ``ProbeError`` when the endpoint or requests
    file is unusable.
    """
    if requests < 2 or warmup < 0:
        raise ProbeError("need requests >= 2 and warmup >= 0")
    names = _resource_names(resources)
    thresholds = dict(DEFAULT_RESOURCE_THRESHOLDS)
    for name, value in (resource_thresholds or {}).items():
        if name not in thresholds:
            raise ProbeError(f"unknown resource {name!r} (known: {', '.join(RESOURCE_NAMES)})")
        thresholds[name] = float(value)
    checkpoints = max(2, min(checkpoints, requests))
    specs = _load_specs(requests_file)
    targets = _with_error_modes(_select_targets(app, endpoint, specs), error_paths)
    if not targets:
        raise ProbeError("no endpoint to probe: no GET route without required parameters; use --requests-file")

    driver = AsgiDriver(app)
    tracker = PoolTracker(pool_timeout) if names is None or "pool_checkouts" in names else None
    report = ProbeReport()
    try:
        try:
            driver.startup()
        except LifespanError as exc:
            raise ProbeError(f"app startup failed: {exc}") from None
        cfg = Settings(requests, warmup, threshold_bytes, min_confidence, checkpoints, top, frames,
                       tracker=tracker.start() if tracker else None, resource_names=names,
                       resource_thresholds=thresholds, context_vars=app_context_vars())
        # One full collection, then freeze everything alive: the many collections
        # below only scan objects created since, which keeps them cheap. If the
        # caller froze objects already (pre-fork servers do), leave that alone.
        froze = gc.get_freeze_count() == 0
        collect()
        if froze:
            gc.freeze()
        try:
            for target in targets:
                report.append(_measure_target(driver, target, cfg))
        finally:
            if froze:
                gc.unfreeze()
    finally:
        if tracker is not None:
            tracker.stop()
        driver.shutdown()
    return report


def _resource_names(resources: bool | Iterable[str]) -> set[str] | None:
    if resources is True:
        return None
    if resources is False:
        return set()
    names = {str(n) for n in resources}
    unknown = names - set(RESOURCE_NAMES)
    if unknown:
        raise ProbeError(f"unknown resource {sorted(unknown)[0]!r} (known: {', '.join(RESOURCE_NAMES)})")
    return names


def _measure_target(driver: AsgiDriver, target: _Target, cfg: Settings) -> ProbeResult:
    if target.mode != "error":
        return measure(driver, target, cfg)
    try:
        with failing_handler(target.route_obj):
            return measure(driver, target, cfg)
    except CannotInject as exc:
        raise ProbeError(f"{target.method} {target.route or target.specs[0].path}: no error path: {exc}") from None


def _with_error_modes(targets: list[_Target], everywhere: bool) -> list[_Target]:
    """Each target, followed by its error-path twin where --error-paths or a requests-file entry asks."""
    out = []
    for t in targets:
        out.append(t)
        if everywhere or any(s.error_path for s in t.specs):
            out.append(_Target(t.method, t.route, t.specs, t.endpoint, t.dependant, t.route_obj, "error"))
    return out


def _load_specs(requests_file: Any) -> list[RequestSpec]:
    if requests_file is None:
        return []
    try:
        if isinstance(requests_file, (list, dict)):
            return parse_requests(requests_file)
        return load_requests_file(requests_file)
    except RequestsFileError as exc:
        raise ProbeError(str(exc)) from None


def _spec_key(spec: RequestSpec, routes: list[Any] | None) -> tuple[str, str | None]:
    if spec.endpoint:
        method, _, route = spec.endpoint.partition(" ")
        return method.upper(), route.strip()
    template = None
    if routes is not None:
        scope = {"type": "http", "method": spec.method, "path": spec.path, "root_path": "", "headers": []}
        template = match_template(routes, scope)
    return spec.method, template


def _select_targets(app: Any, endpoint: str | Sequence[str] | None, specs: list[RequestSpec]) -> list[_Target]:
    """GET routes without required parameters, plus everything the requests file describes."""
    routes = find_routes(app)
    known: dict[str, Endpoint] = {e.key: e for e in iter_endpoints(app)} if routes is not None else {}
    targets: dict[str, _Target] = {}
    for ep in known.values():
        if ep.method == "GET" and not ep.needs_params:
            targets[ep.key] = _Target(ep.method, ep.route, [RequestSpec("GET", ep.route)], ep.endpoint, ep.dependant, ep.route_obj)
    from_file: dict[str, _Target] = {}
    for spec in specs:
        method, route = _spec_key(spec, routes)
        key = f"{method} {route}" if route else f"{method} {spec.path}"
        ep = known.get(key)
        tgt = from_file.setdefault(
            key, _Target(method, route, [], ep.endpoint if ep else None, ep.dependant if ep else None, ep.route_obj if ep else None)
        )
        tgt.specs.append(spec)
    targets.update(from_file)
    if endpoint is None:
        return list(targets.values())
    if not isinstance(endpoint, str):
        chosen: dict[int, _Target] = {}
        for one in endpoint:
            for t in _pick(one, targets, known, routes):
                chosen.setdefault(id(t), t)
        return list(chosen.values())
    return _pick(endpoint, targets, known, routes)


def _pick(endpoint: str, targets: dict[str, _Target], known: dict[str, Endpoint], routes: list[Any] | None) -> list[_Target]:
    method, _, path = endpoint.strip().partition(" ")
    method, path = method.upper(), path.strip()
    if not path.startswith("/"):
        raise ProbeError(f'--endpoint must look like "GET /path", got {endpoint!r}')
    key = f"{method} {path}"
    if key in targets:
        return [targets[key]]
    if key in known:
        raise ProbeError(f"{key} needs parameters or a body; describe a request for it in --requests-file")
    # A concrete path such as "GET /items/3" is fine too: probe the route it matches.
    if routes is not None and "{" not in path:
        spec = RequestSpec(method, path)
        m, template = _spec_key(spec, routes)
        if template is not None and f"{m} {template}" in known:
            ep = known[f"{m} {template}"]
            return [_Target(method, template, [spec], ep.endpoint, ep.dependant, ep.route_obj)]
    choices = ", ".join(sorted(targets)) or "none"
    raise ProbeError(f"no endpoint {key} (probe-able: {choices})")


__all__ = ["probe", "ProbeReport", "ProbeResult", "ProbeError", "format_table"]

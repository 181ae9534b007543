"""``probe(app)``: a deterministic per-endpoint leak test.

A profiler in production cannot tell which of many concurrent requests kept
the memory. Here each endpoint runs alone, in one process, with the app's
lifespan: warm up (fill caches, pools, lazy imports), ``gc.collect()``, then N
requests with the traced heap measured at checkpoints. The least-squares slope
of traced memory over the request count is what one request *retains*; r² of
the fit says how steady that growth is. Peaks are ignored on purpose.
"""

from __future__ import annotations

import array
import gc
import os
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from .codemap import code_map
from .driver import AsgiDriver, LifespanError, RequestSpec
from .requests_file import RequestsFileError, load_requests_file, parse_requests
from .routes import Endpoint, find_routes, iter_endpoints, match_template, template_from_scope
from .stats import human_bytes, linear_fit

DEFAULT_REQUESTS = 200
DEFAULT_WARMUP = 30
DEFAULT_THRESHOLD_BYTES = 256
DEFAULT_MIN_CONFIDENCE = 0.8
_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_MARKERS = ("site-packages", "dist-packages", os.path.dirname(os.__file__))


class ProbeError(Exception):
    """The probe cannot run as asked (unknown endpoint, bad requests file, app fails to start)."""


@dataclass
class ProbeResult:
    method: str
    route: str
    requests: int
    retained_bytes_per_request: float
    leaking: bool
    confidence: float
    total_retained_bytes: int = 0
    warmup: int = 0
    threshold_bytes: float = DEFAULT_THRESHOLD_BYTES
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    top_sites: list[dict[str, Any]] = field(default_factory=list)
    samples: list[list[int]] = field(default_factory=list)
    seconds: float = 0.0
    code: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        verdict = "LEAKING" if self.leaking else "ok"
        site = ""
        if self.leaking and self.top_sites:
            s = self.top_sites[0]
            site = f"  at {_short(s['file'])}:{s['line']}"
        return (
            f"{self.key}: {verdict}, retains {human_bytes(self.retained_bytes_per_request)}/request "
            f"(r²={self.confidence:.2f}, {self.requests} requests){site}"
        )


class ProbeReport(list):
    """The results, one per endpoint; ``.leaking`` is true if any endpoint leaks.

    With a single endpoint the result's fields are readable directly, so
    ``assert not probe(app, endpoint="POST /upload").leaking`` reads naturally.
    """

    @property
    def leaking(self) -> bool:
        return any(r.leaking for r in self)

    def to_records(self) -> list[dict[str, Any]]:
        return [r.to_record() for r in self]

    def to_json_obj(self) -> dict[str, Any]:
        return {"leaklint_probe": 1, "results": self.to_records()}

    def __getattr__(self, name: str) -> Any:
        if len(self) == 1 and not name.startswith("_"):
            return getattr(self[0], name)
        raise AttributeError(name)

    def __str__(self) -> str:
        return "\n".join(r.describe() for r in self)


@dataclass
class _Target:
    method: str
    route: str | None
    specs: list[RequestSpec]
    endpoint: Any = None
    dependant: Any = None


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
) -> ProbeReport:
    """Drive each endpoint alone and report the bytes it retains per request.

    ``leaking`` means the slope is at least ``threshold_bytes`` per request *and*
    the growth is steady (r² >= ``min_confidence``). Raises ``ProbeError`` when
    the endpoint or requests file is unusable.
    """
    if requests < 2 or warmup < 0:
        raise ProbeError("need requests >= 2 and warmup >= 0")
    checkpoints = max(2, min(checkpoints, requests))
    specs = _load_specs(requests_file)
    targets = _select_targets(app, endpoint, specs)
    if not targets:
        raise ProbeError("no endpoint to probe: no GET route without required parameters; use --requests-file")

    driver = AsgiDriver(app)
    report = ProbeReport()
    try:
        try:
            driver.startup()
        except LifespanError as exc:
            raise ProbeError(f"app startup failed: {exc}") from None
        # One full collection, then freeze everything alive: the many collections
        # below only scan objects created since, which keeps them cheap. If the
        # caller froze objects already (pre-fork servers do), leave that alone.
        froze = gc.get_freeze_count() == 0
        _collect()
        if froze:
            gc.freeze()
        try:
            for target in targets:
                report.append(
                    _measure(driver, target, requests, warmup, threshold_bytes, min_confidence, checkpoints, top, frames)
                )
        finally:
            if froze:
                gc.unfreeze()
    finally:
        driver.shutdown()
    return report


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
            targets[ep.key] = _Target(ep.method, ep.route, [RequestSpec("GET", ep.route)], ep.endpoint, ep.dependant)
    from_file: dict[str, _Target] = {}
    for spec in specs:
        method, route = _spec_key(spec, routes)
        key = f"{method} {route}" if route else f"{method} {spec.path}"
        ep = known.get(key)
        tgt = from_file.setdefault(
            key, _Target(method, route, [], ep.endpoint if ep else None, ep.dependant if ep else None)
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
            return [_Target(method, template, [spec], ep.endpoint, ep.dependant)]
    choices = ", ".join(sorted(targets)) or "none"
    raise ProbeError(f"no endpoint {key} (probe-able: {choices})")


def _measure(
    driver: AsgiDriver,
    target: _Target,
    n: int,
    warmup: int,
    threshold: float,
    min_confidence: float,
    checkpoints: int,
    top: int,
    frames: int,
) -> ProbeResult:
    started = time.perf_counter()
    encoded = [(s, s.encode()) for s in target.specs]
    statuses: dict[str, int] = {}
    errors: list[str] = []

    def one(i: int) -> None:
        spec, enc = encoded[i % len(encoded)]
        resp = driver.request(spec, enc)
        statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1
        if resp.error and len(errors) < 3 and resp.error not in errors:
            errors.append(resp.error)
        if target.route is None:
            target.route = template_from_scope(resp.scope) or target.specs[0].path
            if target.endpoint is None:
                target.endpoint = resp.scope.get("endpoint")

    # Warm-up memory is not the endpoint's leak. The first half runs untraced
    # and at full speed: it fills caches, pools and lazy imports.
    traced_warmup = max(2, warmup // 2)
    for i in range(max(1, warmup - traced_warmup)):
        one(i)
    statuses.clear()
    _collect()
    own_tracing = not tracemalloc.is_tracing()
    if own_tracing:
        tracemalloc.start(frames)
    try:
        before = _site_table()
        # The second half runs traced but unmeasured: objects a bounded cache
        # churns through are replaced by traced ones here, not during the
        # measurement, where the swap would look like growth. It also absorbs
        # the one-off perturbation of starting tracemalloc and snapshotting.
        for i in range(traced_warmup):
            one(warmup + n + i)
        statuses.clear()
        marks = sorted({round(n * (k + 1) / checkpoints) for k in range(checkpoints)})
        # Preallocated: appending sample objects would itself be a steady growth.
        xs = array.array("q", [0] * (len(marks) + 1))
        ys = array.array("q", [0] * (len(marks) + 1))
        _collect()
        ys[0] = tracemalloc.get_traced_memory()[0]
        done = 0
        for k, mark in enumerate(marks, start=1):
            while done < mark:
                one(warmup + done)
                done += 1
            _collect()
            xs[k] = done
            ys[k] = tracemalloc.get_traced_memory()[0]
        after = _site_table()
    finally:
        if own_tracing:
            tracemalloc.stop()
    samples = [[x, y] for x, y in zip(xs, ys)]
    fit = linear_fit(list(xs), list(ys))
    slope = fit.slope
    leaking = slope >= threshold and fit.r2 >= min_confidence
    sites = _growth(before, after, top)
    del before, after
    route = target.route or target.specs[0].path
    try:
        code = code_map(target.endpoint, target.dependant)
    except Exception:
        code = []
    return ProbeResult(
        method=target.method,
        route=route,
        requests=n,
        retained_bytes_per_request=round(slope, 1),
        leaking=leaking,
        confidence=round(fit.r2, 3),
        total_retained_bytes=samples[-1][1] - samples[0][1],
        warmup=warmup,
        threshold_bytes=threshold,
        statuses=statuses,
        errors=errors,
        top_sites=sites,
        samples=samples,
        seconds=round(time.perf_counter() - started, 3),
        code=code,
    )


def _collect() -> None:
    # Twice: objects freed by finalizers in the first pass are collected in the second.
    gc.collect()
    gc.collect()


def _is_app_frame(filename: str) -> bool:
    return not (filename.startswith("<") or filename.startswith(_HERE) or any(m in filename for m in _LIB_MARKERS))


def _site_table() -> dict[tuple[str, int], list[int]]:
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


def _growth(before: dict[Any, list[int]], after: dict[Any, list[int]], top: int) -> list[dict[str, Any]]:
    rows = []
    for (file, line), (size, count) in after.items():
        b = before.get((file, line), (0, 0))
        if size - b[0] > 0:
            rows.append({"file": file, "line": line, "size_diff": size - b[0], "count_diff": count - b[1]})
    rows.sort(key=lambda r: -r["size_diff"])
    return rows[:top]


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def format_table(report: Iterable[ProbeResult]) -> str:
    """The text table printed by ``leaklint probe``."""
    rows = list(report)
    if not rows:
        return "no endpoints probed"
    width = max(8, min(50, max(len(r.key) for r in rows)))
    lines = [f"{'endpoint':<{width}}  {'requests':>8}  {'retained/req':>12}  {'r²':>5}  verdict   allocated at"]
    for r in sorted(rows, key=lambda r: -r.retained_bytes_per_request):
        site = ""
        if r.top_sites and r.leaking:
            s = r.top_sites[0]
            site = f"{_short(s['file'])}:{s['line']} (+{human_bytes(s['size_diff'])}, {s['count_diff']:+d})"
        verdict = "LEAKING" if r.leaking else "ok"
        lines.append(
            f"{r.key[:width]:<{width}}  {r.requests:>8}  {human_bytes(r.retained_bytes_per_request):>12}  "
            f"{r.confidence:>5.2f}  {verdict:<8}  {site}"
        )
        bad = {k: v for k, v in r.statuses.items() if not k.startswith(("2", "3"))}
        if bad:
            lines.append(f"{'':<{width}}  note: non-2xx responses {bad}" + (f"; {r.errors[0]}" if r.errors else ""))
    leaking = sum(r.leaking for r in rows)
    lines.append(f"{leaking} of {len(rows)} endpoint(s) leaking")
    return "\n".join(lines)


__all__ = ["probe", "ProbeReport", "ProbeResult", "ProbeError", "format_table"]

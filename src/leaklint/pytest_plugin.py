"""pytest plugin: leak budgets per test, without rewriting tests.

Registered through the ``pytest11`` entry point and inert unless used: it adds
a marker, a fixture and a few ini options, and touches only marked tests.

``@pytest.mark.leaklint(runs=20, max_bytes_per_run=256, tasks=0, fds=0, threads=0)``
runs the test body ``warmup`` + ``runs`` times (fixtures are set up once) and
fails with one line naming what grew per run beyond its budget: traced memory
(least-squares slope over the runs, with r²), pending asyncio tasks, open file
descriptors, threads. The ``leaklint_probe`` fixture probes an app's endpoints
and fails the test when one leaks. ``--leaklint-report-only`` (or the ini
option, or ``report_only=True`` on the marker) warns instead of failing.
"""

from __future__ import annotations

import gc
import inspect
import tracemalloc
import warnings
from typing import Any, Callable, Optional

import pytest

_COUNTS = ("tasks", "fds", "threads")
_DEFAULTS = {"runs": 20, "warmup": 3, "max_bytes_per_run": 256.0, "tasks": 0.0, "fds": 0.0, "threads": 0.0}
_MARKER_KEYS = set(_DEFAULTS) | {"report_only", "min_confidence"}
_MIN_CONFIDENCE = 0.8


class LeaklintWarning(UserWarning):
    """A leak budget was exceeded in report-only mode."""


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("leaklint", "leak budgets (leaklint)")
    group.addoption("--leaklint-report-only", action="store_true", default=None,
                    help="leaklint: warn about exceeded leak budgets instead of failing")
    parser.addini("leaklint_report_only", "leaklint: warn instead of failing", type="bool", default=False)
    for key, value in _DEFAULTS.items():
        parser.addini(f"leaklint_{key}", f"leaklint: default {key} for @pytest.mark.leaklint (default {value:g})", default=None)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "leaklint(runs=20, warmup=3, max_bytes_per_run=256, tasks=0, fds=0, threads=0, report_only=False): "
        "loop the test body and fail when memory, tasks, descriptors or threads grow per run beyond the budget",
    )


def _report_only(config: Any, marker_value: Any = None) -> bool:
    if marker_value is not None:
        return bool(marker_value)
    option = config.getoption("leaklint_report_only")
    return bool(option) if option is not None else bool(config.getini("leaklint_report_only"))


def _budgets(config: Any, marker: Any) -> dict[str, Any]:
    unknown = set(marker.kwargs) - _MARKER_KEYS
    if unknown or marker.args:
        raise pytest.UsageError(f"@pytest.mark.leaklint takes keywords {', '.join(sorted(_MARKER_KEYS))}; got "
                                f"{', '.join(sorted(unknown)) or 'positional arguments'}")
    out: dict[str, Any] = {}
    for key, default in _DEFAULTS.items():
        raw = marker.kwargs.get(key, config.getini(f"leaklint_{key}"))
        try:
            value = float(default if raw in (None, "") else raw)
        except (TypeError, ValueError):
            raise pytest.UsageError(f"leaklint: {key} must be a number, got {raw!r}") from None
        if value < 0 or (key == "runs" and value < 3):
            raise pytest.UsageError(f"leaklint: {key} must be >= {3 if key == 'runs' else 0}, got {raw!r}")
        out[key] = int(value) if key in ("runs", "warmup") else value
    out["min_confidence"] = float(marker.kwargs.get("min_confidence", _MIN_CONFIDENCE))
    out["report_only"] = _report_only(config, marker.kwargs.get("report_only"))
    return out


def _sample() -> tuple[int, Optional[int], Optional[int], Optional[int]]:
    from leaklint.runtime import counters

    gc.collect()
    gc.collect()
    return (tracemalloc.get_traced_memory()[0], counters.pending_tasks_anywhere(), counters.open_fds(), counters.thread_count())


def measure_runs(body: Callable[[], Any], runs: int, warmup: int) -> dict[str, tuple[Optional[float], Optional[float], Optional[int]]]:
    """Run ``body`` warmup + runs times; per measure: (slope per run, r², net growth), None if unavailable."""
    from leaklint.runtime.stats import linear_fit

    for _ in range(warmup):
        body()
    # Freeze what is alive now: the collections at each run then scan only what runs create.
    froze = gc.get_freeze_count() == 0
    gc.collect()
    if froze:
        gc.freeze()
    own = not tracemalloc.is_tracing()
    if own:
        tracemalloc.start(1)
    try:
        rows = [_sample()]
        for _ in range(runs):
            body()
            rows.append(_sample())
    finally:
        if own:
            tracemalloc.stop()
        if froze:
            gc.unfreeze()
    xs = list(range(len(rows)))
    out: dict[str, tuple[Optional[float], Optional[float], Optional[int]]] = {}
    for i, name in enumerate(("bytes",) + _COUNTS):
        ys = [row[i] for row in rows]
        if any(y is None for y in ys):
            out[name] = (None, None, None)
            continue
        fit = linear_fit(xs, ys)  # type: ignore[arg-type]
        out[name] = (fit.slope, fit.r2, ys[-1] - ys[0])  # type: ignore[operator]
    return out


def over_budget(figures: dict[str, Any], budgets: dict[str, Any]) -> list[str]:
    """Phrases for every measure that grew per run beyond its budget, steadily."""
    from leaklint.runtime.stats import human_bytes

    grew = []
    slope, r2, _ = figures["bytes"]
    if slope is not None and slope > budgets["max_bytes_per_run"] and r2 >= budgets["min_confidence"]:
        grew.append(f"traced memory +{human_bytes(slope)}/run (budget {human_bytes(budgets['max_bytes_per_run'])}, r²={r2:.2f})")
    for name in _COUNTS:
        slope, r2, net = figures[name]
        if slope is None:
            continue
        if slope > budgets[name] and r2 >= budgets["min_confidence"] and net >= 2:
            grew.append(f"{name} +{slope:.2f}/run (budget {budgets[name]:g}, r²={r2:.2f})")
    return grew


def _complain(config: Any, message: str, report_only: bool) -> None:
    if report_only:
        warnings.warn(LeaklintWarning(message), stacklevel=2)
    else:
        pytest.fail(message, pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: Any) -> Optional[bool]:
    marker = pyfuncitem.get_closest_marker("leaklint")
    if marker is None:
        return None
    budgets = _budgets(pyfuncitem.config, marker)
    test = pyfuncitem.obj
    if inspect.iscoroutinefunction(test):
        raise pytest.UsageError(f"{pyfuncitem.nodeid}: @pytest.mark.leaklint loops sync test bodies; call asyncio.run in the test")
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    figures = measure_runs(lambda: test(**kwargs), budgets["runs"], budgets["warmup"])
    grew = over_budget(figures, budgets)
    if grew:
        message = f"leaklint: {pyfuncitem.name} grew over {budgets['runs']} runs: " + "; ".join(grew)
        _complain(pyfuncitem.config, message, budgets["report_only"])
    return True


@pytest.fixture
def leaklint_probe(request: Any) -> Callable[..., Any]:
    """``leaklint_probe(app, **probe_options)``: probe the endpoints, fail (or warn) when one leaks."""
    report_only = _report_only(request.config)

    def run(app: Any, **options: Any) -> Any:
        from leaklint.runtime import probe

        report = probe(app, **options)
        leaking = [r for r in report if r.leaking]
        if leaking:
            _complain(request.config, "leaklint: " + " | ".join(r.describe() for r in leaking), report_only)
        return report

    return run

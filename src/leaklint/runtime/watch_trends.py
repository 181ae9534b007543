"""Growth of the process counters over a watch run (``watch(app, resources=True)``).

Each counter is judged like ``probe`` judges memory: a least-squares slope with
its r², here both per hour of uptime and per 1000 requests served. A counter
*grows steadily* when it gained at least a few units over the run and one of the
fits explains it well; a warm-up step (a thread pool filling once) does not fit
a line and is not flagged.
"""

from __future__ import annotations

from typing import Any, Optional

from .stats import human_bytes, linear_fit

TREND_NAMES = ("tasks", "fds", "threads", "pool_checkouts", "rss_bytes")
MIN_SAMPLES = 5
MIN_R2 = 0.8
# Net growth below these is noise: one lazily started thread or connection is not a leak.
COUNT_FLOOR = 2
RSS_FLOOR = 1024 * 1024
# RSS is the whole process's: per request it must grow by four pages (as in probe);
# over time without that, it must pass the watch's own growth threshold.
RSS_PER_REQUEST = 16384.0
_CHART_POINTS = 400


def last_session(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples of the last run in the log (a restarted app appends a new `start`)."""
    samples: list[dict[str, Any]] = []
    for rec in records:
        if rec.get("type") == "start":
            samples = []
        elif rec.get("type") == "sample":
            samples.append(rec)
    return samples


def _value(sample: dict[str, Any], name: str) -> Optional[float]:
    if name == "rss_bytes":
        value = sample.get("rss")
    else:
        value = (sample.get("resources") or {}).get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def resource_trends(
    records: list[dict[str, Any]], growth_threshold_mb: float = 50.0
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[float, float]]]]:
    """One trend row per counter the last session sampled, and its (seconds, value) series for charts."""
    samples = [s for s in last_session(records) if isinstance(s.get("resources"), dict)]
    rows: list[dict[str, Any]] = []
    series: dict[str, list[tuple[float, float]]] = {}
    if not samples:
        return rows, series
    t0 = float(samples[0].get("ts", 0))
    for name in TREND_NAMES:
        points = []
        for s in samples:
            value = _value(s, name)
            if value is not None:
                points.append((float(s.get("ts", 0)) - t0, float(s.get("requests") or 0), value))
        if not points:
            continue
        rows.append(_trend(name, points, growth_threshold_mb))
        step = max(1, len(points) // _CHART_POINTS)
        series[name] = [(t, v) for t, _, v in points[::step]]
    return rows, series


def _trend(name: str, points: list[tuple[float, float, float]], growth_threshold_mb: float) -> dict[str, Any]:
    hours = [t / 3600.0 for t, _, _ in points]
    kilo_requests = [r / 1000.0 for _, r, _ in points]
    ys = [v for _, _, v in points]
    by_time = linear_fit(hours, ys)
    by_requests = linear_fit(kilo_requests, ys)
    served = kilo_requests[-1] - kilo_requests[0]
    net = ys[-1] - ys[0]
    row: dict[str, Any] = {
        "name": name,
        "samples": len(points),
        "first": ys[0],
        "last": ys[-1],
        "min": min(ys),
        "max": max(ys),
        "net": net,
        "per_hour": round(by_time.slope, 3),
        "r2_time": round(by_time.r2, 3),
        "per_1000_requests": round(by_requests.slope, 3) if served > 0 else None,
        "r2_requests": round(by_requests.r2, 3) if served > 0 else None,
    }
    row["steady_growth"] = _steady(name, row, len(points), growth_threshold_mb)
    return row


def _steady(name: str, row: dict[str, Any], n: int, growth_threshold_mb: float) -> bool:
    if n < MIN_SAMPLES:
        return False
    per_request_fit = row["r2_requests"] is not None and row["r2_requests"] >= MIN_R2 and row["per_1000_requests"] > 0
    time_fit = row["r2_time"] >= MIN_R2 and row["per_hour"] > 0
    if name != "rss_bytes":
        return row["net"] >= COUNT_FLOOR and (per_request_fit or time_fit)
    if row["net"] < RSS_FLOOR:
        return False
    if per_request_fit and row["per_1000_requests"] >= RSS_PER_REQUEST * 1000:
        return True
    return time_fit and row["net"] >= growth_threshold_mb * 1024 * 1024


def format_amount(name: str, value: Optional[float], signed: bool = True) -> str:
    """A count as '+12.5', RSS as '+1.5 MB'; '-' when there is no figure."""
    if value is None:
        return "-"
    if name == "rss_bytes":
        text = human_bytes(value)
        return ("+" + text) if signed and value >= 0 else text
    return f"{value:+,.1f}" if signed else f"{value:,.0f}"


def format_trends(rows: list[dict[str, Any]]) -> list[str]:
    """The text report's section: one line per counter, steady growth flagged."""
    if not rows:
        return []
    lines = ["resource counters over the run (least-squares slope, r²):"]
    lines.append(
        f"  {'counter':<15} {'first':>10} {'last':>10} {'net':>10} {'per hour':>14} {'r²':>5} {'per 1000 req':>13} {'r²':>5}"
    )
    for row in rows:
        name = row["name"]
        r2_req = "-" if row["r2_requests"] is None else f"{row['r2_requests']:.2f}"
        flag = "  STEADY GROWTH" if row["steady_growth"] else ""
        lines.append(
            f"  {name:<15} {format_amount(name, row['first'], False):>10} {format_amount(name, row['last'], False):>10} "
            f"{format_amount(name, row['net']):>10} {format_amount(name, row['per_hour']):>14} {row['r2_time']:>5.2f} "
            f"{format_amount(name, row['per_1000_requests']):>13} {r2_req:>5}{flag}"
        )
    return lines

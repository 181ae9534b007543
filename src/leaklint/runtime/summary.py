"""The shutdown summary: one JSON record for tools, one text block for humans."""

from __future__ import annotations

from typing import Any

from .stats import human_bytes


def format_summary(summary: dict[str, Any], limit: int = 15) -> str:
    """Human summary of a ``{"type": "summary"}`` record."""
    rss = summary.get("rss") or {}
    kind = summary.get("delta_kind", "rss")
    lines = [
        f"leaklint watch summary ({summary.get('level', '?')} level, "
        f"{summary.get('duration_s', 0):.0f} s, {summary.get('requests', 0)} requests, "
        f"{summary.get('samples', 0)} samples)",
    ]
    if rss.get("baseline") is not None:
        lines.append(
            "  RSS baseline {b}  peak {p}  final {f}  net growth {g}".format(
                b=human_bytes(rss["baseline"]),
                p=human_bytes(rss.get("peak") or 0),
                f=human_bytes(rss.get("final") or 0),
                g=human_bytes(rss.get("net_growth") or 0),
            )
        )
    if summary.get("alerts"):
        lines.append(f"  {summary['alerts']} growth alert(s) above {summary.get('growth_threshold_mb')} MB")
    endpoints = summary.get("endpoints") or []
    if endpoints:
        lines.append(f"  per endpoint ({kind} delta per request; concurrent requests share one heap, so these are noisy):")
        width = min(48, max(len(e["key"]) for e in endpoints[:limit]))
        lines.append(f"    {'endpoint':<{width}}  {'calls':>7}  {'avg':>10}  {'± sd':>10}  {'max':>10}  {'total':>10}")
        for e in endpoints[:limit]:
            d = e["delta"]
            lines.append(
                f"    {e['key'][:width]:<{width}}  {e['calls']:>7}  {human_bytes(d['mean']):>10}  "
                f"{human_bytes(d['stdev']):>10}  {human_bytes(d['max']):>10}  {human_bytes(d['total']):>10}"
            )
        if len(endpoints) > limit:
            lines.append(f"    ... {len(endpoints) - limit} more")
    sites = summary.get("growing_sites") or []
    if sites:
        lines.append("  top growing allocation sites since start:")
        for s in sites[:10]:
            lines.append(f"    {s['file']}:{s['line']}  +{human_bytes(s['size_diff'])} ({s['count_diff']:+d} blocks)")
    errors = summary.get("watcher_errors") or []
    if errors:
        lines.append(f"  watcher errors (the app kept serving): {', '.join(e['where'] + ': ' + e['error'] for e in errors)}")
    return "\n".join(lines)

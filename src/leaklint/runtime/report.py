"""Load a watch log or probe JSON into one shape that the text and HTML reports share."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .join import describe, growth_phrase, join_findings, match_families
from .log import read_records
from .stats import human_bytes
from .watch_trends import format_trends, resource_trends


class ReportInputError(ValueError):
    """The file is neither a leaklint watch log nor probe JSON."""


@dataclass
class RuntimeReport:
    kind: str  # "probe" or "watch"
    source: str
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    rss_series: list[tuple[float, int]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    growing_sites: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    static_paths: list[str] = field(default_factory=list)
    # watch(app, resources=True): one growth row per process counter, and its (seconds, value) series
    resource_trends: list[dict[str, Any]] = field(default_factory=list)
    resource_series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def join(self, findings: list[dict[str, Any]]) -> None:
        for ep in self.endpoints:
            ep["findings"] = join_findings(ep.get("code") or [], findings)
            match_families(ep, ep["findings"])
            ep["sentence"] = describe(ep, ep["findings"])


def load(path: str) -> RuntimeReport:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ReportInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    if not stripped:
        raise ReportInputError(f"{path} is empty")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and "results" in whole:
        return _from_probe(path, whole["results"])
    if isinstance(whole, list) and whole and all(isinstance(r, dict) and "retained_bytes_per_request" in r for r in whole):
        return _from_probe(path, whole)
    if isinstance(whole, dict) and "type" in whole:
        return _from_watch(path, [whole])
    records = list(read_records(path))
    if not records or not any(r.get("type") in ("sample", "summary", "start") for r in records):
        raise ReportInputError(f"{path} is neither a leaklint watch log (JSON lines) nor probe JSON")
    return _from_watch(path, records)


def _from_probe(path: str, results: Any) -> RuntimeReport:
    if not isinstance(results, list):
        raise ReportInputError(f"{path}: 'results' must be a list")
    rep = RuntimeReport("probe", path)
    for r in results:
        if not isinstance(r, dict) or "method" not in r or "route" not in r:
            raise ReportInputError(f"{path}: probe record without method/route")
        per = float(r.get("retained_bytes_per_request") or 0)
        mode = r.get("mode") or "normal"
        leaking_resources = list(r.get("leaking_resources") or [])
        ep = {
            "key": f"{r['method']} {r['route']}" + (" [error]" if mode == "error" else ""),
            "mode": mode,
            "resources": r.get("resources") or {},
            "resource_confidence": r.get("resource_confidence") or {},
            "leaking_resources": leaking_resources,
            "leaking_bytes": bool(r.get("leaking_bytes", r.get("leaking"))),
            "native_growth": bool(r.get("native_growth")),
            "context_vars": list(r.get("context_vars") or []),
            "errors": list(r.get("errors") or []),
            "method": r["method"],
            "route": r["route"],
            "calls": r.get("requests", 0),
            "per_request": per,
            "spread": None,
            "max": None,
            "leaking": bool(r.get("leaking")),
            "confidence": r.get("confidence"),
            "top_sites": r.get("top_sites") or [],
            "samples": r.get("samples") or [],
            "code": r.get("code") or [],
            "growth_phrase": growth_phrase(per, "probe", r.get("resources"), leaking_resources),
        }
        rep.endpoints.append(ep)
    rep.endpoints.sort(key=lambda e: -e["per_request"])
    for ep in rep.endpoints:
        ep["sentence"] = describe(ep, [])
    return rep


def _from_watch(path: str, records: list[dict[str, Any]]) -> RuntimeReport:
    rep = RuntimeReport("watch", path)
    t0 = None
    for r in records:
        kind = r.get("type")
        if kind == "sample" and isinstance(r.get("rss"), int):
            ts = float(r.get("ts", 0))
            if t0 is None:
                t0 = ts
            rep.rss_series.append((ts - t0, r["rss"]))
        elif kind == "alert":
            rep.alerts.append(r)
        elif kind == "summary":
            rep.summary = r  # the last one wins: a restarted app appends a new session
    if rep.summary is None:
        rep.notes.append("no summary record yet (is the app still running?): per-endpoint figures come from slow/heavy request records only")
        rows: dict[str, dict[str, Any]] = {}
        for r in records:
            if r.get("type") == "request":
                row = rows.setdefault(r["endpoint"], {"key": r["endpoint"], "calls": 0, "total": 0, "max": 0})
                row["calls"] += 1
                row["total"] += r.get("delta", 0)
                row["max"] = max(row["max"], r.get("delta", 0))
        endpoints = [
            {"key": k, "calls": v["calls"], "delta": {"mean": v["total"] / v["calls"], "stdev": 0, "max": v["max"]}}
            for k, v in rows.items()
        ]
    else:
        endpoints = rep.summary.get("endpoints") or []
        rep.growing_sites = rep.summary.get("growing_sites") or []
    for e in endpoints:
        delta = e.get("delta") or {}
        per = float(delta.get("mean") or 0)
        method, _, route = e["key"].partition(" ")
        rep.endpoints.append(
            {
                "key": e["key"],
                "method": method if route else None,
                "route": route or None,
                "calls": e.get("calls", 0),
                "per_request": per,
                "spread": delta.get("stdev"),
                "max": delta.get("max"),
                "leaking": None,
                "confidence": None,
                "top_sites": [],
                "samples": [],
                "code": e.get("code") or [],
                "growth_phrase": growth_phrase(per, "watch"),
            }
        )
    rep.endpoints.sort(key=lambda e: -(e["per_request"] * max(1, e["calls"])))
    for ep in rep.endpoints:
        ep["sentence"] = describe(ep, [])
    threshold = next((r.get("growth_threshold_mb") for r in reversed(records) if r.get("type") == "start"), None)
    rep.resource_trends, rep.resource_series = resource_trends(records, float(threshold or 50.0))
    return rep


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def resource_phrases(e: dict[str, Any]) -> list[str]:
    """'pool_checkouts +1.00/request (r²=1.00)' for each leaking resource of a probe record."""
    out = []
    for name in e.get("leaking_resources") or []:
        per = (e.get("resources") or {}).get(name) or 0.0
        r2 = (e.get("resource_confidence") or {}).get(name) or 0.0
        if name == "rss_bytes":
            label = "native memory (RSS)" if e.get("native_growth") else "RSS"
            out.append(f"{label} +{human_bytes(per)}/request (r²={r2:.2f})")
        else:
            out.append(f"{name} {per:+.2f}/request (r²={r2:.2f})")
    if e.get("context_vars"):
        out.append("ContextVar left set: " + ", ".join(e["context_vars"]))
    return out


def format_text(rep: RuntimeReport) -> str:
    """The per-endpoint table sorted by growth, with joined findings under each endpoint."""
    lines = []
    if rep.kind == "watch" and rep.summary:
        from .summary import format_summary

        lines.append(format_summary(rep.summary))
        lines.append("")
    if rep.resource_trends:
        lines.extend(format_trends(rep.resource_trends))
        lines.append("")
    for note in rep.notes:
        lines.append(f"note: {note}")
    if not rep.endpoints:
        lines.append("no endpoints in this file")
        return "\n".join(lines)
    width = max(8, min(50, max(len(e["key"]) for e in rep.endpoints)))
    if rep.kind == "probe":
        lines.append(f"{'endpoint':<{width}}  {'requests':>8}  {'retained/req':>12}  {'r²':>5}  verdict")
    else:
        lines.append(f"{'endpoint':<{width}}  {'calls':>8}  {'avg delta':>12}  {'± sd':>10}  {'max':>10}")
    for e in rep.endpoints:
        if rep.kind == "probe":
            verdict = "LEAKING" if e["leaking"] else "ok"
            conf = e["confidence"] if e["confidence"] is not None else 0.0
            lines.append(
                f"{e['key'][:width]:<{width}}  {e['calls']:>8}  {human_bytes(e['per_request']):>12}  {conf:>5.2f}  {verdict}"
            )
        else:
            lines.append(
                f"{e['key'][:width]:<{width}}  {e['calls']:>8}  {human_bytes(e['per_request']):>12}  "
                f"{human_bytes(e['spread'] or 0):>10}  {human_bytes(e['max'] or 0):>10}"
            )
        for s in (e["top_sites"][:1] if e["leaking"] and e.get("leaking_bytes", True) else []):
            lines.append(f"{'':<{width}}    grew at {_short(s['file'])}:{s['line']} (+{human_bytes(s['size_diff'])})")
        for phrase in resource_phrases(e):
            lines.append(f"{'':<{width}}    grows: {phrase}")
        for f in e.get("findings") or []:
            why = f" [explains {', '.join(f['matches'])}]" if f.get("matches") else ""
            lines.append(
                f"{'':<{width}}    {f['code']} at {_short(f['filename'])}:{f['row']} in {f['role']} {f['function']}: {f['message']}{why}"
            )
    joined = [e for e in rep.endpoints if e.get("findings")]
    if joined:
        lines.append("")
        for e in joined:
            lines.append(e["sentence"])
    return "\n".join(lines)

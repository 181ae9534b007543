"""One self-contained HTML file: inline SVG charts and CSS, no scripts, no network.

It is meant to be attached to a CI run or an incident ticket and opened
anywhere, so nothing may be fetched from a CDN.
"""

from __future__ import annotations

import html
import os
import time
from typing import Any, Sequence

from .report import RuntimeReport, resource_phrases
from .stats import human_bytes
from .watch_trends import format_amount

_PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
_CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#57606a;margin-bottom:12px} .note{background:#fff8c5;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f6f8fa;font-weight:600} td.key{white-space:nowrap} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.leak{color:#b42318;font-weight:600} .ok{color:#1a7f37} code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f6f8fa;padding:1px 4px;border-radius:3px}
.finding{margin:2px 0} .sentence{margin:4px 0;padding:6px 10px;background:#fdecea;border-left:3px solid #b42318}
svg text{font:11px -apple-system,Segoe UI,Helvetica,Arial,sans-serif;fill:#444}
.cards{display:flex;gap:12px;flex-wrap:wrap} .card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:18px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _nice_max(v: float) -> float:
    return v if v > 0 else 1.0


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    x_label: str,
    y_fmt: Any = human_bytes,
    width: int = 960,
    height: int = 280,
) -> str:
    """Polyline chart of one or more (name, points) series sharing axes."""
    pts = [p for _, s in series for p in s]
    if not pts:
        return '<p class="meta">no samples</p>'
    pad_l, pad_r, pad_t, pad_b = 80, 20, 14, 40
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + max(1.0, abs(y0) * 0.01)
    span_y = y1 - y0
    y0 -= span_y * 0.05
    y1 += span_y * 0.05
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (x - x0) / (x1 - x0) * w

    def sy(y: float) -> float:
        return pad_t + h - (y - y0) / (y1 - y0) * h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        y = sy(yv)
        out.append(f'<line x1="{pad_l}" y1="{y:.1f}" x2="{width - pad_r}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(y_fmt(yv))}</text>')
    for i in range(5):
        xv = x0 + (x1 - x0) * i / 4
        x = sx(xv)
        out.append(f'<text x="{x:.1f}" y="{height - pad_b + 16}" text-anchor="middle">{xv:.0f}</text>')
    out.append(f'<text x="{pad_l + w / 2:.1f}" y="{height - 6}" text-anchor="middle">{_e(x_label)}</text>')
    out.append(f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>')
    for i, (name, s) in enumerate(series):
        if not s:
            continue
        color = _PALETTE[i % len(_PALETTE)]
        poly = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{poly}"/>')
        if len(s) <= 60:
            for x, y in s:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>')
    if len(series) > 1 or series[0][0]:
        for i, (name, _) in enumerate(series):
            color = _PALETTE[i % len(_PALETTE)]
            y = pad_t + 14 + i * 16
            out.append(f'<rect x="{pad_l + 10}" y="{y - 9}" width="10" height="10" fill="{color}"/>')
            out.append(f'<text x="{pad_l + 26}" y="{y}">{_e(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(rows: Sequence[tuple[str, float, bool]], width: int = 960) -> str:
    """Horizontal bars: (label, bytes per request, highlighted)."""
    if not rows:
        return '<p class="meta">no endpoints</p>'
    bar_h, gap, label_w, value_w = 20, 8, 300, 110
    height = len(rows) * (bar_h + gap) + 10
    vmax = _nice_max(max(abs(v) for _, v, _ in rows))
    w = width - label_w - value_w
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, value, hot) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        length = max(1.0, abs(value) / vmax * w) if value > 0 else 1.0
        color = "#d62728" if hot else "#8fb3d9"
        text = label if len(label) <= 44 else label[:43] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{_e(text)}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" fill="{color}" rx="2"/>')
        out.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 14}">{_e(human_bytes(value))}/req</text>')
    out.append("</svg>")
    return "".join(out)


def render(rep: RuntimeReport, title: str = "leaklint runtime report") -> str:
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<div class="meta">{_e(rep.kind)} data from <code>{_e(_short(rep.source))}</code>, '
        f"rendered {_e(time.strftime('%Y-%m-%d %H:%M:%S'))}"
        + (f"; static findings from {_e(', '.join(rep.static_paths))}" if rep.static_paths else "")
        + "</div>",
    ]
    for note in rep.notes:
        parts.append(f'<p class="note">{_e(note)}</p>')
    parts.append(_cards(rep))
    if rep.kind == "watch":
        parts.append("<h2>RSS over time</h2>")
        series = [("", [(t, float(r)) for t, r in rep.rss_series])]
        parts.append(line_chart(series, "seconds since start"))
        if rep.alerts:
            parts.append(f'<p class="note">{len(rep.alerts)} growth alert(s): {_e(rep.alerts[-1].get("message", ""))}</p>')
        if rep.resource_trends:
            parts.append(_resource_section(rep))
    else:
        parts.append("<h2>Traced memory over requests (each endpoint alone, after warm-up)</h2>")
        series = []
        for ep in rep.endpoints[:8]:
            s = ep.get("samples") or []
            if s:
                base = s[0][1]
                series.append((ep["key"], [(float(x), float(y - base)) for x, y in s]))
        parts.append(line_chart(series, "requests"))
    label = "retained bytes per request" if rep.kind == "probe" else "average memory delta per request"
    parts.append(f"<h2>Per endpoint: {_e(label)}</h2>")
    bars = [(e["key"], e["per_request"], bool(e["leaking"]) or bool(e.get("findings"))) for e in rep.endpoints[:30]]
    parts.append(bar_chart(bars))
    if rep.kind == "watch":
        parts.append(
            '<p class="meta">Concurrent requests share one heap, so a per-request delta also contains what '
            "other requests allocated meanwhile: read the averages with their call counts and spread. "
            "Use <code>leaklint probe</code> for attribution without that noise.</p>"
        )
    sentences = [e["sentence"] for e in rep.endpoints if e.get("findings")]
    if sentences:
        parts.append("<h2>Growth next to static findings</h2>")
        parts.extend(f'<div class="sentence">{_e(s)}</div>' for s in sentences)
    parts.append("<h2>Endpoints</h2>")
    parts.append(_table(rep))
    if rep.growing_sites:
        parts.append("<h2>Top growing allocation sites since start</h2><table><tr><th>site</th><th>growth</th><th>blocks</th></tr>")
        for s in rep.growing_sites[:15]:
            parts.append(
                f"<tr><td><code>{_e(_short(s['file']))}:{_e(s['line'])}</code></td>"
                f"<td class=num>+{_e(human_bytes(s['size_diff']))}</td><td class=num>{_e(s['count_diff'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _resource_section(rep: RuntimeReport) -> str:
    """watch(app, resources=True): the counters over time and each one's least-squares growth."""
    counts = [(name, pts) for name, pts in rep.resource_series.items() if name != "rss_bytes"]
    out = ["<h2>Resource counters over time</h2>"]
    if counts:
        out.append(line_chart(counts, "seconds since start", y_fmt=lambda v: f"{v:.0f}"))
    out.append(
        "<table><tr><th>counter</th><th>first</th><th>last</th><th>net</th><th>per hour</th><th>r²</th>"
        "<th>per 1000 requests</th><th>r²</th><th>verdict</th></tr>"
    )
    for row in rep.resource_trends:
        name = row["name"]
        verdict = '<span class="leak">steady growth</span>' if row["steady_growth"] else '<span class="ok">no steady growth</span>'
        r2_req = "-" if row["r2_requests"] is None else f"{row['r2_requests']:.2f}"
        cells = [
            format_amount(name, row["first"], False), format_amount(name, row["last"], False), format_amount(name, row["net"]),
            format_amount(name, row["per_hour"]), f"{row['r2_time']:.2f}", format_amount(name, row["per_1000_requests"]), r2_req,
        ]
        out.append(
            f"<tr><td class=key><code>{_e(name)}</code></td>" + "".join(f"<td class=num>{_e(c)}</td>" for c in cells)
            + f"<td>{verdict}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _cards(rep: RuntimeReport) -> str:
    cards = []
    if rep.kind == "watch" and rep.summary:
        rss = rep.summary.get("rss") or {}
        for name in ("baseline", "peak", "final", "net_growth"):
            if rss.get(name) is not None:
                cards.append((name.replace("_", " ") + " RSS" if name != "net_growth" else "net growth", human_bytes(rss[name])))
        cards.append(("requests", str(rep.summary.get("requests", 0))))
        cards.append(("level", str(rep.summary.get("level", "?"))))
    elif rep.kind == "probe":
        leaking = sum(1 for e in rep.endpoints if e["leaking"])
        cards.append(("endpoints probed", str(len(rep.endpoints))))
        cards.append(("leaking", str(leaking)))
        resources = sum(1 for e in rep.endpoints if e.get("leaking_resources") or e.get("context_vars"))
        if resources:
            cards.append(("leaking resources", str(resources)))
    found = sum(len(e.get("findings") or []) for e in rep.endpoints)
    if rep.static_paths:
        cards.append(("joined findings", str(found)))
    return '<div class="cards">' + "".join(f'<div class="card">{_e(k)}<b>{_e(v)}</b></div>' for k, v in cards) + "</div>"


def _table(rep: RuntimeReport) -> str:
    if rep.kind == "probe":
        head = "<tr><th>endpoint</th><th>requests</th><th>retained/request</th><th>r²</th><th>verdict</th><th>grew at / static findings</th></tr>"
    else:
        head = "<tr><th>endpoint</th><th>calls</th><th>avg delta</th><th>± sd</th><th>max</th><th>static findings</th></tr>"
    rows = [f"<table>{head}"]
    for e in rep.endpoints:
        detail = []
        # Sites of a steady, leaking growth mean something; for the rest they are noise.
        for phrase in resource_phrases(e):
            detail.append(f'<div class="finding leak">grows: {_e(phrase)}</div>')
        for s in (e["top_sites"][:3] if e["leaking"] and e.get("leaking_bytes", True) else []):
            detail.append(
                f'<div class="finding">grew at <code>{_e(_short(s["file"]))}:{_e(s["line"])}</code> '
                f"+{_e(human_bytes(s['size_diff']))} ({_e(s['count_diff'])} blocks)</div>"
            )
        for f in e.get("findings") or []:
            detail.append(
                f'<div class="finding"><b>{_e(f["code"])}</b> <code>{_e(_short(f["filename"]))}:{_e(f["row"])}</code> '
                f"in {_e(f['role'])} <code>{_e(f['function'])}</code>: {_e(f['message'])}"
                + (f" <b>explains {_e(', '.join(f['matches']))}</b>" if f.get("matches") else "")
                + "</div>"
            )
        if rep.kind == "probe":
            verdict = '<span class="leak">LEAKING</span>' if e["leaking"] else '<span class="ok">ok</span>'
            rows.append(
                f"<tr><td class=key><code>{_e(e['key'])}</code></td><td class=num>{_e(e['calls'])}</td>"
                f"<td class=num>{_e(human_bytes(e['per_request']))}</td><td class=num>{_e(e['confidence'])}</td>"
                f"<td>{verdict}</td><td>{''.join(detail)}</td></tr>"
            )
        else:
            rows.append(
                f"<tr><td class=key><code>{_e(e['key'])}</code></td><td class=num>{_e(e['calls'])}</td>"
                f"<td class=num>{_e(human_bytes(e['per_request']))}</td><td class=num>{_e(human_bytes(e['spread'] or 0))}</td>"
                f"<td class=num>{_e(human_bytes(e['max'] or 0))}</td><td>{''.join(detail)}</td></tr>"
            )
    rows.append("</table>")
    return "".join(rows)

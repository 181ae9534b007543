"""What ``probe`` returns: one record per endpoint and mode, and the text table of them."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional

from .stats import human_bytes

DEFAULT_THRESHOLD_BYTES = 256


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
    # "normal", or "error": the handler raised after it ran (--error-paths)
    mode: str = "normal"
    # growth per request of each counter (None: unavailable here), its r² and checkpoint values
    resources: dict[str, Optional[float]] = field(default_factory=dict)
    resource_confidence: dict[str, Optional[float]] = field(default_factory=dict)
    resource_samples: dict[str, list[int]] = field(default_factory=dict)
    leaking_resources: list[str] = field(default_factory=list)
    leaking_bytes: bool = False
    # RSS grows steadily while the traced Python heap does not: native memory
    native_growth: bool = False
    # module-level ContextVars of the app still set in the caller's context after a request
    context_vars: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}" + (" [error]" if self.mode == "error" else "")

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def pool_exhausted(self) -> bool:
        return any(e.startswith("pool exhausted") for e in self.errors)

    def grew(self) -> list[str]:
        """Short phrases for every resource that leaks, for one-line summaries."""
        out = []
        for name in self.leaking_resources:
            per = self.resources.get(name) or 0.0
            r2 = self.resource_confidence.get(name) or 0.0
            if name == "pool_checkouts" and self.pool_exhausted:
                out.append(f"pool_checkouts: the pool ran dry ({per:+.2f}/request before it did)")
            elif name == "rss_bytes":
                label = "native memory (RSS)" if self.native_growth else "RSS"
                out.append(f"{label} +{human_bytes(per)}/request (r²={r2:.2f})")
            else:
                out.append(f"{name} +{per:.2f}/request (r²={r2:.2f})")
        if self.context_vars:
            out.append("ContextVar left set: " + ", ".join(self.context_vars))
        return out

    def describe(self) -> str:
        verdict = "LEAKING" if self.leaking else "ok"
        site = ""
        if self.leaking_bytes and self.top_sites:
            s = self.top_sites[0]
            site = f"  at {_short(s['file'])}:{s['line']}"
        grew = self.grew()
        extra = ("; " + "; ".join(grew)) if grew else ""
        return (
            f"{self.key}: {verdict}, retains {human_bytes(self.retained_bytes_per_request)}/request "
            f"(r²={self.confidence:.2f}, {self.requests} requests){site}{extra}"
        )


class ProbeReport(list):
    """The results, one per endpoint and mode; ``.leaking`` is true if any leaks.

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
    for r in sorted(rows, key=lambda r: (not r.leaking, -r.retained_bytes_per_request)):
        site = ""
        if r.top_sites and r.leaking_bytes:
            s = r.top_sites[0]
            site = f"{_short(s['file'])}:{s['line']} (+{human_bytes(s['size_diff'])}, {s['count_diff']:+d})"
        verdict = "LEAKING" if r.leaking else "ok"
        lines.append(
            f"{r.key[:width]:<{width}}  {r.requests:>8}  {human_bytes(r.retained_bytes_per_request):>12}  "
            f"{r.confidence:>5.2f}  {verdict:<8}  {site}"
        )
        for phrase in r.grew():
            lines.append(f"{'':<{width}}  grows: {phrase}")
        expected = ("5",) if r.mode == "error" else ()
        bad = {k: v for k, v in r.statuses.items() if not k.startswith(("2", "3") + expected)}
        exhausted = [e for e in r.errors if e.startswith("pool exhausted")]
        others = [e for e in r.errors if e not in exhausted]
        if bad and not exhausted:
            lines.append(f"{'':<{width}}  note: non-2xx responses {bad}" + (f"; {others[0]}" if others else ""))
        for note in exhausted:
            lines.append(f"{'':<{width}}  note: {note}")
    leaking = sum(r.leaking for r in rows)
    lines.append(f"{leaking} of {len(rows)} endpoint(s) leaking")
    unavailable = sorted({name for r in rows for name in r.unavailable})
    if unavailable:
        lines.append(f"unavailable here (not measured): {', '.join(unavailable)}")
    return "\n".join(lines)

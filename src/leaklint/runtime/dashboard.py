"""The opt-in live dashboard of ``watch(app, dashboard_token=...)``, served at ``/_leaklint``.

Why it is shaped like this: it runs inside a production app, so it must not be
a door. It is never on without a token; only ``Authorization: Bearer <token>``
(compared in constant time) opens it, and any other request for its path goes
on to the app as if the dashboard did not exist (the app's own 404), so the
path does not reveal itself. The page is one HTML document with inline CSS and
SVG, no script and no external asset; it reloads itself with a meta refresh
(which keeps a header that a proxy or the browser adds), every value is
escaped, and a Content-Security-Policy that allows no script backs that up.
"""

from __future__ import annotations

import collections
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any, Sequence

from . import counters
from .html_report import _CSS, _e, _short, line_chart
from .stats import human_bytes

DEFAULT_PATH = "/_leaklint"
MIN_TOKEN_CHARS = 16
_HISTORY = 720  # samples kept for the chart: an hour at the default 5 s interval
_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        b"form-action 'none'; frame-ancestors 'none'",
    ),
]
_EXTRA_CSS = "td.err{color:#b42318} .hot{background:#fdecea}"


def check_token(token: Any) -> str:
    """The token as given, or a one-line ValueError saying what is wrong with it."""
    if not isinstance(token, str) or not token:
        raise ValueError("dashboard_token must be a non-empty string; the dashboard is never served without one")
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"dashboard_token must be at least {MIN_TOKEN_CHARS} characters (use secrets.token_urlsafe())")
    if any(c.isspace() for c in token):
        raise ValueError("dashboard_token must not contain whitespace")
    return token


class StaticFindings:
    """Static findings for the join, loaded once in a thread of their own.

    ``source`` is the JSON file that ``leaklint --output-format json`` wrote (the
    cheap choice for production), or paths to lint. The linter then runs in a
    child process: its parse trees would otherwise swell the watched app's heap
    and show up as the app's own growth.
    """

    def __init__(self, source: Any):
        paths = [os.fspath(source)] if isinstance(source, (str, os.PathLike)) else [os.fspath(p) for p in source]
        self.paths = paths
        self.findings: list[dict[str, Any]] | None = None
        self.error: str | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="leaklint-static", daemon=True).start()

    def _load(self) -> None:
        try:
            if len(self.paths) == 1 and self.paths[0].endswith(".json") and os.path.isfile(self.paths[0]):
                with open(self.paths[0], encoding="utf-8") as fh:
                    data = json.load(fh)
                if not isinstance(data, list):
                    raise ValueError("not a list of findings (write it with leaklint --output-format json)")
                self.findings = [f for f in data if isinstance(f, dict)]
            else:
                missing = [p for p in self.paths if not os.path.exists(p)]
                if missing:
                    raise FileNotFoundError(f"no such path: {missing[0]}")
                self.findings = _lint_in_child(self.paths)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"


def _lint_in_child(paths: list[str]) -> list[dict[str, Any]]:
    import leaklint  # noqa: PLC0415

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(leaklint.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-m", "leaklint", "check", "--output-format", "json", "--exit-zero", *paths]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"leaklint exited with {done.returncode}")
    return [f for f in json.loads(done.stdout or "[]") if isinstance(f, dict)]


class Dashboard:
    """Serves the page for one watcher; ``add_sample`` is called from the sampler thread."""

    def __init__(
        self,
        watcher: Any,
        token: str,
        path: str = DEFAULT_PATH,
        refresh_seconds: float = 5.0,
        static: Any = None,
    ):
        self.watcher = watcher
        self._expected = check_token(token).encode("utf-8")
        if not isinstance(path, str) or not path.startswith("/") or path == "/":
            raise ValueError(f"dashboard_path must start with '/' and name a path of its own, not {path!r}")
        self.path = path.rstrip("/")
        self.refresh_seconds = max(1, int(round(float(refresh_seconds))))
        self.static = StaticFindings(static) if static is not None else None
        self.history: collections.deque[tuple[float, int, int | None]] = collections.deque(maxlen=_HISTORY)
        self.top_sites: list[dict[str, Any]] = []
        self._code_maps: dict[str, list[dict[str, Any]]] = {}

    # ------------------------------------------------------------- requests
    def wants(self, scope: dict[str, Any]) -> bool:
        """True only for a GET/HEAD of the dashboard's path carrying the right bearer token."""
        if scope.get("path", "").rstrip("/") != self.path or scope.get("method") not in ("GET", "HEAD"):
            return False
        return self.authorized(scope.get("headers") or [])

    def authorized(self, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        given = b""
        for name, value in headers:
            if name.lower() == b"authorization":
                given = value
                break
        scheme, _, credentials = given.strip().partition(b" ")
        # compare_digest on the credentials even when the scheme is wrong: same work either way
        matches = hmac.compare_digest(credentials.strip(), self._expected)
        return matches and scheme.lower() == b"bearer"

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = self.render().encode("utf-8")
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    def start(self) -> None:
        if self.static is not None:
            self.static.start()

    # ------------------------------------------------------------- sampling
    def add_sample(self, rec: dict[str, Any]) -> None:
        rss = rec.get("rss")
        if isinstance(rss, int):
            traced = (rec.get("traced") or {}).get("current")
            self.history.append((float(rec.get("uptime_s") or 0.0), rss, traced))
        if rec.get("top_sites") is not None:
            self.top_sites = list(rec["top_sites"])

    # ------------------------------------------------------------- rendering
    def render(self) -> str:
        w = self.watcher
        rows = w._endpoint_rows()
        kind = "traced" if w.delta_kind == "traced" else "RSS"
        parts = [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="refresh" content="{self.refresh_seconds}">',
            f"<title>leaklint live</title><style>{_CSS}{_EXTRA_CSS}</style></head><body>",
            "<h1>leaklint live</h1>",
            f'<div class="meta">pid {_e(os.getpid())}, level <code>{_e(w.level)}</code>, '
            f"up {_e(round(time.time() - w._t0))} s, refreshes every {_e(self.refresh_seconds)} s; "
            "this page shows the worker process that answered it</div>",
            self._cards(w),
            "<h2>RSS over time</h2>",
            self._chart(),
            f"<h2>Endpoints ({_e(kind)} delta per request)</h2>",
            self._endpoint_table(rows),
            "<h2>Top allocation sites</h2>",
            self._sites(),
            "</body></html>",
        ]
        return "\n".join(parts)

    def _cards(self, w: Any) -> str:
        rss = counters.rss_bytes()
        fds = counters.open_fds()
        base = w._rss.get("baseline")
        cards = [
            ("requests", str(w._requests)),
            ("RSS now", human_bytes(rss) if rss is not None else "?"),
            ("RSS growth", human_bytes(rss - base) if rss is not None and base is not None else "?"),
            ("asyncio tasks", str(counters.live_tasks())),
            ("open fds", str(fds) if fds is not None else "?"),
            ("threads", str(counters.thread_count())),
            ("gc objects", str(counters.gc_objects())),
        ]
        if self.history and self.history[-1][2] is not None:
            cards.insert(3, ("traced", human_bytes(self.history[-1][2])))
        items = "".join(f'<div class="card">{_e(k)}<b>{_e(v)}</b></div>' for k, v in cards)
        return f'<div class="cards" id="cards">{items}</div>'

    def _chart(self) -> str:
        points = list(self.history)
        series = [("RSS", [(t, float(r)) for t, r, _ in points])]
        traced = [(t, float(tr)) for t, _, tr in points if tr is not None]
        if traced:
            series.append(("traced", traced))
        return f'<div id="rss-chart">{line_chart(series, "seconds since start")}</div>'

    def _endpoint_table(self, rows: list[dict[str, Any]]) -> str:
        static_head = "<th>static findings</th>" if self.static is not None else ""
        out = [
            '<table id="endpoints"><tr><th>endpoint</th><th>calls</th><th>errors</th><th>mean delta</th>'
            f"<th>max delta</th><th>mean ms</th><th>max ms</th>{static_head}</tr>"
        ]
        for row in rows:
            d, ms = row["delta"], row["ms"]
            findings = self._findings_cell(row["key"]) if self.static is not None else ""
            out.append(
                f'<tr class="endpoint"><td class="key"><code>{_e(row["key"])}</code></td>'
                f'<td class="num calls">{_e(row["calls"])}</td>'
                f'<td class="num{" err" if row["errors"] else ""}">{_e(row["errors"])}</td>'
                f'<td class="num">{_e(human_bytes(d["mean"]))}</td><td class="num">{_e(human_bytes(d["max"]))}</td>'
                f'<td class="num">{ms["mean"]:.1f}</td><td class="num">{ms["max"]:.1f}</td>{findings}</tr>'
            )
        if not rows:
            out.append('<tr><td colspan="8" class="meta">no requests yet</td></tr>')
        out.append("</table>")
        if self.static is not None and self.static.error:
            out.append(f'<p class="note">static findings unavailable: {_e(self.static.error)}</p>')
        elif self.static is not None and self.static.findings is None:
            out.append(f'<p class="meta">linting {_e(", ".join(self.static.paths))} ...</p>')
        return "".join(out)

    def _findings_cell(self, key: str) -> str:
        from .join import join_findings  # noqa: PLC0415

        if self.static is None or self.static.findings is None:
            return "<td></td>"
        joined = join_findings(self._code_map(key), self.static.findings)
        items = "".join(
            f'<div class="finding"><b>{_e(f["code"])}</b> <code>{_e(_short(f["filename"]))}:{_e(f["row"])}</code> '
            f"in {_e(f['role'])} <code>{_e(f['function'])}</code>: {_e(f['message'])}</div>"
            for f in joined
        )
        return f"<td>{items}</td>"

    def _code_map(self, key: str) -> list[dict[str, Any]]:
        found = self._code_maps.get(key)
        if found is None:
            from .codemap import code_map  # noqa: PLC0415

            stats = self.watcher._endpoints.get(key)
            found = []
            if stats is not None and stats.endpoint is not None:
                try:
                    found = code_map(stats.endpoint, stats.dependant)
                except Exception:
                    found = []
            self._code_maps[key] = found
        return found

    def _sites(self) -> str:
        if self.watcher.level == "basic":
            return '<p class="meta">allocation sites need <code>level="allocations"</code> or <code>"traces"</code></p>'
        growing: list[dict[str, Any]] = []
        try:
            growing = self.watcher._sampler.growth_since_start()
        except Exception:
            growing = []
        out = ['<table id="sites"><tr><th>site</th><th>size now</th><th>blocks</th><th>growth since start</th></tr>']
        grown = {(s["file"], s["line"]): s for s in growing}
        for s in self.top_sites[:15]:
            g = grown.get((s["file"], s["line"]))
            growth = f"+{human_bytes(g['size_diff'])}" if g else ""
            out.append(
                f"<tr><td><code>{_e(_short(s['file']))}:{_e(s['line'])}</code></td>"
                f"<td class=num>{_e(human_bytes(s['size']))}</td><td class=num>{_e(s['count'])}</td>"
                f"<td class=num>{_e(growth)}</td></tr>"
            )
        if not self.top_sites:
            out.append('<tr><td colspan="4" class="meta">no sample yet</td></tr>')
        out.append("</table>")
        return "".join(out)

"""Join measured growth with static findings: which finding sits in which endpoint's code.

The runtime records carry, per endpoint, the file/line spans of its handler,
dependencies and called functions (see ``codemap``). A finding belongs to an
endpoint when its file is the same file and its row falls inside a span.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from .stats import human_bytes

# Which rule families explain a measured resource leak: a pool checkout never returned is a session
# that is not closed (LL1), a descriptor is a client, resource or file (LL105, LL106, LL5), a task or
# thread is a background job (LL4), a ContextVar left set is LL3.
RESOURCE_FAMILIES = {
    "pool_checkouts": ("LL1",),
    "fds": ("LL105", "LL106", "LL5"),
    "tasks": ("LL4",),
    "threads": ("LL4",),
    "context_vars": ("LL3",),
    "rss_bytes": (),
}
_ROLE_WORDS = {"handler": "its handler", "dependency": "its dependency", "calls": "the function it calls"}


def _norm(path: str, base: str | None = None) -> str:
    if not os.path.isabs(path):
        path = os.path.join(base or os.getcwd(), path)
    return os.path.normcase(os.path.realpath(path))


def static_findings(paths: list[str]) -> list[dict[str, Any]]:
    """Run leaklint's static engine in-process; its import is deferred so runtime works without it."""
    from leaklint.api import check_paths

    return list(check_paths(paths))


def join_findings(code: Iterable[dict[str, Any]], findings: Iterable[dict[str, Any]], base: str | None = None) -> list[dict[str, Any]]:
    """Findings inside the given spans, each tagged with the span's role and function name."""
    spans = [(_norm(c["file"]), c) for c in code if c.get("file")]
    out = []
    seen = set()
    for f in findings:
        filename = f.get("filename")
        row = (f.get("location") or {}).get("row")
        if not filename or row is None:
            continue
        path = _norm(filename, base)
        for span_path, span in spans:
            if span_path == path and span["start"] <= row <= span["end"]:
                key = (f.get("code"), path, row, span.get("name"))
                if key in seen:
                    break
                seen.add(key)
                out.append(
                    {
                        "code": f.get("code"),
                        "name": f.get("name"),
                        "message": f.get("message"),
                        "filename": filename,
                        "row": row,
                        "column": (f.get("location") or {}).get("column"),
                        "url": f.get("url"),
                        "role": span.get("role"),
                        "function": span.get("name"),
                        "via": span.get("via"),
                    }
                )
                break
    role_order = {"handler": 0, "dependency": 1, "calls": 2}
    out.sort(key=lambda x: (role_order.get(x["role"], 3), x["filename"], x["row"]))
    return out


def measured_leaks(endpoint: dict[str, Any]) -> list[str]:
    """The resource names an endpoint record leaks, ContextVars left set included."""
    names = list(endpoint.get("leaking_resources") or [])
    if endpoint.get("context_vars"):
        names.append("context_vars")
    return names


def match_families(endpoint: dict[str, Any], joined: list[dict[str, Any]]) -> None:
    """Tag each joined finding with the measured leaks its rule family explains (``matches``)."""
    leaks = measured_leaks(endpoint)
    for f in joined:
        code = f.get("code") or ""
        f["matches"] = [n for n in leaks if any(code.startswith(p) for p in RESOURCE_FAMILIES.get(n, ()))]


def describe(endpoint: dict[str, Any], joined: list[dict[str, Any]]) -> str:
    """'GET /items retains 48.0 KB/request; its dependency get_db has LL101 at db.py:14'.

    When the endpoint leaks resources but no bytes, the sentence names the findings of the
    matching family (a pool-checkout leak: the LL1 findings), if there are any.
    """
    head = f"{endpoint['key']} {endpoint['growth_phrase']}"
    matched = [j for j in joined if j.get("matches")]
    if matched and not endpoint.get("leaking_bytes", True):
        joined = matched
    if not joined:
        return head
    grouped: dict[tuple[str, str], list[str]] = {}
    for j in joined:
        role = _ROLE_WORDS.get(j["role"], j["role"] or "its code")
        fn = j["function"].rsplit(".", 1)[-1] if j.get("function") else "?"
        why = f" ({', '.join(j['matches'])})" if j.get("matches") else ""
        grouped.setdefault((role, fn), []).append(f"{j['code']} at {os.path.basename(j['filename'])}:{j['row']}{why}")
    parts = [f"{role} {fn} has {' and '.join(items)}" for (role, fn), items in grouped.items()]
    return head + "; " + "; ".join(parts)


def growth_phrase(per_request: float, kind: str, resources: dict[str, Any] | None = None, leaking: Iterable[str] = ()) -> str:
    if kind == "probe":
        extra = []
        for name in leaking:
            per = (resources or {}).get(name) or 0.0
            extra.append(f"{name.replace('rss_bytes', 'native RSS')} {human_bytes(per) if name == 'rss_bytes' else f'{per:+.2f}'}/request")
        return f"retains {human_bytes(per_request)}/request" + (" and leaks " + ", ".join(extra) if extra else "")
    return f"grows {human_bytes(per_request)}/request on average"

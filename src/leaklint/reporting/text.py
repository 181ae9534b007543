"""``concise`` (``path:line:col: CODE [*] message``) and ``full`` (adds the source line and fix)."""

from __future__ import annotations

from typing import Dict, List

from leaklint.diagnostics import Diagnostic


def _line(d: Diagnostic, unsafe: bool) -> str:
    mark = "[*] " if d.is_fixable(unsafe) else ""
    return f"{d.filename}:{d.start.row}:{d.start.column}: {d.code} {mark}{d.message}"


def concise(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    return "".join(_line(d, unsafe) + "\n" for d in diagnostics)


def full(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    out = []
    for d in diagnostics:
        out.append(f"{_line(d, unsafe)}\n")
        lines = sources.get(d.filename) or []
        if 0 < d.start.row <= len(lines):
            text = lines[d.start.row - 1].rstrip("\r\n")
            gutter = f"{d.start.row:>4} | "
            out.append(f"{gutter}{text}\n")
            width = max(1, (d.end.column - d.start.column) if d.end.row == d.start.row else len(text) - d.start.column + 1)
            out.append(" " * (len(gutter) + d.start.column - 1) + "^" * width + f" {d.name}\n")
        if d.fix is not None:
            how = {"safe": "--fix", "unsafe": "--fix --unsafe-fixes", "display-only": "by hand"}[d.fix.applicability.value]
            out.append(f"  = help: {d.fix.title} ({how})\n")
        out.append(f"  = docs: leaklint rule {d.code}\n\n")
    return "".join(out)


def summary(diagnostics: List[Diagnostic], unsafe: bool, fixed: int = 0) -> str:
    """ruff's closing line: counts, and how many more ``--fix``/``--unsafe-fixes`` would handle."""
    total = len(diagnostics)
    if total == 0 and fixed == 0:
        return "All checks passed!"
    if fixed:
        return f"Found {total + fixed} problem{'s' * ((total + fixed) != 1)} ({fixed} fixed, {total} remaining)."
    safe = sum(1 for d in diagnostics if d.is_fixable(False))
    more = sum(1 for d in diagnostics if d.is_fixable(True)) - safe
    parts = []
    if safe:
        parts.append(f"{safe} fixable with --fix")
    if more and not unsafe:
        parts.append(f"{more} more with --unsafe-fixes" if safe else f"{more} fixable with --unsafe-fixes")
    elif more:
        parts[0:1] = [f"{safe + more} fixable with --fix"]
    tail = f" ({', '.join(parts)})" if parts else ""
    return f"Found {total} problem{'s' * (total != 1)}{tail}."

"""GitHub Actions workflow commands: one ``::error`` annotation per finding."""

from __future__ import annotations

from typing import Dict, List

from leaklint.diagnostics import Diagnostic


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def render(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    return "".join(
        f"::error title={_escape('leaklint (' + d.code + ')', True)},file={_escape(d.filename, True)},"
        f"line={d.start.row},col={d.start.column},endLine={d.end.row},endColumn={d.end.column}::"
        f"{_escape(d.filename + ':' + str(d.start.row) + ':' + str(d.start.column) + ': ' + d.code + ' ' + d.message)}\n"
        for d in diagnostics
    )

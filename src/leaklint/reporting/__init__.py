"""Output formats. Each module renders a list of diagnostics to text; the CLI picks one."""

from __future__ import annotations

from typing import Callable, Dict, List

from leaklint.diagnostics import Diagnostic


def renderers() -> Dict[str, Callable[..., str]]:
    from leaklint.reporting import github, json_format, sarif, text

    return {
        "concise": text.concise,
        "full": text.full,
        "json": json_format.render_json,
        "json-lines": json_format.render_json_lines,
        "github": github.render,
        "sarif": sarif.render,
    }


def render(fmt: str, diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    return renderers()[fmt](diagnostics, unsafe=unsafe, sources=sources)

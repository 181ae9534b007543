"""``json`` / ``json-lines``: ruff's field names, so tools that read ruff's JSON read ours."""

from __future__ import annotations

import json
from typing import Dict, List

from leaklint.diagnostics import Diagnostic


def record(d: Diagnostic) -> dict:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability.value,
            "message": d.fix.title,
            "edits": [
                {"content": e.content, "location": {"row": e.start.row, "column": e.start.column},
                 "end_location": {"row": e.end.row, "column": e.end.column}}
                for e in d.fix.edits
            ],
        }
    return {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "filename": d.filename,
        "location": {"row": d.start.row, "column": d.start.column},
        "end_location": {"row": d.end.row, "column": d.end.column},
        "fix": fix,
        "noqa_row": d.noqa_row,
        "url": None,
        "severity": "error",
    }


def render_json(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    return json.dumps([record(d) for d in diagnostics], indent=2) + "\n"


def render_json_lines(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    return "".join(json.dumps(record(d)) + "\n" for d in diagnostics)

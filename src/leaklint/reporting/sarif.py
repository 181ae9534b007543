"""SARIF 2.1.0 for code-scanning uploads: one run, every enabled rule described, one result each."""

from __future__ import annotations

import json
import os
from typing import Dict, List

from leaklint import __version__
from leaklint.diagnostics import Diagnostic
from leaklint.registry import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]]) -> str:
    rules = all_rules()
    codes = sorted(rules)
    descriptors = [
        {
            "id": code,
            "name": rules[code].name,
            "shortDescription": {"text": rules[code].message.split("{")[0].strip() or rules[code].name},
            "fullDescription": {"text": (rules[code].__doc__ or "").strip()},
            "help": {"text": f"leaklint rule {code}"},
        }
        for code in codes
    ]
    results = []
    for d in diagnostics:
        result = {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": "error",
            "message": {"text": d.message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": d.filename.replace(os.sep, "/")},
                    "region": {"startLine": d.start.row, "startColumn": d.start.column,
                               "endLine": d.end.row, "endColumn": d.end.column},
                }
            }],
        }
        if d.fix is not None and d.fix.edits:
            result["fixes"] = [{
                "description": {"text": d.fix.title},
                "artifactChanges": [{
                    "artifactLocation": {"uri": d.filename.replace(os.sep, "/")},
                    "replacements": [{
                        "deletedRegion": {"startLine": e.start.row, "startColumn": e.start.column,
                                          "endLine": e.end.row, "endColumn": e.end.column},
                        "insertedContent": {"text": e.content},
                    } for e in d.fix.edits],
                }],
            }]
        results.append(result)
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "leaklint", "version": __version__, "informationUri":
                                "https://pypi.org/project/leaklint/", "rules": descriptors}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"

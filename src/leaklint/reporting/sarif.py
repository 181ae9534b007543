"""SARIF 2.1.0 for code scanning (GitHub and others): one run, every rule described, one result each.

What code scanning reads: per rule a one-sentence ``shortDescription``, a dedented
``fullDescription``, ``help`` (text and markdown, the rule's whole documentation) and a
``helpUri`` (its page in ``docs/rules/``); per result ``partialFingerprints`` (the baseline's
fingerprint, so an alert survives moved lines); artifact URIs relative to ``%SRCROOT%`` (the
project root, in ``originalUriBaseIds``); and ``invocations[].executionSuccessful``.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Dict, List, Optional, Sequence

from leaklint import __version__
from leaklint.diagnostics import Diagnostic, Location
from leaklint.registry import all_rules
from leaklint.rule_pages import DOCS_URL, INFORMATION_URI, descriptions, page_name

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "leaklint/v1"


def _descriptor(code: str, rule) -> dict:
    from leaklint.docs import rule_doc

    short, full, text = descriptions(rule)
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": rule_doc(rule)},
        "helpUri": f"{DOCS_URL}/{page_name(rule)}",
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["leaklint", rule.family] + (["preview"] if rule.preview else [])},
    }


def _artifact(filename: str, root: str) -> dict:
    path = os.path.abspath(filename)
    base = os.path.abspath(root)
    if path.startswith(base.rstrip(os.sep) + os.sep):
        return {"uri": os.path.relpath(path, base).replace(os.sep, "/"), "uriBaseId": SRCROOT}
    return {"uri": pathlib.Path(path).as_uri()}


def _region(start: Location, end: Location) -> dict:
    return {"startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column}


def render(diagnostics: List[Diagnostic], unsafe: bool, sources: Dict[str, List[str]],
           root: Optional[str] = None, errors: Sequence[str] = ()) -> str:
    from leaklint.baseline import fingerprints

    root = os.path.abspath(root or os.getcwd())
    rules = all_rules()
    codes = sorted(rules)
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for d, (fp, occurrence) in zip(diagnostics, fingerprints(diagnostics, root, sources)):
        artifact = _artifact(d.filename, root)
        result = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": "error",
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": _region(d.start, d.end)}}],
            "partialFingerprints": {FINGERPRINT: f"{fp}:{occurrence}"},
        }
        if d.fix is not None and d.fix.edits:
            result["fixes"] = [{
                "description": {"text": d.fix.title},
                "artifactChanges": [{
                    "artifactLocation": artifact,
                    "replacements": [{"deletedRegion": _region(e.start, e.end), "insertedContent": {"text": e.content}}
                                     for e in d.fix.edits],
                }],
            }]
        results.append(result)
    invocation: dict = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": e}} for e in errors]
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "leaklint", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI,
                                "rules": [_descriptor(code, rules[code]) for code in codes]}},
            "invocations": [invocation],
            "originalUriBaseIds": {SRCROOT: {"uri": pathlib.Path(root).as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"

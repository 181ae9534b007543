"""Rule documentation from the rule classes themselves, so docs cannot drift from code."""

from __future__ import annotations

import inspect
import json
from typing import Type

from leaklint.registry import all_rules
from leaklint.rule import Rule

REQUIRED_SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "Use instead")


def rule_doc(rule: Type[Rule]) -> str:
    body = inspect.cleandoc(rule.__doc__ or "")
    fix = {"none": "No automatic fix", "sometimes": "Fix sometimes available",
           "always": "Fix always available"}[rule.fix_availability.value]
    header = [f"# {rule.name} ({rule.code})", "", f"Family: {rule.family}. {fix}."
              + (" Preview rule: enable with --preview." if rule.preview else "")]
    if rule.overlaps:
        header.append(f"Overlap with other linters: {rule.overlaps}")
    return "\n".join(header) + "\n\n" + body + "\n"


def rule_record(rule: Type[Rule]) -> dict:
    return {
        "code": rule.code,
        "name": rule.name,
        "family": rule.family,
        "message": rule.message,
        "fix_title": rule.fix_title,
        "fix_availability": rule.fix_availability.value,
        "preview": rule.preview,
        "explanation": inspect.cleandoc(rule.__doc__ or ""),
    }


def all_docs_json() -> str:
    return json.dumps([rule_record(r) for r in all_rules().values()], indent=2) + "\n"


def table() -> str:
    rows = [f"{'code':<6}  {'name':<40}  fix"]
    for code, rule in all_rules().items():
        fix = {"none": "", "sometimes": "(fix)", "always": "fix"}[rule.fix_availability.value]
        rows.append(f"{code:<6}  {rule.name:<40}  {fix}")
    return "\n".join(rows) + "\n"

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


def markdown_table() -> str:
    """The README's rule table, generated so it cannot drift from the code."""
    rows = ["| Code | Name | Fix | Summary |", "|---|---|---|---|"]
    for code, rule in all_rules().items():
        doc = inspect.cleandoc(rule.__doc__ or "")
        what = doc.split("## What it does", 1)[-1].split("\n\n", 1)[0].strip().replace("\n", " ")
        what = what.split(". ")[0].rstrip(".")
        if len(what) > 110:
            what = what[:110].rsplit(" ", 1)[0] + " ..."
        fix = {"none": "", "sometimes": "sometimes", "always": "yes"}[rule.fix_availability.value]
        what = what.replace("|", "\\|")
        rows.append(f"| {code} | `{rule.name}` | {fix} | {what} |")
    return "\n".join(rows) + "\n"


def table() -> str:
    rows = [f"{'code':<6}  {'name':<40}  fix"]
    for code, rule in all_rules().items():
        fix = {"none": "", "sometimes": "(fix)", "always": "fix"}[rule.fix_availability.value]
        rows.append(f"{code:<6}  {rule.name:<40}  {fix}")
    return "\n".join(rows) + "\n"


def update_readme(path: str = "README.md") -> None:
    """Rewrite the README's generated rule table in place."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    head, rest = text.split("<!-- rules-table -->\n", 1)
    _, tail = rest.split("<!-- /rules-table -->", 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + "<!-- rules-table -->\n" + markdown_table() + "<!-- /rules-table -->" + tail)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--update-readme"]:
        update_readme()

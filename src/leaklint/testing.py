"""Run a rule's ``valid``/``invalid`` examples through the real engine (Fixit's idea, stricter).

For every invalid example we also check the code is the rule's own, the position when stated,
and for fixes: the expected output, that it parses, that re-linting it no longer reports the
finding the fix addressed, and that a second ``--fix`` changes nothing.
"""

from __future__ import annotations

import ast
import os
import tempfile
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple, Type

from leaklint.diagnostics import Applicability, Diagnostic
from leaklint.engine import FixOptions
from leaklint.rule import Example, Invalid, Rule, dedent
from leaklint.runner import Job, check_one, summarise_path
from leaklint.semantics.project import ProjectFacts


@dataclass
class ExampleRun:
    diagnostics: List[Diagnostic]
    fixed: Optional[str]


def run_files(files: dict, target: str, codes: Tuple[str, ...], fix: bool = False, unsafe: bool = False) -> ExampleRun:
    """Write ``files`` into a temporary project and lint ``target`` with ``codes`` only."""
    with tempfile.TemporaryDirectory(prefix="leaklint-example-") as root:
        paths = []
        for rel, code in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(dedent(code))
            paths.append(path)
        mapped = [summarise_path(p, roots=(root,)) for p in paths if p.endswith(".py")]
        table = None
        if "pyproject.toml" in files:  # an example's own configuration (``[tool.leaklint.resources]``)
            from leaklint import config
            from leaklint.runner import resource_table

            table = resource_table(config.load(os.path.join(root, "pyproject.toml")))
        project = ProjectFacts.build((s for _, s, _ in mapped if s is not None), table)
        summary = next(s for p, s, _ in mapped if p == os.path.join(root, target))
        job = Job(codes, (), root, FixOptions(fix=fix, unsafe=unsafe, want_edits=not fix), False)
        result = check_one(os.path.join(root, target), summary, project, job)
        fixed = result.fixed.decode("utf-8") if result.fixed is not None else None
        return ExampleRun(result.diagnostics, fixed)


def _files(example: Example) -> Tuple[dict, str, str]:
    if isinstance(example, str):
        return {"example.py": example}, "example.py", example
    files = dict(example.files)
    files[example.path] = example.code
    return files, example.path, example.code


def iter_examples(rules) -> Iterator[Tuple[str, Type[Rule], Example]]:
    for rule in rules:
        for i, example in enumerate(rule.valid):
            yield f"{rule.code}-valid-{i}", rule, example
        for i, example in enumerate(rule.invalid):
            yield f"{rule.code}-invalid-{i}", rule, example


def check_example(rule: Type[Rule], example: Example) -> None:
    files, target, _ = _files(example)
    codes = (rule.code,)
    if not isinstance(example, Invalid):
        found = run_files(files, target, codes).diagnostics
        assert not found, f"{rule.code}: valid example reported {[_show(d) for d in found]}:\n{dedent(_files(example)[2])}"
        return
    found = [d for d in run_files(files, target, codes).diagnostics if d.code == rule.code]
    assert len(found) == example.count, (
        f"{rule.code}: expected {example.count} finding(s), got {[_show(d) for d in found]}:\n{dedent(example.code)}")
    first = found[0]
    if example.line is not None:
        assert first.start.row == example.line, f"{rule.code}: expected line {example.line}, got {_show(first)}"
    if example.column is not None:
        assert first.start.column == example.column, f"{rule.code}: expected column {example.column}, got {_show(first)}"
    if example.message is not None:
        assert example.message in first.message, f"{rule.code}: message {first.message!r} lacks {example.message!r}"
    if example.fixed is None:
        return
    assert first.fix is not None, f"{rule.code}: expected a fix for:\n{dedent(example.code)}"
    assert first.fix.edits, f"{rule.code}: fix has no edits"
    unsafe = first.fix.applicability is Applicability.UNSAFE
    fixed = run_files(files, target, codes, fix=True, unsafe=unsafe).fixed
    assert fixed is not None, f"{rule.code}: --fix changed nothing"
    assert fixed == dedent(example.fixed), f"{rule.code}: fixed output differs:\n{fixed}"
    ast.parse(fixed)
    files_after = dict(files)
    files_after[target] = fixed
    again = run_files(files_after, target, codes, fix=True, unsafe=unsafe)
    assert again.fixed is None, f"{rule.code}: a second --fix changed the file again:\n{again.fixed}"
    left = [d for d in again.diagnostics if d.code == rule.code and d.start.row == first.start.row]
    assert not any(d.fix for d in left), f"{rule.code}: the fixed code still has a fixable finding: {left}"


def _show(d: Diagnostic) -> str:
    return f"{d.start.row}:{d.start.column} {d.code} {d.message}"
